#!/usr/bin/env bash
# Builds the CSV reader's libFuzzer target with clang (ASan + UBSan) and runs it, starting from
# and growing the kept corpus tests/fixtures/csv_corpus/ (replayed by the test suite), then merges the
# new finds back into it, minimised. Crashes are written to build-fuzz/ (crash-*).
#   fuzz/run.sh [seconds=180] [jobs=1]
# Needs clang++ and libclang-rt-dev (Debian: apt-get install clang libclang-rt-14-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-180}"
jobs="${2:-1}"
CXX="${CXX:-$(command -v clang++ || command -v clang++-14 || true)}"
if [[ -z "$CXX" ]]; then
  echo "fuzz/run.sh: clang++ not found; run: apt-get install -y clang libclang-rt-14-dev" >&2
  exit 2
fi
out=build-fuzz
mkdir -p "$out/work"
"$CXX" -std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -I. fuzz/csv_fuzz.cpp host/data/csv.cpp -lpthread -o "$out/csv_fuzz"
corpus=tests/fixtures/csv_corpus
cp -n "$corpus"/* "$out/work/" 2>/dev/null || true
jobs_flags=(); [[ "$jobs" -gt 1 ]] && jobs_flags=(-jobs="$jobs" -workers="$jobs")
"$out/csv_fuzz" -max_total_time="$secs" -max_len=512 -timeout=10 "${jobs_flags[@]}" \
  -artifact_prefix="$out/" -dict=fuzz/csv.dict "$out/work" "$corpus"
# Keep the corpus small: merge everything into a fresh minimal set.
rm -rf "$out/min" && mkdir -p "$out/min"
"$out/csv_fuzz" -merge=1 -max_len=512 "$out/min" "$corpus" "$out/work" >/dev/null 2>&1
rm -f "$corpus"/* && cp "$out/min"/* "$corpus"/
echo "fuzz/run.sh: $(ls "$corpus" | wc -l) inputs kept in $corpus ($(du -sh "$corpus" | cut -f1))"
