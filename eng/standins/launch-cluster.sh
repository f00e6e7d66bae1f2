#!/usr/bin/env bash
# Stand-in for eugr's launch-cluster.sh (spark-vllm-docker), for tests only: same command line, same semantics as
# far as Spark Control relies on them. See eng/standins/README.md.
#   launch-cluster.sh [-n ip1,ip2] [--solo] [--name NAME] [-t IMAGE] [-e VAR=val]... [-v a:b]... [-d] ACTION [COMMAND...]
# Differences from the real script, on purpose: no NCCL/interface detection, no mods, and --gpus all only where
# docker has the NVIDIA runtime (test machines have none); VLLM_SPARK_EXTRA_DOCKER_ARGS is honoured like the real script's.
set -uo pipefail

nodes=""
solo=0
name="vllm_node"
image="vllm-node"
detach=0
envs=()
volumes=()
action=""
while [ $# -gt 0 ]; do
  case "$1" in
    -n|--nodes) nodes="$2"; shift 2 ;;
    --solo) solo=1; shift ;;
    --name) name="$2"; shift 2 ;;
    -t) image="$2"; shift 2 ;;
    -e|--env) envs+=("-e" "$2"); shift 2 ;;
    -v|--volume) volumes+=("-v" "$2"); shift 2 ;;
    -d) detach=1; shift ;;
    --ray|--no-ray|--check-config) shift ;;
    --eth-if|--ib-if|--master-port|--head-port|--nccl-debug) shift 2 ;;
    start|stop|status|exec) action="$1"; shift; break ;;
    *) echo "Error: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ -n "$action" ] || { echo "Error: No action specified" >&2; exit 2; }

if [ "$solo" -eq 1 ] || [ -z "$nodes" ]; then
  head="127.0.0.1"
  workers=()
else
  IFS=',' read -r -a all <<<"$nodes"
  head="${all[0]}"
  workers=("${all[@]:1}")
fi

on_node() { # node, command words...
  local node="$1"
  shift
  if [ "$node" = "$head" ]; then
    "$@"
  else
    local quoted=""
    for word in "$@"; do quoted+=" $(printf '%q' "$word")"; done
    ssh -o BatchMode=yes "$node" "$quoted"
  fi
}

running_on() { # node
  on_node "$1" docker ps --format '{{.Names}}' | grep -qx "$name"
}

start_node() { # node
  local gpus=()
  on_node "$1" docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q nvidia && gpus=(--gpus all)
  # shellcheck disable=SC2206 # the real script splits this variable on spaces too
  local extra=(${VLLM_SPARK_EXTRA_DOCKER_ARGS:-})
  on_node "$1" docker run -d --rm --network host --ipc=host "${gpus[@]}" --name "$name" \
    -v "${HF_HOME:-$HOME/.cache/huggingface}:/root/.cache/huggingface" "${envs[@]}" "${volumes[@]}" "${extra[@]}" \
    --entrypoint sleep "$image" infinity >/dev/null
}

stop_all() {
  for node in "$head" "${workers[@]}"; do
    on_node "$node" docker stop -t 10 "$name" >/dev/null 2>&1 || true
  done
}

case "$action" in
  stop)
    stop_all
    echo "Cluster stopped."
    ;;
  status)
    if running_on "$head"; then echo "[HEAD] $head: container $name RUNNING"; else echo "[HEAD] $head: container $name NOT running"; fi
    for node in "${workers[@]}"; do
      if running_on "$node"; then echo "[WORKER] $node: container $name RUNNING"; else echo "[WORKER] $node: container $name NOT running"; fi
    done
    ;;
  start|exec)
    for node in "$head" "${workers[@]}"; do
      if running_on "$node"; then
        echo "Container $name is already running on $node; reusing it."
      else
        start_node "$node" || { echo "Error: failed to start $name on $node" >&2; stop_all; exit 1; }
      fi
    done
    [ "$action" = "exec" ] || exit 0
    [ $# -gt 0 ] || { echo "Error: exec needs a command" >&2; exit 2; }
    count=$((${#workers[@]} + 1))
    rank=1
    for node in "${workers[@]}"; do
      on_node "$node" docker exec -d "$name" sh -c 'exec "$@" >> /proc/1/fd/1 2>&1' sh "$@" \
        --nnodes "$count" --node-rank "$rank" --master-addr "$head" --headless
      rank=$((rank + 1))
    done
    if [ "$detach" -eq 1 ]; then
      extra=()
      [ "$count" -gt 1 ] && extra=(--nnodes "$count" --node-rank 0 --master-addr "$head")
      docker exec -d "$name" sh -c 'exec "$@" >> /proc/1/fd/1 2>&1' sh "$@" "${extra[@]}"
      echo "Launched in the background on $name."
    else
      # Foreground: like the real script, the cluster is torn down when this process ends or is hung up.
      trap stop_all EXIT INT TERM HUP
      docker exec "$name" "$@"
    fi
    ;;
esac
