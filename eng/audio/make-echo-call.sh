#!/usr/bin/env bash
# Makes a synthetic two-channel call with known ground truth, for the echo canceller's tests and benchmark.
#
#   eng/audio/make-echo-call.sh OUTDIR [--delay S] [--gain G] [--t60 S] [--ir-taps N] [--noise A] [--seed N]
#                                      [--no-local] [--minutes M] [--scene FILE] [--length S]
#                                      [--clip soft:D|hard:L|overdrive:G] [--drift PPM] [--path-change S [--path-gain G]]
#                                      [--snr DB [--noise-kind white|babble|pink]]
#
# The scene is the one in the audio research notes (§3.4): a remote speaker (espeak-ng en-us+m3) and a local
# speaker (en-us+f2), 14 s at 16 kHz, the second remote sentence overlapping the second local one (double talk).
# --minutes M repeats the scene to about M minutes (for the benchmark). --scene FILE takes the scene from a file of
# "start|channel|voice|text" lines instead (channel 1 remote, 0 local), --length S makes it S seconds long.
#
# Writes 16 kHz 16-bit mono tracks: remote.wav (far end = channel 1), local.wav (clean near end), echo.wav
# (remote through the room: bulk delay + impulse response + gain), noise.wav, mic.wav (= local + echo + noise),
# and call.wav (stereo: channel 0 = mic, channel 1 = remote), plus ir.txt (the impulse response, one tap a line)
# and truth.tsv (start, channel, speaker, text of every sentence said, every repeat of the scene included). Needs
# espeak-ng, sox and awk.
#
# Real-room faults (each keeps the ground truth: local.wav is still the clean near end, echo.wav the echo alone):
#   --clip soft:D        the loudspeaker compresses: tanh(D·x)/D before the room (small signals pass, peaks flatten)
#   --clip hard:L        the loudspeaker clips hard at ±L
#   --clip overdrive:G   sox's overdrive effect with G dB of drive, its output brought back by G dB
#   --drift PPM          the loudspeaker's clock runs PPM parts per million fast (negative: slow) against the
#                        recorder's: what it plays is resampled by sox (speed 1 + PPM/1e6) before the room
#   --path-change S      from S seconds on the echo goes through a second room (another seed), --path-gain G times
#                        as loud (default 1.6, about +4 dB): someone moved
#   --snr DB             the noise is DB below the local speech's power over its active 20 ms frames; --noise-kind
#                        white, babble (four other voices talking over each other) or pink (default pink)
set -euo pipefail
# Repeatable mode: sox otherwise seeds its noise generator and its dither from the clock, and the same call would
# differ from run to run (and so would every figure measured on it).
export SOX_OPTS="-R"

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage
out=$1; shift
delay=0.120 gain=0.5 t60=0.25 taps=2048 noise=0.002 seed=7 local_speech=1 minutes=0 scene=
clip= drift=0 path_change= path_gain=1.6 snr= noise_kind=pink
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
    --clip) clip=$2; shift 2 ;;
    --drift) drift=$2; shift 2 ;;
    --path-change) path_change=$2; shift 2 ;;
    --path-gain) path_gain=$2; shift 2 ;;
    --snr) snr=$2; shift 2 ;;
    --noise-kind) noise_kind=$2; shift 2 ;;
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
  # Repeat the scene (the same speech every scene length) to about the asked length.
  copies=$(awk -v m="$minutes" -v l=$length 'BEGIN { c = int(m * 60 / l + 0.5); print (c < 1 ? 1 : c) }')
  for track in remote local; do
    list=(); for _ in $(seq "$copies"); do list+=("$work/$track.wav"); done
    sox "${list[@]}" "$work/$track.long.wav"; mv "$work/$track.long.wav" "$work/$track.wav"
  done
  truth=$(printf '%s\n' "$truth" | awk -F'\t' -v c="$copies" -v l="$length" '
    NR == 1 { print; next }
    { row[++n] = $0 }
    END { for (k = 0; k < c; k++) for (i = 1; i <= n; i++) { split(row[i], f, "\t"); printf "%s\t%s\t%s\t%s\n", (k == 0 ? f[1] : f[1] + k * l), f[2], f[3], f[4] } }')
  length=$((copies * length))
fi

# The room: a direct tap, a handful of early reflections, then a diffuse tail of gaussian noise decaying by 60 dB
# over t60; scaled so that the sum of squares is gain^2 (gain is the echo path's RMS gain).
room() { # seed gain output
  awk -v n="$taps" -v sr=$rate -v t60="$t60" -v g="$2" -v seed="$1" 'BEGIN {
    srand(seed); pi = 3.14159265358979;
    for (i = 0; i < n; i++) {
      u1 = rand(); if (u1 < 1e-12) u1 = 1e-12; u2 = rand();
      h[i] = sqrt(-2 * log(u1)) * cos(2 * pi * u2) * 0.3 * exp(-6.9078 * i / (t60 * sr));
    }
    h[0] = 3;
    for (r = 1; r <= 5; r++) { k = int(rand() * sr * 0.02) + 8; if (k < n) h[k] += (rand() < 0.5 ? -1 : 1) * (1.6 - r * 0.2) }
    for (i = 0; i < n; i++) e += h[i] * h[i];
    for (i = 0; i < n; i++) printf "%.9f\n", (e > 0 ? g * h[i] / sqrt(e) : 0) }' > "$3"
}

