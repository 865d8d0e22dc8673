#!/usr/bin/env bash
# Configures and builds linreg (Release) into build/ (or $LINREG_BUILD_DIR).
# Extra arguments go to CMake's configure step, e.g. -DLINREG_CUDA=OFF.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LINREG_BUILD_DIR:-$root/build}
jobs=${LINREG_JOBS:-$(nproc)}
mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "$@" >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log" >&2; exit 1; }
cmake --build "$build" -j "$jobs"
