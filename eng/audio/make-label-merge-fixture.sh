#!/usr/bin/env bash
# Regenerates the label-merge fixture in SparkControl.Tests/TestData/audio/label-merge/ from real speech:
# espeak-ng speaks a short two-person conversation, sox lays the sentences out on a timeline, and pocketsphinx
# (constrained by a JSGF grammar of the same sentences) transcribes it with word timings. The diarization is the
# known placement of each spoken sentence (an oracle RTTM); the recogniser's word times are what they are.
#
#   eng/audio/make-label-merge-fixture.sh [output-directory]
#
# Needs the Debian packages espeak-ng, sox, pocketsphinx and pocketsphinx-en-us. The output is committed, so the
# tests never need these tools. Every step is deterministic: rerunning it reproduces the committed files.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$repo/SparkControl.Tests/TestData/audio/label-merge}"
for tool in espeak-ng sox soxi pocketsphinx_continuous; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install espeak-ng sox pocketsphinx pocketsphinx-en-us)" >&2; exit 1; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

rate=16000
lead=0.5   # silence before the first sentence: pocketsphinx's voice detector needs some to calibrate
tail=0.8

# id | speaker | espeak voice | words per minute | pause before (mono timeline) | pause before (call timeline) | sentence
# The call timeline lets the remote side start its goodbye while the local side is still talking (crosstalk).
turns=(
  "t1|A|en-us|150|0|0|hello how are you today"
  "t2|B|en-us+f3|165|0.30|0.30|i am fine thank you"
  "t3|A|en-us|150|0.60|0.60|please send me the report by friday"
  "t4|B|en-us+f3|165|0.25|0.25|we should schedule the meeting for next week"
  "t5|A|en-us|150|0.45|0.45|the quick brown fox jumps over the lazy dog"
  "t6|B|en-us+f3|165|1.40|-1.20|thank you goodbye"
)

# The recogniser may only hear these sentences, in any order and number.
{
  echo '#JSGF V1.0;'
  echo 'grammar conversation;'
  alternatives=""
  for turn in "${turns[@]}"; do
    IFS='|' read -r id _ _ _ _ _ text <<<"$turn"
    alternatives="${alternatives:+$alternatives | }<$id>"
  done
  echo "public <utt> = ( $alternatives )+;"
  for turn in "${turns[@]}"; do
    IFS='|' read -r id _ _ _ _ _ text <<<"$turn"
    echo "<$id> = $text;"
  done
} >"$work/conversation.gram"

# Speak each sentence, 16 kHz mono 16-bit, with espeak's leading and trailing silence trimmed so that a
# sentence's placement on the timeline is where its speech starts and ends.
declare -A duration
for turn in "${turns[@]}"; do
  IFS='|' read -r id _ voice speed _ _ text <<<"$turn"
  espeak-ng -v "$voice" -s "$speed" -w "$work/$id.raw.wav" "$text"
  sox -D "$work/$id.raw.wav" -r "$rate" -c 1 -b 16 "$work/$id.wav" \
    silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse
  duration[$id]="$(soxi -D "$work/$id.wav")"
done