# A sample-by-sample map of a mono track through sox's text format (.dat: "time value" lines after ; headers).
map_samples() { # input output awk-expression-of-x
  sox -V1 "$1" "$work/map-in.dat"
  awk '/^;/ { print; next } { x = $2; printf "%s %.9f\n", $1, '"$3"' }' "$work/map-in.dat" > "$work/map-out.dat"
  sox -V1 "$work/map-out.dat" -b 16 "$2"
}

# What the loudspeaker really played: the remote through its nonlinearity, on its own clock.
cp "$work/remote.wav" "$work/played.wav"
case $clip in
  '') ;;
  soft:*) map_samples "$work/remote.wav" "$work/played.wav" "(exp(2 * ${clip#soft:} * x) - 1) / (exp(2 * ${clip#soft:} * x) + 1) / ${clip#soft:}" ;;
  hard:*) map_samples "$work/remote.wav" "$work/played.wav" "(x > ${clip#hard:} ? ${clip#hard:} : (x < -${clip#hard:} ? -${clip#hard:} : x))" ;;
  overdrive:*) sox -V1 "$work/remote.wav" "$work/played.wav" overdrive "${clip#overdrive:}" gain "-${clip#overdrive:}" ;;
  *) echo "unknown --clip $clip (soft:D, hard:L or overdrive:G)" >&2; exit 2 ;;
esac
if [ "$drift" != 0 ]; then
  factor=$(awk -v p="$drift" 'BEGIN { printf "%.9f", 1 + p / 1e6 }')
  sox -V1 "$work/played.wav" "$work/drifted.wav" speed "$factor" rate -v $rate pad 0 1 trim 0 $length
  mv "$work/drifted.wav" "$work/played.wav"
fi

# sox's fir effect treats the filter as linear-phase and advances its output by half the filter length;
# padding that back keeps the room causal, so the echo starts exactly `delay` after the remote speech.
shift_s=$(awk -v d="$delay" -v n="$taps" -v sr=$rate 'BEGIN { printf "%.6f", d + int(n / 2) / sr }')
through_room() { # ir output
  sox -V1 "$work/played.wav" "$2" fir "$1" pad "$shift_s" 0 trim 0 $length
}
if awk -v g="$gain" 'BEGIN { exit !(g == 0) }'; then
  sox -n -r $rate -c 1 -b 16 "$work/echo.wav" trim 0 $length
  room "$seed" 0 "$out/ir.txt"
