#!/usr/bin/env bash
# Mutation testing: does the suite catch a careless change? Each mutant in scripts/mutants/ is a
# small patch that plants one realistic bug (a float accumulation, an off-by-one, a wrong sign or
# constant...). For each, this script applies it to a scratch copy of the working tree, rebuilds
# the CPU-only configuration incrementally, runs the test binary with a time limit, and reverts
# the patch. A mutant is KILLED when the suite fails (or times out: a hang caught), SURVIVED when
# it passes. A patch that no longer applies to the current sources is STALE and a mutant that does
# not compile is BROKEN: both are reported and left out of the score, never counted as killed.
# Run by hand, not in CI (one build per mutant); docs/TESTING.md records the last score.
#
#   scripts/mutation-test.sh                 every mutant
#   scripts/mutation-test.sh 'train-*' x     the mutants whose names match (file names without .patch)
#   scripts/mutation-test.sh --list          names and what each plants
#
# Environment: LINREG_MUTATION_DIR (scratch folder, default /tmp/linreg-mutation-$UID: the copy
# and its build are kept between runs so that each build is incremental), LINREG_JOBS (build
# jobs, default all cores), LINREG_MUTATION_TIMEOUT (seconds per suite run, default 600).
# The real working tree is only read.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mutants=$root/scripts/mutants
work=${LINREG_MUTATION_DIR:-${TMPDIR:-/tmp}/linreg-mutation-$(id -u)}
src=$work/src
build=$work/build
jobs=${LINREG_JOBS:-$(nproc)}
suite_timeout=${LINREG_MUTATION_TIMEOUT:-600}
log=$work/logs

describe() { sed -n 's/^# what: //p' "$1" | head -n 1; }

if [[ ${1:-} == --list ]]; then
  for p in "$mutants"/*.patch; do printf '%-40s %s\n' "$(basename "$p" .patch)" "$(describe "$p")"; done
  exit 0
fi

selected=()
for p in "$mutants"/*.patch; do
  name=$(basename "$p" .patch)
  if (($# == 0)); then selected+=("$p"); continue; fi
  for pat in "$@"; do
    # shellcheck disable=SC2053  # a glob on purpose
    if [[ $name == $pat ]]; then selected+=("$p"); break; fi
  done
done
((${#selected[@]})) || { echo "mutation-test: no mutant matches: $*" >&2; exit 2; }

mkdir -p "$src" "$build" "$log"
exec 9>"$work/lock"
flock -n 9 || { echo "mutation-test: another run is using $work" >&2; exit 2; }

# A mutant left applied by an interrupted run is reverted first; the trap reverts on any exit.
applied=$work/applied
revert() {
  if [[ -s $applied ]]; then
    patch -s -R -p1 -d "$src" <"$(cat "$applied")" >/dev/null 2>&1 || true
    : >"$applied"
  fi
}
revert
trap 'revert' EXIT
trap 'exit 130' INT TERM

# Bring the copy up to date with the working tree (tracked files and untracked ones git does not
# ignore). Changed files get a fresh modification time, unchanged ones keep theirs, files gone
# from the tree are removed: the next build recompiles exactly what changed.
sync_copy() {
  local list=$work/files
  (cd "$root" && git ls-files -z -co --exclude-standard) | tr '\0' '\n' | sort -u >"$list.all"
  : >"$list"
  while IFS= read -r f; do
    [[ -f $root/$f ]] || continue
    printf '%s\n' "$f" >>"$list"
    if [[ ! -f $src/$f ]] || ! cmp -s "$root/$f" "$src/$f"; then
      mkdir -p "$src/$(dirname "$f")"
      cp "$root/$f" "$src/$f"
    fi
  done <"$list.all"
  (cd "$src" && find . -type f | sed 's|^\./||' | sort) | comm -23 - "$list" | while IFS= read -r f; do
    rm -f "$src/$f"
  done
}

build_copy() {  # $1: log file
  if [[ ! -f $build/CMakeCache.txt ]]; then
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DLINREG_CUDA=OFF >"$1" 2>&1 || return 1
  fi
  # Only what the suite runs: the test binary (it depends on linreg and the stand-in driver).
  nice cmake --build "$build" -j "$jobs" --target linreg_tests >>"$1" 2>&1
}

# The whole suite in one process (less the tests that fail without any mutant), stopping at the
# first failure unless $2 is "all".
excluded=""
run_suite() {  # $1: log file, $2: "all" to run past failures; returns 0 pass, 1 fail, 124 timeout
  local args=(--gtest_brief=1)
  [[ ${2:-} == all ]] || args+=(--gtest_fail_fast)
  [[ -n $excluded ]] && args+=("--gtest_filter=-$excluded")
  (cd "$build" && nice timeout -k 10 "$suite_timeout" ./linreg_tests "${args[@]}" >"$1" 2>&1)
  local rc=$?
  ((rc == 0)) && return 0
  ((rc == 124 || rc == 137)) && return 124
  return 1
}

failed_tests() { grep -E '^\[  FAILED  \] [A-Za-z]' "$1" | grep -v ' tests\?,' | sed 's/^\[  FAILED  \] //; s/ (.*//' |
                 sort -u; }
