#!/usr/bin/env bash
# Makes the container image in which the simulator's `vllm serve` runs, without any registry: a near-empty root
# file system made here and loaded with `docker import`. Nothing is copied into it but a 3-line `vllm` wrapper; at
# run time the host's /usr, its .NET and the simulator's build output are bind-mounted read-only:
#
#   docker run --network host \
#     -v /usr:/usr:ro -v "$DOTNET_ROOT":/opt/dotnet:ro -v "$SIM_DIR":/sim/app:ro \
#     --entrypoint vllm sparkcontrol/sim:local serve Qwen/Qwen3-8B --port 8000 ...
#
# so a command built for a real Spark runs unchanged. The simulator's own knobs are SPARKCONTROL_SIM_* variables.
#
# usage: eng/make-sim-image.sh [TAG]        (default sparkcontrol/sim:local; honours DOCKER_HOST and DOCKER)
set -euo pipefail

tag="${1:-sparkcontrol/sim:local}"
docker_cli="${DOCKER:-docker}"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{usr,etc,tmp,proc,sys,dev,root,opt/dotnet,sim/app,var/tmp,home/app}
ln -s usr/bin "$root/bin"
ln -s usr/sbin "$root/sbin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
chmod 1777 "$root/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1654:1654:app:/home/app:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\napp:x:1654:\n' > "$root/etc/group"
cat > "$root/sim/vllm" <<'WRAPPER'
#!/bin/sh
# vLLM's command line, served by the Spark Control simulator.
exec /opt/dotnet/dotnet /sim/app/SparkControl.Sim.dll vllm "$@"
WRAPPER
chmod 755 "$root/sim/vllm"
# A NIM's entrypoint: what it serves comes from its environment (NIM_SERVED_MODEL_NAME, NIM_SERVER_PORT, NGC_API_KEY).
cat > "$root/sim/nim" <<'WRAPPER'
#!/bin/sh
# An NVIDIA NIM container's entrypoint, served by the Spark Control simulator.
exec /opt/dotnet/dotnet /sim/app/SparkControl.Sim.dll nim "$@"
WRAPPER
chmod 755 "$root/sim/nim"

tar -C "$root" -c . | "$docker_cli" import \
  --change 'ENV PATH=/sim:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/dotnet' \
  --change 'ENV DOTNET_ROOT=/opt/dotnet' \
  --change 'ENV DOTNET_CLI_TELEMETRY_OPTOUT=1' \
  --change 'ENV APP_UID=1654' \
  --change 'CMD ["/bin/sh"]' \
  - "$tag" >/dev/null
echo "$tag"
