#!/usr/bin/env bash
# The one-call GPU check: build on a machine with the CUDA toolkit (no GPU needed), then run
# everything that needs a GPU on a machine that has one, in one command of at most 8 min 20 s.
#
#   scripts/gpu-check.sh build   # Release build for sm_90 with host code for a portable x86-64
#                                # level (x86-64-v2, not -march=native) into .gpu-build/tree, and
#                                # the files the run needs copied to .gpu-build/dist: linreg,
#                                # liblinreg_gpu.so, linreg_gpu_tests, linreg_tests, linreg_exact_bench,
#                                # linreg_stream_bench. Carry that folder.
#   scripts/gpu-check.sh run     # on the GPU machine (Ubuntu 24.04, CUDA 13.0, an H100/H200):
#
# Steps, in order, each under its own timeouts (60 + 110 + 100 + 80 + 225 = 575 s, plus at most 15 s
# of preflight: the whole run ends inside 9 minutes 50 s), each going on past the failures before it:
#   1 smoke       `linreg train --device gpu` on the lab's problem (about a second), every strategy,
#                 1000 features (the evaluation's wide-row path), and an .npy file streamed to the
#                 GPU under --memory-limit (plain SGD, adam with averaging, a validation split with
#                 early stopping), and the tutorial
#                 with its tensors on the GPU (--device gpu)
#   2 gpu-tests   linreg_gpu_tests filtered to the GPU suites (Gpu*), then the GPU tests of
#                 linreg_tests (the exact solver's GPU pass, SGD's rules on each strategy, the CLI
#                 and the bench on the GPU through the module);
#                 here a skipped GPU test is a FAILURE: a skip means the GPU was not usable, and a
#                 pass would hide it
#   3 memcheck    compute-sanitizer memcheck (+ leak check) over the GPU suites minus the largest cases
#   4 racecheck   compute-sanitizer racecheck over the shapes that make the persistent kernel stage
#                 several chunks (1023×16, 4099×7, 100003×2: its double buffering), the fused steps
#                 of both kernels and the batch-sums reduction
#   5 bench       bench/pytorch_reference.py --quick on the GPU, then `linreg bench --quick --device
#                 gpu` joined with it (--compare), then the fused rows again with the reference kernel
#                 (LINREG_FUSED_KERNEL=rowgroups) to time old and new side by side, then
#                 linreg_exact_bench 200000 256 2 (the exact solvers on the CPU, then on the GPU),
#                 then linreg_stream_bench on a 2M x 16 file with `gpu` (streamed SGD passes against
#                 the pinned-upload floor and the in-memory GPU pass)
# Verdicts: PASS; FAIL (a finding: a test failed or skipped, a sanitizer error, a non-zero exit,
# a timeout); TOOL-FAILURE (the tool itself could not run: compute-sanitizer missing or "device
# not supported", PyTorch missing — not a finding about linreg); NOT-RUN (a step before made it
# pointless, e.g. no usable GPU). summary.txt is rewritten as each step ends, so a run cut short
# still says how far it got. Logs go to $OUT when it is set (flat: at most 8 files come back from
# there), else to .gpu-check-logs/ (git-ignored). Exit status 0 only when every step passed.
set -u

mode="${1:-}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tree=.gpu-build/tree
dist=.gpu-build/dist

if [[ "$mode" == build ]]; then
  set -eo pipefail
  export PATH="/usr/local/cuda/bin:$PATH"
  # The device keeps its CUDA libraries in /usr/local/cuda/lib64 (a build machine may have them in
  # lib): name both standard places in the RUNPATH so the module and the test binary find cuBLAS,
  # cuRAND and cuSOLVER there without LD_LIBRARY_PATH.
  mkdir -p "$tree"
  cmake -S . -B "$tree" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 -DLINREG_CPU_ARCH=x86-64-v2 \
    "-DCMAKE_BUILD_RPATH=/usr/local/cuda/lib64;/usr/local/cuda/targets/x86_64-linux/lib" > "$tree/configure.log" 2>&1 ||
    { cat "$tree/configure.log" >&2; exit 1; }
  cmake --build "$tree" -j"${LINREG_JOBS:-$(nproc)}" --target linreg linreg_gpu linreg_gpu_tests linreg_tests linreg_exact_bench linreg_stream_bench
  rm -rf "$dist"
  mkdir -p "$dist"
  cp "$tree/linreg" "$tree/liblinreg_gpu.so" "$tree/linreg_gpu_tests" "$tree/linreg_tests" "$tree/linreg_exact_bench" "$tree/linreg_stream_bench" "$dist/"
  for f in liblinreg_gpu.so linreg_gpu_tests; do
    rp="$(readelf -d "$dist/$f" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')"
    echo "$f RUNPATH: ${rp:-none}"
    case ":$rp:" in
      *:/usr/local/cuda/lib64:*) ;;
      *) echo "error: $f's RUNPATH lacks /usr/local/cuda/lib64" >&2; exit 1 ;;
    esac
  done
  if grep -q -- '-march=native' "$tree/CMakeFiles/linreg_core.dir/flags.make" 2>/dev/null; then
    echo "error: host code was built with -march=native" >&2
    exit 1
  fi
  du -sh "$dist"
  echo "built into $root/$dist: carry \".gpu-build/dist\" and run: scripts/gpu-check.sh run"
  exit 0
