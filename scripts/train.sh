#!/usr/bin/env bash
# Fresh machine → trained model: installs what is missing, builds, runs `linreg train`.
# Arguments are passed to `linreg train` (e.g. --device cpu --examples 1000000 --json).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh" >/dev/null
exec "${LINREG_BUILD_DIR:-$root/build}/linreg" train "$@"
