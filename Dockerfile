# Spark Control, packaged to run next to Qdrant and Open WebUI (docker-compose.yml). The app is published first,
# outside the image, so the image needs nothing but the ASP.NET Core runtime (see README, "Docker"):
#
#   dotnet publish SparkControl.Web -c Release -r linux-arm64 --self-contained false -o publish/arm64   # a DGX Spark
#   dotnet publish SparkControl.Web -c Release -r linux-x64   --self-contained false -o publish/amd64   # a PC
#   docker compose up -d --build
#
# TARGETARCH is set by BuildKit to the platform being built (arm64 on a Spark); the classic builder uses the default.
FROM mcr.microsoft.com/dotnet/aspnet:10.0
ARG TARGETARCH=arm64
WORKDIR /app
COPY publish/${TARGETARCH}/ /app/
# The data directory belongs to the unprivileged user the app runs as ($APP_UID, "app", from the base image).
COPY --chown=1654:1654 eng/docker/data/ /data/
ENV ASPNETCORE_ENVIRONMENT=Production \
    SPARKCONTROL_DATA=/data \
    SparkControl__ListenAddress=0.0.0.0 \
    SparkControl__Port=8080
VOLUME /data
EXPOSE 8080
USER 1654
ENTRYPOINT ["dotnet", "/app/SparkControl.Web.dll"]