first_failures() { failed_tests "$1" | head -n 3 | paste -sd ' ' -; }

echo "mutation-test: copying $root to $src"
sync_copy
echo "mutation-test: baseline build and suite (CPU-only, $build)"
if ! build_copy "$log/baseline.build"; then
  echo "mutation-test: the unmutated copy does not build; see $log/baseline.build" >&2
  exit 1
fi
# Other work in the tree may leave tests failing before any mutant is planted: those are named,
# left out of every run below, and the rest must pass.
if ! run_suite "$log/baseline.test" all; then
  excluded=$(failed_tests "$log/baseline.test" | paste -sd ':' -)
  if [[ -z $excluded ]] || ! run_suite "$log/baseline-rest.test"; then
    echo "mutation-test: the unmutated suite does not pass; see $log/baseline.test" >&2
    exit 1
  fi
  echo "mutation-test: these tests fail without any mutant and are left out: ${excluded//:/ }"
fi

killed=0 survived=0 stale=0 broken=0
survivors=() stales=() brokens=()
for p in "${selected[@]}"; do
  name=$(basename "$p" .patch)
  what=$(describe "$p")
  start=$SECONDS
  if ! patch -s --dry-run -p1 -d "$src" <"$p" >"$log/$name.patch" 2>&1; then
    printf 'STALE     %-38s the patch no longer applies to the current sources: rewrite it (%s)\n' "$name" "$what"
    stale=$((stale + 1)); stales+=("$name")
    continue
  fi
  patch -s -p1 -d "$src" <"$p" >>"$log/$name.patch" 2>&1
  printf '%s\n' "$p" >"$applied"
  if ! build_copy "$log/$name.build"; then
    printf 'BROKEN    %-38s does not compile; see %s\n' "$name" "$log/$name.build"
    broken=$((broken + 1)); brokens+=("$name")
  else
    run_suite "$log/$name.test"
    case $? in
      0) printf 'SURVIVED  %-38s %s  [%ds]\n' "$name" "$what" $((SECONDS - start))
         survived=$((survived + 1)); survivors+=("$name") ;;
      124) printf 'KILLED    %-38s by the time limit (%ss): a hang  [%ds]\n' "$name" "$suite_timeout" $((SECONDS - start))
           killed=$((killed + 1)) ;;
      *) printf 'KILLED    %-38s by %s  [%ds]\n' "$name" "$(first_failures "$log/$name.test")" $((SECONDS - start))
         killed=$((killed + 1)) ;;
    esac
  fi
  revert
done

# Leave the copy built as it is in the tree, so the next run starts incrementally.
build_copy "$log/final.build" || true

total=$((killed + survived))
echo
echo "mutation-test: $killed killed, $survived survived, $stale stale, $broken broken (of ${#selected[@]})"
((${#survivors[@]})) && echo "  survived: ${survivors[*]}"
((${#stales[@]})) && echo "  stale (not counted): ${stales[*]}"
((${#brokens[@]})) && echo "  broken (not counted): ${brokens[*]}"
if ((total > 0)); then
  awk -v k="$killed" -v t="$total" 'BEGIN { printf "mutation score: %d/%d = %.1f%%\n", k, t, 100 * k / t }'
fi
((stale == 0 && broken == 0)) || exit 3
exit 0
