#!/usr/bin/env bash
# Regenerates the word timings the transcript-level echo tests use (SparkControl.Tests/TestData/audio/):
# makes the default test call (eng/audio/make-echo-call.sh), splits its channels, and decodes each with
# pocketsphinx and the call's sentence grammar (calls.gram). Writes, per channel, "word<TAB>start<TAB>end<TAB>conf"
# (seconds, pocketsphinx's 10 ms grid; silence, sentence marks and pronunciation variants dropped), plus the
# call's sentence-level truth.tsv.
#
#   eng/audio/make-echo-transcripts.sh [OUTDIR]      (default SparkControl.Tests/TestData/audio)
#
# Needs espeak-ng, sox, pocketsphinx and pocketsphinx-en-us (Debian). The output is committed: pocketsphinx is
# deterministic, but the tests should not depend on a 37 MB acoustic model being installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../SparkControl.Tests/TestData/audio}
grammar=$out/calls.gram
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$here/make-echo-call.sh" "$work/call"
sox "$work/call/call.wav" "$work/ch0.wav" remix 1
sox "$work/call/call.wav" "$work/ch1.wav" remix 2

decode() { # input.wav output.tsv
  pocketsphinx_continuous -infile "$1" -jsgf "$grammar" -time yes -logfn /dev/null \
    | awk 'NF == 4 && $2 ~ /^[0-9.]+$/ && $1 !~ /^(<s>|<\/s>|<sil>|\[.*\]|\(NULL\))$/ {
        w = $1; sub(/\([0-9]+\)$/, "", w); printf "%s\t%.2f\t%.2f\t%.3f\n", w, $2, $3, $4 }' > "$2"
}
decode "$work/ch0.wav" "$out/default-call.ch0.words.tsv"
decode "$work/ch1.wav" "$out/default-call.ch1.words.tsv"
cp "$work/call/truth.tsv" "$out/default-call.truth.tsv"
wc -l "$out"/default-call.*.tsv