# Lays the sentences out on one timeline (column 5 or 6 of a turn is the pause before it; negative overlaps the
# previous sentence). Writes <name>.rttm and <name>.turns.tsv, and one stem per speaker, <name>.<speaker>.wav.
layout() {
  local name="$1" column="$2" clock="$lead" end="$lead" mixes_a=() mixes_b=()
  : >"$work/$name.turns.tsv"
  : >"$out/$name.rttm"
  for turn in "${turns[@]}"; do
    IFS='|' read -r -a field <<<"$turn"
    local id="${field[0]}" speaker="${field[1]}" text="${field[6]}" pause="${field[$column]}"
    local onset length
    onset="$(awk -v e="$end" -v p="$pause" 'BEGIN { printf "%.3f", e + p }')"
    length="$(awk -v d="${duration[$id]}" 'BEGIN { printf "%.3f", d }')"
    sox -D -V1 "$work/$id.wav" "$work/$name.$id.placed.wav" pad "$onset" 0
    if [ "$speaker" = A ]; then mixes_a+=(-v 1 "$work/$name.$id.placed.wav"); else mixes_b+=(-v 1 "$work/$name.$id.placed.wav"); fi
    label="SPEAKER_0$([ "$speaker" = A ] && echo 0 || echo 1)"
    printf 'SPEAKER %s 1 %s %s <NA> <NA> %s <NA> <NA>\n' "$name" "$onset" "$length" "$label" >>"$out/$name.rttm"
    printf '%s\t%s\t%.3f\t%.3f\t%s\n' "$id" "$label" "$onset" "$(awk -v o="$onset" -v l="$length" 'BEGIN { print o + l }')" "$text" >>"$work/$name.turns.tsv"
    end="$(awk -v o="$onset" -v l="$length" 'BEGIN { printf "%.3f", o + l }')"
  done
  local total
  total="$(awk -v e="$end" -v t="$tail" 'BEGIN { printf "%.3f", e + t }')"
  # Each stem is padded to the same length; -v 1 keeps sox from scaling the inputs of a mix.
  sox -D -V1 -m "${mixes_a[@]}" -b 16 "$work/$name.A.wav" pad 0 "$total" trim 0 "$total"
  sox -D -V1 -m "${mixes_b[@]}" -b 16 "$work/$name.B.wav" pad 0 "$total" trim 0 "$total"
  cp "$work/$name.turns.tsv" "$out/$name.turns.tsv"
}

# pocketsphinx_continuous -time yes prints "word start end confidence" lines after each hypothesis; this keeps
# the words (no silences or fillers, pronunciation variants like "today(2)" folded) as an OpenAI verbose_json body.
transcribe() {
  local wav="$1" json="$2" total
  total="$(soxi -D "$wav")"
  pocketsphinx_continuous -infile "$wav" -jsgf "$work/conversation.gram" -time yes -logfn /dev/null >"$work/decoded.txt"
  awk -v total="$total" '
    BEGIN { n = 0 }
    NF == 4 && $2 ~ /^[0-9.]+$/ && $3 ~ /^[0-9.]+$/ {
      w = $1; sub(/\([0-9]+\)$/, "", w)
      if (w ~ /^(<s>|<\/s>|<sil>|\(NULL\)|\[.*\])$/) next
      words[n] = w; starts[n] = $2; ends[n] = $3; n++
    }
    END {
      text = ""
      for (i = 0; i < n; i++) text = text (i ? " " : "") words[i]
      printf "{\n  \"task\": \"transcribe\",\n  \"language\": \"english\",\n  \"duration\": %.3f,\n  \"text\": \"%s\",\n  \"words\": [\n", total, text
      for (i = 0; i < n; i++) printf "    {\"word\": \"%s\", \"start\": %.3f, \"end\": %.3f}%s\n", words[i], starts[i], ends[i], (i < n - 1 ? "," : "")
      printf "  ]\n}\n"
    }' "$work/decoded.txt" >"$json"
}

# One room, one microphone: both speakers in a single mono recording, diarized separately.
layout conversation 4
sox -D -m -v 1 "$work/conversation.A.wav" -v 1 "$work/conversation.B.wav" -b 16 "$work/conversation.wav"
transcribe "$work/conversation.wav" "$out/conversation.words.json"

# A call: the local microphone (A) and the remote side (B) on their own channels, with crosstalk at the end.
layout call 5
rm -f "$out/call.rttm"   # a two-channel call needs no diarization: the channel says who spoke
transcribe "$work/call.A.wav" "$out/call.local.words.json"
transcribe "$work/call.B.wav" "$out/call.remote.words.json"

echo "wrote $(ls "$out" | tr '\n' ' ')to $out"
