#!/usr/bin/env bash
# scripts/llama-build.sh TARGET... — builds llama.cpp's TARGETs (llama-bench, llama-batched-bench,
# llama-server) once and prints the directory of their binaries; what scripts/llama-bench.sh and
# scripts/serve-bench.sh run. llama.cpp's source comes from the npm registry: the node-llama-cpp
# package carries a git bundle of the llama.cpp release it binds (no other download). One build tree,
# $LLAMA_DIR/src/build (default LLAMA_DIR build-llama.cpp/), Release, -march=native, CPU only, no web
# UI; about 10 minutes on 2 cores the first time. Build output goes to stderr.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: scripts/llama-build.sh TARGET..." >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
D=${LLAMA_DIR:-$ROOT/build-llama.cpp}
B=$D/src/build/bin
missing=()
for t in "$@"; do [ -x "$B/$t" ] || missing+=("$t"); done
if [ ${#missing[@]} -gt 0 ]; then
  {
    command -v npm >/dev/null || apt-get install -y npm
    mkdir -p "$D" && cd "$D"
    [ -d node_modules/node-llama-cpp ] || npm install --no-audit --no-fund --ignore-scripts node-llama-cpp@3.22.1
    [ -d src ] || git clone -q node_modules/node-llama-cpp/llama/gitRelease.bundle src
    cd src
    cmake -B build -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
          -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_UI=OFF
    cmake --build build --target "${missing[@]}" -j2
  } >&2
fi
echo "$B"