fi

if [[ "$mode" != run ]]; then
  echo "usage: $0 build|run" >&2
  exit 2
fi

logs="${OUT:-$root/.gpu-check-logs}"
mkdir -p "$logs"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
summary="$logs/summary.txt"
bin="$root/$dist/linreg"
tests="$root/$dist/linreg_gpu_tests"
cpu_tests="$root/$dist/linreg_tests"
export LINREG_BINARY="$bin" LINREG_SOURCE_DIR="$root"
export PATH="/usr/local/cuda/bin:$PATH"
started=$SECONDS

# ---- preflight (not a step: facts for the summary's header) -------------------------------------
device_line="$(timeout 15 nvidia-smi --query-gpu=name,driver_version,memory.total,compute_mode --format=csv,noheader 2>&1 | head -3)"
[[ -n "$device_line" ]] || device_line="nvidia-smi printed nothing"
command -v nvidia-smi > /dev/null || device_line="nvidia-smi not found (no NVIDIA driver on this machine?)"
sanitizer="$(command -v compute-sanitizer || true)"
for c in /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer /opt/nvidia/*/compute-sanitizer/compute-sanitizer; do
  [[ -z "$sanitizer" && -x "$c" ]] && sanitizer="$c"
done
have_build=1
for f in "$bin" "$tests" "$cpu_tests" "$root/$dist/liblinreg_gpu.so"; do [[ -x "$f" || -f "$f" ]] || have_build=0; done
libs_note="not checked (no build)"
if [[ $have_build == 1 ]]; then
  libs_note="RUNPATH resolves every library"
  missing="$(ldd "$root/$dist/liblinreg_gpu.so" "$tests" 2>&1 | grep 'not found' | sort -u | tr -s ' \t' ' ')"
  if [[ -n "$missing" ]]; then
    # Keep going with the standard places on the loader path, and say so: the RUNPATH is a finding.
    export LD_LIBRARY_PATH="/usr/local/cuda/lib64:/usr/local/cuda/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    libs_note="RUNPATH left libraries unresolved (${missing}); LD_LIBRARY_PATH set to /usr/local/cuda/lib64"
  fi
fi
# NCCL (dlopen'ed by the one-rank GPU job; without it those tests skip, which this script counts
# as a failure): say where it is, or that it is not, so a skip there reads as what it is.
nccl_note="$(ls ${LINREG_NCCL_LIBRARY:-} /usr/local/cuda/lib64/libnccl.so.2 /usr/lib/x86_64-linux-gnu/libnccl.so.2 2>/dev/null | head -1)"
nccl_note="${nccl_note:-libnccl.so.2 not found (the NCCL tests will skip: set LINREG_NCCL_LIBRARY)}"
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
dirty="$(git -C "$root" status --porcelain 2>/dev/null | wc -l | tr -d ' ')"

names=()
verdicts=()
secs=()
device_ok=unknown
device_reason=""

write_summary() {  # $1: "running: STEP" or "done"
  {
    echo "gpu-check summary ($(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit $commit, $dirty files changed)"
    echo "device: $device_line"
    if [[ "$device_ok" == no ]]; then echo "DEVICE: NONE USABLE — $device_reason"; fi
    echo "compute-sanitizer: ${sanitizer:-not found}"
    echo "libraries: $libs_note"
    echo "nccl: $nccl_note"
    printf '%-11s %-7s %s\n' step seconds verdict
    for i in "${!names[@]}"; do printf '%-11s %-7s %s\n' "${names[$i]}" "${secs[$i]}" "${verdicts[$i]}"; done
    echo "state: $1 (elapsed $((SECONDS - started)) s); logs: $logs"
  } > "$summary"
}

record() {  # NAME SECONDS VERDICT
  names+=("$1"); secs+=("$2"); verdicts+=("$3")
  write_summary "after $1"
  printf '>>> %-10s %s\n' "$1" "$3"
}

# Keeps a log under 12 MB (the run's files come back at most 16 MB each): head and tail kept.
cap_log() {
  local f="$1" size
  size=$(stat -c %s "$f" 2>/dev/null || echo 0)
  if (( size > 12000000 )); then
    { head -c 6000000 "$f"; printf '\n[... %s bytes cut ...]\n' "$((size - 12000000))"; tail -c 6000000 "$f"; } > "$f.cut"
    mv "$f.cut" "$f"
  fi
}

# timed LOG LIMIT CMD...: appends CMD's output to LOG under `timeout`; sets rc (124: timed out).
timed() {
  local log="$1" limit="$2"
  shift 2
  echo "\$ $* (timeout ${limit}s)" >> "$log"
  timeout --kill-after=5 "$limit" "$@" >> "$log" 2>&1
  rc=$?
  [[ $rc -eq 137 ]] && rc=124
  echo "[exit $rc]" >> "$log"
}

# What the GoogleTest runs in a log say, summed over the runs: sets g_total g_passed g_failed
# g_skipped and g_skip_reason.
sum_of() {  # LOG SED-EXPRESSION
  sed -n "$2" "$1" | awk '{ s += $1 } END { print s + 0 }'
}
gtest_counts() {
  local log="$1"
  g_total=$(sum_of "$log" 's/^\[==========\] \([0-9]*\) tests\{0,1\} from .* ran\..*/\1/p')
  g_passed=$(sum_of "$log" 's/^\[  PASSED  \] \([0-9]*\) tests\{0,1\}\..*/\1/p')
  g_failed=$(sum_of "$log" 's/^\[  FAILED  \] \([0-9]*\) tests\{0,1\}, listed below.*/\1/p')
  g_skipped=$(sum_of "$log" 's/^\[  SKIPPED \] \([0-9]*\) tests\{0,1\}, listed below.*/\1/p')
  g_skip_reason=$(grep -m1 -o 'no usable GPU.*' "$log" | cut -c1-160)
}

