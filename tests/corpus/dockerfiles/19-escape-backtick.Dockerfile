# escape=`
FROM mcr.microsoft.com/windows/servercore:ltsc2022
SHELL ["powershell", "-Command"]
RUN Write-Host 'hello' ; `
    Write-Host 'world'
COPY app C:\app
USER ContainerUser
CMD ["C:\\app\\app.exe"]
