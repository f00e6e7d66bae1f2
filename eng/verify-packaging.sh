#!/usr/bin/env bash
# Verifies the packaging as far as a machine without a container registry allows:
#   1. dotnet publish of the web app for linux-x64 and linux-arm64 (framework-dependent, as the image expects);
#   2. docker-compose config accepts docker-compose.yml;
#   3. the Dockerfile builds on a private dockerd against a locally imported stand-in for
#      mcr.microsoft.com/dotnet/aspnet:10.0 (made by eng/make-sim-image.sh; the real image cannot be pulled here);
#   4. the built image runs as the unprivileged user and answers /healthz from its /data volume.
# What stays unverified is listed in README.md ("Docker").
# Prints "PASS <check>" or "FAIL <check>" per check and, last, "packaging: N passed, N failed"; exits 1 on a failure.
set -uo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/scpk-XXXXXX)"
docker_cli="$(command -v /usr/bin/docker || command -v docker)"
dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
passed=0
failed=0
daemon_pid=""

check() {
  local name="$1"
  shift
  local output
  if output="$("$@" 2>&1)"; then
    echo "PASS $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name"
    printf '%s\n' "$output" | tail -n 25 | sed 's/^/    /'
    failed=$((failed + 1))
  fi
}

cleanup() {
  # start_daemon runs inside check's command substitution, a subshell: its pid comes back through the pidfile.
  [ -s "$work/d.pid" ] && daemon_pid="$(cat "$work/d.pid")"
  if [ -n "$daemon_pid" ]; then
    DOCKER_HOST="unix://$work/d.sock" "$docker_cli" rm -f scpk-app >/dev/null 2>&1 || true
    kill -TERM "$daemon_pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$daemon_pid" 2>/dev/null || true
  fi
  grep -o " $work[^ ]*" /proc/mounts | sort -r | while read -r point; do umount -l "$point" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  local candidate
  while true; do
    candidate=$(shuf -i 20000-59999 -n 1)
    (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null || { echo "$candidate"; return; }
  done
}

publish() {
  dotnet publish "$repo/SparkControl.Web/SparkControl.Web.csproj" -c Release -r "$1" --self-contained false \
    -o "$work/context/publish/$2" -nologo -v quiet
  test -f "$work/context/publish/$2/SparkControl.Web.dll"
  test -f "$work/context/publish/$2/models.yaml"
  # Workstation GC, chosen for the gateway's tail on few cores (README, "Gateway"): the image runs what is published.
  grep -q '"System.GC.Server": false' "$work/context/publish/$2/SparkControl.Web.runtimeconfig.json"
}

start_daemon() {
  dockerd --host "unix://$work/d.sock" --data-root "$work/data" --exec-root "$work/exec" --pidfile "$work/d.pid" \
    --bridge=none --iptables=false --ip6tables=false --log-level=warn >"$work/dockerd.log" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 1 120); do
    DOCKER_HOST="unix://$work/d.sock" "$docker_cli" version >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  cat "$work/dockerd.log"
  return 1
}

build_image() {
  export DOCKER_HOST="unix://$work/d.sock"
  DOCKER="$docker_cli" "$repo/eng/make-sim-image.sh" mcr.microsoft.com/dotnet/aspnet:10.0 >/dev/null
  cp "$repo/Dockerfile" "$repo/.dockerignore" "$work/context/"
  mkdir -p "$work/context/eng/docker" && cp -r "$repo/eng/docker/data" "$work/context/eng/docker/"
  DOCKER_BUILDKIT=0 "$docker_cli" build --network none --build-arg TARGETARCH=amd64 -t spark-control:verify "$work/context"
}

run_image() {
  export DOCKER_HOST="unix://$work/d.sock"
  local port
  port="$(free_port)"
  "$docker_cli" run -d --name scpk-app --network host -v /usr:/usr:ro -v "$dotnet_root:/opt/dotnet:ro" \
    -e SparkControl__ListenAddress=127.0.0.1 -e "SparkControl__Port=$port" spark-control:verify >/dev/null
  local body=""
  for _ in $(seq 1 120); do
    body="$(curl -fsS "http://127.0.0.1:$port/healthz" 2>/dev/null)" && break
    sleep 0.5
  done
  echo "healthz: $body"
  echo "$body" | grep -q '"status":"ok"' || { "$docker_cli" logs scpk-app; return 1; }
  echo "$body" | grep -q '"path":"/data"'
  [ "$("$docker_cli" inspect -f '{{.Config.User}}' scpk-app)" = "1654" ]
  [ "$("$docker_cli" exec scpk-app /usr/bin/id -u)" = "1654" ]
}

check "dotnet publish linux-x64" publish linux-x64 amd64
check "dotnet publish linux-arm64" publish linux-arm64 arm64
# Compose needs qdrant.env beside the file (an operator makes it; it never is in git): checked on a copy with a stand-in.
compose_config() {
  cp "$repo/docker-compose.yml" "$work/docker-compose.yml"
  printf 'QDRANT__SERVICE__API_KEY=%s\n' "packaging-check" > "$work/qdrant.env"
  (cd "$work" && docker-compose -f docker-compose.yml config -q)
}

check "docker-compose config" compose_config
check "private dockerd starts" start_daemon
check "image builds against the stand-in base image" build_image
check "image runs as uid 1654 and answers /healthz" run_image

echo "packaging: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
