#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a built and checked tessera.
#
#   scripts/setup.sh run    install what is missing, build, generate on the built-in model
#   scripts/setup.sh test   install what is missing, build, run the whole test suite
#
# Environment: BUILD_DIR (default build), JOBS (default: number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}
build=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}

# Debian packages the build needs; docs/dependencies.md says why each is here.
packages=(cmake ninja-build g++ pkg-config ccache git
  libabsl-dev libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  nlohmann-json3-dev libspdlog-dev libcli11-dev libpcre2-dev libboost1.74-dev
  libgtest-dev libgmock-dev libssl-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

# CUDA is optional; when the toolkit is installed its kernels are compiled too.
if [ -z "${CUDACXX:-}" ] && [ -x /usr/local/cuda/bin/nvcc ]; then export CUDACXX=/usr/local/cuda/bin/nvcc; fi

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j "$jobs"

case "$mode" in
  run)
    # The main job: greedy generation on the built-in model (synthesized on first use).
    "$build/bin/tessera" generate --prompt-ids 200006,17360,200008,3575,553,17554 \
      --max-tokens 16 --temperature 0 --top-logprobs 3 --json
    ;;
  test)
    # GPU tests need a GPU machine: there, run `ctest --test-dir build -L gpu`.
    ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 900 -LE gpu
    ;;
  *)
    echo "usage: scripts/setup.sh run|test" >&2
    exit 2
    ;;
esac