# The verdict of a test run whose GPU tests must all have run and passed.
gtest_verdict() {  # LOG RC
  gtest_counts "$1"
  if [[ $2 -eq 124 ]]; then
    v="FAIL (timeout; $(grep -c '^\[       OK \]' "$1") tests had passed)"
  elif (( g_skipped > 0 )); then
    v="FAIL ($g_skipped GPU tests skipped: ${g_skip_reason:-see log}; $g_failed failed, $g_passed passed)"
  elif (( g_failed > 0 )); then
    v="FAIL ($g_failed of $g_total tests failed)"
  elif [[ $2 -ne 0 ]]; then
    v="FAIL (exit $2 after $g_passed passed tests; crash?)"
  elif (( g_total == 0 )); then
    v="FAIL (no test ran: the filter matched nothing)"
  else
    v="PASS ($g_passed tests)"
  fi
}

# The verdict of a compute-sanitizer run: a tool failure is told apart from a finding.
sanitizer_verdict() {  # LOG RC TOOL
  local log="$1" rc="$2" tool="$3" tool_err errors hazards
  tool_err=$(grep -m1 -i -E 'device not supported|^========= (Internal )?(Sanitizer )?Error:|Unable to (find|load|start)|failed to initialize|not supported on this (device|platform)' "$log" | cut -c1-200)
  errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) error.*/\1/p' "$log" | tail -1)
  hazards=$(sed -n 's/.*RACECHECK SUMMARY: \([0-9]*\) hazard.*(\([0-9]*\) error.*/\2/p' "$log" | tail -1)
  [[ "$tool" == racecheck && -n "$hazards" ]] && errors="$hazards"
  gtest_counts "$log"
  if [[ -n "$tool_err" ]]; then
    v="TOOL-FAILURE ($tool_err)"
  elif [[ -n "$errors" && "$errors" != 0 ]]; then
    v="FAIL ($errors $tool errors: see log)"
  elif [[ $rc -eq 124 ]]; then
    v="FAIL (timeout under $tool; $(grep -c '^\[       OK \]' "$log") tests had passed)"
  elif [[ -z "$errors" ]]; then
    v="TOOL-FAILURE (compute-sanitizer ended without its summary, exit $rc)"
  else
    gtest_verdict "$log" "$rc"
    [[ "$v" == PASS* ]] && v="PASS (0 $tool errors; $g_passed tests)"
  fi
}

