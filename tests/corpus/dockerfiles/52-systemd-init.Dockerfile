FROM fedora:40
RUN dnf install -y systemd httpd && dnf clean all
RUN systemctl enable httpd
STOPSIGNAL SIGRTMIN+3
CMD ["/sbin/init"]
