#!/usr/bin/env bash
# Makes a synthetic two-channel call with known ground truth, for the echo canceller's tests and benchmark.
#
#   eng/audio/make-echo-call.sh OUTDIR [--delay S] [--gain G] [--t60 S] [--ir-taps N] [--noise A] [--seed N]
#                                      [--no-local] [--minutes M] [--scene FILE] [--length S]
#
# The scene is the one in the audio research notes (§3.4): a remote speaker (espeak-ng en-us+m3) and a local
# speaker (en-us+f2), 14 s at 16 kHz, the second remote sentence overlapping the second local one (double talk).
# --minutes M repeats the scene to about M minutes (for the benchmark). --scene FILE takes the scene from a file of
# "start|channel|voice|text" lines instead (channel 1 remote, 0 local), --length S makes it S seconds long.
#
# Writes 16 kHz 16-bit mono tracks: remote.wav (far end = channel 1), local.wav (clean near end), echo.wav
# (remote through the room: bulk delay + impulse response + gain), noise.wav, mic.wav (= local + echo + noise),
# and call.wav (stereo: channel 0 = mic, channel 1 = remote), plus ir.txt (the impulse response, one tap a line)
# and truth.tsv (start, channel, speaker, text of every sentence). Needs espeak-ng, sox and awk.
set -euo pipefail
# Repeatable mode: sox otherwise seeds its noise generator and its dither from the clock, and the same call would
# differ from run to run (and so would every figure measured on it).
export SOX_OPTS="-R"

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage
out=$1; shift
delay=0.120 gain=0.5 t60=0.25 taps=2048 noise=0.002 seed=7 local_speech=1 minutes=0 scene=
while [ $# -gt 0 ]; do
  case $1 in
    --delay) delay=$2; shift 2 ;;
    --gain) gain=$2; shift 2 ;;
    --t60) t60=$2; shift 2 ;;
    --ir-taps) taps=$2; shift 2 ;;
    --noise) noise=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --no-local) local_speech=0; shift ;;
    --minutes) minutes=$2; shift 2 ;;
    --scene) scene=$2; shift 2 ;;
    --length) length_arg=$2; shift 2 ;;
    *) echo "unknown option: $1" >&2; usage ;;
  esac
done

rate=16000 length=${length_arg:-14}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One sentence as 16 kHz 16-bit mono, starting at $2 seconds, exactly $length seconds long.
speak() { # voice start text output
  espeak-ng -v "$1" -s 150 -w "$work/tts.wav" "$3"
  sox -V1 "$work/tts.wav" -r $rate -c 1 -b 16 "$4" pad "$2" 0 pad 0 $length trim 0 $length
}
mix() { # output inputs... (each at unit gain; sox -m would otherwise divide by the count)
  local target=$1; shift
  local args=()
  for f in "$@"; do args+=(-v 1 "$f"); done
  sox -m "${args[@]}" "$target"
}

truth="start	channel	speaker	text"
remote=() near=()
while IFS='|' read -r start channel voice text; do
  file="$work/s${#remote[@]}${#near[@]}.wav"
  speak "$voice" "$start" "$text" "$file"
  truth+=$'\n'"$start	$channel	$([ "$channel" = 1 ] && echo remote || echo local)	$text"
  if [ "$channel" = 1 ]; then remote+=("$file"); else near+=("$file"); fi
done < <(if [ -n "$scene" ]; then cat "$scene"; else cat <<'SCENE'
0.50|1|en-us+m3|hello how are you today
3.00|0|en-us+f2|please send me the report by friday
6.00|1|en-us+m3|we should schedule the meeting for next week
7.00|0|en-us+f2|the quick brown fox jumps over the lazy dog
11.00|1|en-us+m3|thank you goodbye
SCENE
fi)
mix "$work/remote_sum.wav" "${remote[@]}"; sox "$work/remote_sum.wav" "$work/remote.wav" vol 0.5
mix "$work/local_sum.wav" "${near[@]}"
if [ "$local_speech" = 1 ]; then
  sox "$work/local_sum.wav" "$work/local.wav" vol 0.5
else
  sox -n -r $rate -c 1 -b 16 "$work/local.wav" trim 0 $length
  truth=$(printf '%s\n' "$truth" | awk -F'\t' 'NR == 1 || $2 != 0')
fi

if [ "$minutes" != 0 ]; then
  # Repeat the scene (same speech every 14 s) to about the asked length.
  copies=$(awk -v m="$minutes" -v l=$length 'BEGIN { c = int(m * 60 / l + 0.5); print (c < 1 ? 1 : c) }')
  for track in remote local; do
    list=(); for _ in $(seq "$copies"); do list+=("$work/$track.wav"); done
    sox "${list[@]}" "$work/$track.long.wav"; mv "$work/$track.long.wav" "$work/$track.wav"
  done
  length=$((copies * length))
fi

# The room: a direct tap, a handful of early reflections, then a diffuse tail of gaussian noise decaying by 60 dB
# over t60; scaled so that the sum of squares is gain^2 (gain is the echo path's RMS gain).
awk -v n="$taps" -v sr=$rate -v t60="$t60" -v g="$gain" -v seed="$seed" 'BEGIN {
  srand(seed); pi = 3.14159265358979;
  for (i = 0; i < n; i++) {
    u1 = rand(); if (u1 < 1e-12) u1 = 1e-12; u2 = rand();
    h[i] = sqrt(-2 * log(u1)) * cos(2 * pi * u2) * 0.3 * exp(-6.9078 * i / (t60 * sr));
  }
  h[0] = 3;
  for (r = 1; r <= 5; r++) { k = int(rand() * sr * 0.02) + 8; if (k < n) h[k] += (rand() < 0.5 ? -1 : 1) * (1.6 - r * 0.2) }
  for (i = 0; i < n; i++) e += h[i] * h[i];
  for (i = 0; i < n; i++) printf "%.9f\n", (e > 0 ? g * h[i] / sqrt(e) : 0) }' > "$out/ir.txt"

# sox's fir effect treats the filter as linear-phase and advances its output by half the filter length;
# padding that back keeps the room causal, so the echo starts exactly `delay` after the remote speech.
shift_s=$(awk -v d="$delay" -v n="$taps" -v sr=$rate 'BEGIN { printf "%.6f", d + int(n / 2) / sr }')
if awk -v g="$gain" 'BEGIN { exit !(g == 0) }'; then
  sox -n -r $rate -c 1 -b 16 "$work/echo.wav" trim 0 $length
else
  sox -V1 "$work/remote.wav" "$work/echo.wav" fir "$out/ir.txt" pad "$shift_s" 0 trim 0 $length
fi
sox -n -r $rate -c 1 -b 16 "$work/noise.wav" synth $length pinknoise vol "$noise"
mix "$work/mic.wav" "$work/local.wav" "$work/echo.wav" "$work/noise.wav"

for track in remote local echo noise mic; do cp "$work/$track.wav" "$out/$track.wav"; done
sox -M "$out/mic.wav" "$out/remote.wav" "$out/call.wav"
printf '%s\n' "$truth" > "$out/truth.tsv"