else
  room "$seed" "$gain" "$out/ir.txt"
  through_room "$out/ir.txt" "$work/echo.wav"
  if [ -n "$path_change" ]; then
    room $((seed + 100)) "$(awk -v g="$gain" -v s="$path_gain" 'BEGIN { print g * s }')" "$out/ir2.txt"
    through_room "$out/ir2.txt" "$work/echo2.wav"
    sox -V1 "$work/echo.wav" "$work/echo-a.wav" trim 0 "$path_change"
    sox -V1 "$work/echo2.wav" "$work/echo-b.wav" trim "$path_change"
    sox -V1 "$work/echo-a.wav" "$work/echo-b.wav" "$work/echo.wav"
  fi
fi

# Mean power of a track over its active 20 ms frames (within 35 dB of its loudest), as sox's .dat values.
active_power() {
  sox -V1 "$1" "$work/power.dat"
  awk '!/^;/ { s += $2 * $2; if (++i % 320 == 0) { e[++f] = s; s = 0; if (e[f] > m) m = e[f] } }
       END { for (k = 1; k <= f; k++) if (e[k] >= m * 10^-3.5) { t += e[k]; a++ } printf "%.12g\n", (a ? t / (a * 320) : 0) }' "$work/power.dat"
}

if [ -n "$snr" ]; then
  case $noise_kind in
    white|pink) sox -n -r $rate -c 1 -b 16 "$work/raw-noise.wav" synth $length ${noise_kind}noise vol 0.1 ;;
    babble)
      # Four other voices, each reading on a loop, mixed: speech-shaped, nonstationary, and nothing like the call.
      talkers=()
      i=0
      for v in en-us+m1 en-us+f3 en-gb+m4 en-us+f4; do
        i=$((i + 1))
        espeak-ng -v "$v" -s 160 -w "$work/b$i.wav" "$(sed -n "${i}p" <<'TEXTS'
the committee met on tuesday and argued about the budget for the new library wing until late in the evening
my brother bought a bicycle last spring and has ridden it to work every single day since then without fail
if the weather holds we will drive up to the lake on saturday and bring the children and the old dog along
please remember that the printer on the third floor jams whenever somebody feeds it the heavy card paper
TEXTS
)"
        sox -V1 "$work/b$i.wav" -r $rate -c 1 -b 16 "$work/b$i-16k.wav" pad 0.$i 0
        reps=$(awk -v l=$length -v d="$(soxi -D "$work/b$i-16k.wav")" 'BEGIN { print int(l / d) + 1 }')
        sox -V1 "$work/b$i-16k.wav" "$work/b$i-loop.wav" repeat "$reps" trim 0 $length vol 0.25
        talkers+=("$work/b$i-loop.wav")
      done
      mix "$work/raw-noise.wav" "${talkers[@]}" ;;
    *) echo "unknown --noise-kind $noise_kind (white, babble or pink)" >&2; exit 2 ;;
  esac
  speech=$(active_power "$work/local.wav")
  [ "$local_speech" = 1 ] || speech=$(active_power "$work/echo.wav")
  have=$(sox -V1 "$work/raw-noise.wav" -n stat 2>&1 | awk '/RMS +amplitude/ { print $3 }')
  scale=$(awk -v p="$speech" -v h="$have" -v snr="$snr" 'BEGIN { printf "%.9f", sqrt(p / 10^(snr / 10)) / h }')
  sox -V1 "$work/raw-noise.wav" "$work/noise.wav" vol "$scale"
else
  sox -n -r $rate -c 1 -b 16 "$work/noise.wav" synth $length pinknoise vol "$noise"
fi
mix "$work/mic.wav" "$work/local.wav" "$work/echo.wav" "$work/noise.wav"

for track in remote local echo noise mic; do cp "$work/$track.wav" "$out/$track.wav"; done
sox -M "$out/mic.wav" "$out/remote.wav" "$out/call.wav"
printf '%s\n' "$truth" > "$out/truth.tsv"
