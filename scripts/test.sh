#!/usr/bin/env bash
# Fresh machine → green test suite: installs what is missing, builds, runs every GoogleTest test.
# GPU tests skip (with the reason) when no GPU is usable. Extra arguments go to CMake.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LINREG_BUILD_DIR:-$root/build}
"$root/scripts/setup.sh"
LINREG_BUILD_DIR=$build "$root/scripts/build.sh" "$@"
cd "$build"
ctest --output-on-failure -j "${LINREG_JOBS:-$(nproc)}"
