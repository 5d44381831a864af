"""What Debian needs for Python packages that compile or link against system libraries.

Kept as data, apart from the detection logic in shipyard.detect.native, so that a
new package is one line here and the tables can be read (and reviewed) at a glance.
Package names are Debian bookworm's; where a later release renamed a package, the old
name is still installable as a transitional package.
"""

from __future__ import annotations

# What compiling a C extension needs: build-essential without dpkg-dev (it is for building
# Debian packages and pulls in perl) and without g++ (CXX_COMPILER), which only C++
# sources need. Together they were two fifths of the builder's apt time.
C_COMPILER = ("gcc", "libc6-dev", "make")
CXX_COMPILER = "g++"
COMPILERS = (*C_COMPILER, CXX_COMPILER)  # all the compiler choice may add

# Packages whose sources compile as C only (C, or Cython/SWIG/cffi generating C): building
# one needs no g++. A package that builds from source and is not listed here gets g++ too.
C_ONLY = frozenset({
    "psycopg2", "psycopg2-binary", "psycopg-c", "mysqlclient", "python-ldap", "uwsgi",
    "pycairo", "pygobject", "dbus-python", "kerberos", "pykerberos", "gssapi", "lxml",
    "xmlsec", "cffi", "argon2-cffi-bindings", "pillow", "pyaudio", "mod-wsgi", "m2crypto",
})

# Headers (and tools such as pg_config/pkg-config) a package needs to build from source,
# besides the compiler. A package that builds from source and is not listed here gets
# only the compiler; `[tool.shipyard] build_packages` adds whatever else it needs.
BUILD_HEADERS: dict[str, tuple[str, ...]] = {
    "psycopg2": ("libpq-dev",),  # pg_config and libpq-fe.h
    # An older pin has no wheel for a newer Python: its sdist builds like psycopg2's.
    "psycopg2-binary": ("libpq-dev",),
    "psycopg-c": ("libpq-dev",),
    "mysqlclient": ("default-libmysqlclient-dev", "pkg-config"),
    "python-ldap": ("libldap-dev", "libsasl2-dev"),  # libldap2-dev is its old name
    "lxml": ("libxml2-dev", "libxslt1-dev"),
    "xmlsec": ("libxmlsec1-dev", "pkg-config"),
    "uwsgi": (),  # plain C and the Python headers the base image already has
    "cffi": ("libffi-dev",),
    "argon2-cffi-bindings": ("libffi-dev",),
    "pycairo": ("libcairo2-dev", "pkg-config"),
    "pygobject": ("libgirepository1.0-dev", "libcairo2-dev", "pkg-config"),
    "dbus-python": ("libdbus-1-dev", "libglib2.0-dev", "pkg-config"),
    "kerberos": ("libkrb5-dev",),
    "pykerberos": ("libkrb5-dev",),
    "gssapi": ("libkrb5-dev",),
    "pyodbc": ("unixodbc-dev",),
    "python-snappy": ("libsnappy-dev",),
    "pillow": ("libjpeg-dev", "zlib1g-dev"),
    "pyaudio": ("portaudio19-dev",),
    "mod-wsgi": ("apache2-dev",),  # apxs
    "m2crypto": ("libssl-dev", "swig"),
}

# The fallback for declarations that carry no wheel information (requirements files,
# [project.dependencies], setup.py): packages whose releases publish no Linux wheel at
# all, so pip always builds them. Only packages that are true for every release belong
# here — lock files answer the question exactly and win over this table.
NO_LINUX_WHEELS: dict[str, str] = {
    "psycopg2": "psycopg2 publishes no Linux wheels, psycopg2-binary is the prebuilt variant",
    "mysqlclient": "mysqlclient publishes Windows wheels only",
    "python-ldap": "python-ldap publishes source distributions only",
    "uwsgi": "uWSGI publishes source distributions only",
    "pycairo": "pycairo publishes Windows wheels only",
    "pygobject": "PyGObject publishes source distributions only",
    "dbus-python": "dbus-python publishes source distributions only",
    "kerberos": "kerberos publishes source distributions only",
    "pykerberos": "pykerberos publishes source distributions only",
    "mod-wsgi": "mod_wsgi publishes source distributions only",
    "psycopg-c": "psycopg-c (psycopg[c]) publishes source distributions only",
}

# Extras that pull in one of the packages above, for declarations that name only the
# top-level package (a lock lists the extra's packages itself).
IMPLIED_BY_EXTRA: dict[tuple[str, str], str] = {
    ("psycopg", "c"): "psycopg-c",
    ("psycopg", "binary"): "psycopg-binary",
}

# Wheels that load a system library the wheel does not bundle. Build packages make the
# library present in the builder, so the ELF scan there can map it to its runtime package;
# runtime packages cover libraries loaded with ctypes, which no ELF NEEDED entry shows.
WHEEL_SYSTEM_LIBS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    # name: (build packages, runtime packages, why)
    "pyodbc": (("unixodbc-dev",), (), "pyodbc's wheels link against unixODBC's libodbc"),
}

# A pure-Python package that loads a system library with ctypes unless a companion
# package with the compiled or bundled variant is installed too.
CTYPES_LIBS: dict[str, tuple[tuple[str, ...], frozenset[str], str]] = {
    # name: (runtime packages, companions that make it unnecessary, why)
    "psycopg": (("libpq5",), frozenset({"psycopg-binary"}),
                "psycopg without its binary extra loads the system libpq at runtime"),
}