gpu_filter='Gpu*:*/Gpu*'
cpu_gpu_filter='LeastSquaresGpu.*:DataCliPipelineGpu.*:ExactCliGpu.*:Backends/SgdRulesOn.*/gpu_*:BenchCliGpu.*'
# (NCCL's own start-up under memcheck is slow and not ours: the one-rank jobs, in memory and
# streamed, run in step 2 only.)
# (The tensor tutorial test launches tens of thousands of small kernels: left out of memcheck too.)
memcheck_filter="$gpu_filter:-*100003*:*70001*:*2053x256*:*1031x600*:GpuTrainer.Deterministic*:*GpuShardedOneRank*:GpuStreamedJob.*:GpuTensor.TutorialSectionsOnTheGpuPrintAsOnTheCpu"
race_filter='GpuRace/GpuRaceShapes.*:GpuStepShapes/GpuFusedStep.*1025x33*:GpuStepShapes/GpuFusedStep.*3000x256*:GpuShapes/GpuGradient.*257x33*:GpuTensor.SumsAndMeansMatchTheHost'

write_summary "starting"
no_build="no $dist: run 'scripts/gpu-check.sh build' on the build machine and carry .gpu-build/dist"

# ---- 1 smoke (60 s) -----------------------------------------------------------------------------
t0=$SECONDS
log="$logs/1-smoke.log"
: > "$log"
if [[ $have_build == 0 ]]; then
  record smoke 0 "NOT-RUN ($no_build)"
else
  timed "$log" 10 "$bin" train --device gpu
  smoke_rc=$rc
  if grep -q 'no usable GPU' "$log"; then
    device_ok=no
    device_reason="$(grep -m1 -o 'no usable GPU.*' "$log" | cut -c1-200)"
    record smoke $((SECONDS - t0)) "FAIL ($device_reason)"
  else
    for s in cublas fused persistent; do
      timed "$log" 5 "$bin" train --device gpu --strategy "$s"
      smoke_rc=$((smoke_rc | rc))
    done
    timed "$log" 5 env LINREG_FUSED_KERNEL=rowgroups "$bin" train --device gpu --strategy fused
    smoke_rc=$((smoke_rc | rc))
    timed "$log" 5 "$bin" train --device gpu --examples 4000 --features 1000 --epochs 1
    smoke_rc=$((smoke_rc | rc))
    # Streamed to the GPU: 300k x 16 rows (20 MB) under an 8 MB limit, chunks of 30k rows.
    timed "$log" 10 "$bin" generate --examples 300000 --features 16 --out "$scratch/stream.npy"
    smoke_rc=$((smoke_rc | rc))
    timed "$log" 5 "$bin" train --data "$scratch/stream.npy" --device gpu --memory-limit 8M --epochs 2
    smoke_rc=$((smoke_rc | rc))
    timed "$log" 5 "$bin" train --data "$scratch/stream.npy" --device gpu --memory-limit 8M --epochs 2 --optimizer adam --average
    smoke_rc=$((smoke_rc | rc))
    # ... with a validation split held on the device, early stopping watching it.
    timed "$log" 5 "$bin" train --data "$scratch/stream.npy" --device gpu --memory-limit 8M --epochs 4 --val-fraction 0.1 --early-stopping
    smoke_rc=$((smoke_rc | rc))
    # The lab's tensors on the GPU: the tutorial's sections 2-5 with every tensor on cuda:0.
    timed "$log" 10 "$bin" tutorial --device gpu
    smoke_rc=$((smoke_rc | rc))
    if [[ $smoke_rc -eq 0 ]]; then
      device_ok=yes
      record smoke $((SECONDS - t0)) "PASS ($(grep -m1 '^device:' "$log" | cut -c1-80))"
    else
      device_ok=yes  # the GPU answered; something else failed
      record smoke $((SECONDS - t0)) "FAIL (a train run exited non-zero: see 1-smoke.log)"
    fi
  fi
fi

# ---- 2 gpu-tests (110 s) ---------------------------------------------------------------------------
t0=$SECONDS
log="$logs/2-gpu-tests.log"
: > "$log"
if [[ $have_build == 0 ]]; then
  record gpu-tests 0 "NOT-RUN ($no_build)"
