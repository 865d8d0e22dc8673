#!/usr/bin/env bash
# The GPU check (issue 2 / issue 5): build for Hopper on a machine with the CUDA toolkit, then run
# everything that needs a GPU on a machine that has one, in one call.
#
#   scripts/gpu-check.sh build   # nvcc machine: configure + build linreg and linreg_tests for sm_90
#                                # into ./.gpu-build (Release, host code for x86-64-v3)
#   scripts/gpu-check.sh run     # GPU machine (Ubuntu 24.04, CUDA 13.0 in /usr/local/cuda): runs the
#                                # steps below, each under a timeout, continuing past failures, and
#                                # ends with a PASS/FAIL/SKIP table. Logs go to $OUT/gpu-check/ when
#                                # $OUT is set, else ./.gpu-check-logs/. The whole run fits ~8 min.
# Steps: nvidia-smi -L; the whole GoogleTest suite (GPU tests active); compute-sanitizer memcheck
# over the GPU tests; racecheck over the reduction / fused / persistent kernels; `linreg train`
# on the lab's problem (every strategy) and on 10M×256 batch 65536; `linreg bench --quick`.
# ctest is not used: its files hold the build machine's paths.
set -u

mode="${1:-}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build_dir=.gpu-build

if [[ "$mode" == build ]]; then
  set -e
  export PATH="/usr/local/cuda/bin:$PATH"
  cmake -S . -B "$build_dir" -DCMAKE_CUDA_ARCHITECTURES=90 -DLINREG_CPU_ARCH=x86-64-v3 -DCMAKE_BUILD_TYPE=Release
  cmake --build "$build_dir" -j"$(nproc)" --target linreg linreg_tests
  # Where the binaries were built: tests that run the real binary use this absolute path.
  echo "$root" > "$build_dir/built_in.txt"
  echo "built into $root/$build_dir"
  exit 0
fi

if [[ "$mode" != run ]]; then
  echo "usage: $0 build|run" >&2
  exit 2
fi

export PATH="/usr/local/cuda/bin:$PATH"
export LD_LIBRARY_PATH="/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
logs="${OUT:+$OUT/gpu-check}"
logs="${logs:-$root/.gpu-check-logs}"
mkdir -p "$logs"
tests="$build_dir/tests/linreg_tests"
bin="$build_dir/linreg"
names=()
results=()
secs=()

# step NAME TIMEOUT_S CMD...: runs CMD under `timeout`, logs to $logs/NAME.log, records PASS/FAIL.
step() {
  local name="$1" limit="$2"
  shift 2
  local t0=$SECONDS rc
  echo "=== $name (timeout ${limit}s): $*" | tee "$logs/$name.log"
  timeout --kill-after=10 "$limit" "$@" >> "$logs/$name.log" 2>&1
  rc=$?
  local verdict=PASS
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then verdict="FAIL (timeout)"; elif [[ $rc -ne 0 ]]; then verdict="FAIL (rc $rc)"; fi
  tail -n 15 "$logs/$name.log"
  names+=("$name"); results+=("$verdict"); secs+=($((SECONDS - t0)))
}
skip() {
  names+=("$1"); results+=("SKIP ($2)"); secs+=(0)
}

# Tests that run the real binary have the build machine's absolute path compiled in; point that
# path at this checkout when it differs (best effort: needs write access to its parent).
if [[ -f "$build_dir/built_in.txt" ]]; then
  built_in="$(cat "$build_dir/built_in.txt")"
  if [[ "$built_in" != "$root" && ! -e "$built_in" ]]; then
    mkdir -p "$(dirname "$built_in")" 2>/dev/null && ln -s "$root" "$built_in" 2>/dev/null &&
      echo "note: linked $built_in -> $root for the tests that run the binary"
  fi
fi

step nvidia-smi 20 nvidia-smi -L

if [[ -x "$tests" ]]; then
  step tests 170 "$tests" --gtest_brief=1
  # memcheck over the GPU tests, minus the largest cases (memcheck slows each launch a lot).
  if command -v compute-sanitizer > /dev/null; then
    step memcheck 130 compute-sanitizer --tool memcheck --error-exitcode 1 --leak-check full \
      "$tests" --gtest_brief=1 "--gtest_filter=Gpu*:-*100003*:*1048*:GpuTrainer.Deterministic*"
    # racecheck (shared-memory hazards): the reductions (batch sums, finalize, sgd_update), the fused
    # step's last-block form and the persistent kernel's double buffering.
    step racecheck 70 compute-sanitizer --tool racecheck --error-exitcode 1 \
      "$tests" --gtest_brief=1 "--gtest_filter=*GpuGradient*1025x256*:*GpuGradient*257x33*:GpuTrainer.LabProblemConverges:*GpuVsCpu*1025x4*"
  else
    skip memcheck "no compute-sanitizer"
    skip racecheck "no compute-sanitizer"
  fi
else
  skip tests "no $tests: run '$0 build' first"
  skip memcheck "no test binary"
  skip racecheck "no test binary"
fi

if [[ -x "$bin" ]]; then
  step train-lab 40 bash -c "for s in auto cublas fused persistent; do \"$bin\" train --device gpu --strategy \$s || exit 1; done"
  step train-10Mx256 100 "$bin" train --device gpu --examples 10000000 --features 256 --batch-size 65536 --epochs 3
  if "$bin" bench --help > /dev/null 2>&1; then
    step bench-quick 90 "$bin" bench --quick --device gpu
  else
    skip bench-quick "no bench command"
  fi
else
  skip train-lab "no $bin"
  skip train-10Mx256 "no $bin"
  skip bench-quick "no $bin"
fi

{
  echo
  echo "gpu-check summary ($(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1))"
  printf '%-16s %-20s %s\n' step result seconds
  for i in "${!names[@]}"; do printf '%-16s %-20s %s\n' "${names[$i]}" "${results[$i]}" "${secs[$i]}"; done
  echo "logs: $logs"
} | tee "$logs/summary.txt"

for r in "${results[@]}"; do [[ "$r" == FAIL* ]] && exit 1; done
exit 0
