#!/usr/bin/env bash
# Installs what linreg needs to build, from Debian/Ubuntu packages, when it is missing.
# As root it runs apt-get; otherwise it prints the exact apt-get line to run and fails.
# CUDA is optional: with the toolkit in /usr/local/cuda (or nvcc on PATH) the GPU backend builds.
set -euo pipefail

packages=(cmake g++ make libgtest-dev libcli11-dev nlohmann-json3-dev libopenblas-dev libboost-math-dev libopenmpi-dev openmpi-bin)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "setup: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing packages; run:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if command -v nvcc >/dev/null 2>&1 || [[ -x /usr/local/cuda/bin/nvcc ]]; then
  echo "setup: CUDA toolkit found; building the GPU backend too" >&2
else
  echo "setup: no CUDA toolkit; building the CPU-only configuration" >&2
fi