else
  timed "$log" 70 "$tests" "--gtest_filter=$gpu_filter"
  tests_rc=$rc
  timed "$log" 40 "$cpu_tests" "--gtest_filter=$cpu_gpu_filter"
  [[ $tests_rc -eq 0 ]] && tests_rc=$rc
  gtest_verdict "$log" "$tests_rc"
  record gpu-tests $((SECONDS - t0)) "$v"
fi
cap_log "$log"

# ---- 3 memcheck (100 s), 4 racecheck (80 s) ---------------------------------------------------
for tool in memcheck racecheck; do
  t0=$SECONDS
  if [[ $tool == memcheck ]]; then n=3 limit=100 filter="$memcheck_filter"; else n=4 limit=80 filter="$race_filter"; fi
  log="$logs/$n-$tool.log"
  : > "$log"
  if [[ $have_build == 0 ]]; then
    record "$tool" 0 "NOT-RUN ($no_build)"
  elif [[ "$device_ok" == no ]]; then
    record "$tool" 0 "NOT-RUN (no usable GPU)"
  elif [[ -z "$sanitizer" ]]; then
    record "$tool" 0 "TOOL-FAILURE (compute-sanitizer not found)"
  else
    extra=()
    [[ $tool == memcheck ]] && extra=(--leak-check full)
    timed "$log" "$limit" "$sanitizer" --tool "$tool" --error-exitcode 3 "${extra[@]}" "$tests" "--gtest_filter=$filter"
    sanitizer_verdict "$log" "$rc" "$tool"
    record "$tool" $((SECONDS - t0)) "$v"
  fi
  cap_log "$log"
done

# ---- 5 bench (225 s) --------------------------------------------------------------------------
t0=$SECONDS
log="$logs/5-bench.log"
: > "$log"
if [[ $have_build == 0 ]]; then
  record bench 0 "NOT-RUN ($no_build)"
elif [[ "$device_ok" == no ]]; then
  record bench 0 "NOT-RUN (no usable GPU)"
else
  torch_json="$logs/torch-gpu.json"
  verdict_torch=""
  if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' >> "$log" 2>&1; then
    timed "$log" 70 env PYTHONUNBUFFERED=1 python3 bench/pytorch_reference.py --quick --device gpu --json "$torch_json"
    [[ $rc -ne 0 ]] && verdict_torch="PyTorch reference exit $rc"
  else
    verdict_torch="PyTorch with CUDA not importable"
  fi
  compare=()
  [[ -s "$torch_json" ]] && compare=(--compare "$torch_json")
  timed "$log" 50 "$bin" bench --quick --device gpu "${compare[@]}" --json "$logs/bench-gpu.json"
  bench_rc=$rc
  echo "--- the fused rows again with the reference kernel (LINREG_FUSED_KERNEL=rowgroups)" >> "$log"
  timed "$log" 20 env LINREG_FUSED_KERNEL=rowgroups "$bin" bench --quick --device gpu --strategy fused
  rows_rc=$rc
  echo "--- the exact solvers, CPU (OpenBLAS) then GPU, 200k x 256 doubles" >> "$log"
  timed "$log" 25 "$root/$dist/linreg_exact_bench" 200000 256 2
  [[ $rows_rc -eq 0 ]] && rows_rc=$rc
  echo "--- streamed SGD: CPU, then the GPU against the pinned-upload floor (2M x 16 float32, 136 MB)" >> "$log"
  timed "$log" 20 "$bin" generate --examples 2000000 --features 16 --out "$scratch/bench.npy"
  [[ $rows_rc -eq 0 ]] && rows_rc=$rc
  timed "$log" 40 "$root/$dist/linreg_stream_bench" "$scratch/bench.npy" 250000 16384 3 gpu
  [[ $rows_rc -eq 0 ]] && rows_rc=$rc
  if [[ $bench_rc -ne 0 ]]; then
    v="FAIL (linreg bench exit $bench_rc)"
  elif [[ $rows_rc -ne 0 ]]; then
    v="FAIL (linreg bench with the rowgroups kernel, linreg_exact_bench or linreg_stream_bench, exit $rows_rc)"
  elif [[ -n "$verdict_torch" ]]; then
    v="TOOL-FAILURE ($verdict_torch; linreg bench itself passed)"
  else
    v="PASS (tables in 5-bench.log)"
  fi
  record bench $((SECONDS - t0)) "$v"
fi
cap_log "$log"

write_summary "done"
cat "$summary"
for v in "${verdicts[@]}"; do [[ "$v" == PASS* ]] || exit 1; done
exit 0
