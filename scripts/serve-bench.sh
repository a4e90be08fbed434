#!/usr/bin/env bash
# scripts/serve-bench.sh MODEL.gguf [THREADS] — `slotswift serve` against llama.cpp's llama-server on
# the same file with the same clients (scripts/serve-bench.mjs): K = 1, 4, 8 streaming clients,
# 128-token prompts, 128 generated tokens each; aggregate tokens/s, time to first token and
# inter-token latency (p50, p99); then slotswift at K = 8 with one 5-step SLOT request in the middle.
# llama-server is built from the same llama.cpp source as scripts/llama-bench.sh (the git bundle in
# the node-llama-cpp npm package), once, under $LLAMA_DIR (default build-llama.cpp/).
# A benchmark, not a test: run it on an otherwise idle machine.
set -euo pipefail
MODEL=${1:?usage: scripts/serve-bench.sh MODEL.gguf [THREADS]}
T=${2:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
D=${LLAMA_DIR:-$ROOT/build-llama.cpp}
BIN=${SS_BIN:-$ROOT/build/slotswift}
if [ ! -x "$D/src/build-server/bin/llama-server" ]; then
  command -v npm >/dev/null || apt-get install -y npm
  mkdir -p "$D" && cd "$D"
  [ -d node_modules/node-llama-cpp ] || npm install --no-audit --no-fund --ignore-scripts node-llama-cpp@3.22.1 >/dev/null
  [ -d src ] || git clone -q node_modules/node-llama-cpp/llama/gitRelease.bundle src
  cd src
  cmake -B build-server -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
        -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON >/dev/null
  cmake --build build-server --target llama-server -j2 >/dev/null
  cd "$ROOT"
fi
LS=$D/src/build-server/bin/llama-server
PORT=${PORT:-18080}
wait_up() { for _ in $(seq 600); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && return 0; sleep 0.2; done; echo "server did not start" >&2; return 1; }
echo "# $(basename "$MODEL"), $T threads; $("$LS" --version 2>&1 | grep -m1 version || true)"
for K in 1 4 8; do
  # context: room for K sequences of 128 + 128 tokens (llama-server splits -c between its slots)
  C=$((K * 512))
  "$BIN" serve -m "$MODEL" --port $PORT -t "$T" -c $C --parallel $K --queue 64 >/dev/null 2>&1 & P=$!
  wait_up; echo "slotswift    $(node "$ROOT/scripts/serve-bench.mjs" "http://127.0.0.1:$PORT" $K)"
  if [ $K = 8 ]; then echo "slotswift    $(node "$ROOT/scripts/serve-bench.mjs" "http://127.0.0.1:$PORT" $K slot)"; fi
  kill $P; wait $P 2>/dev/null || true
  "$LS" -m "$MODEL" --port $PORT -t "$T" -c $C --parallel $K --cont-batching >/dev/null 2>&1 & P=$!
  wait_up; echo "llama-server $(node "$ROOT/scripts/serve-bench.mjs" "http://127.0.0.1:$PORT" $K)"
  kill $P; wait $P 2>/dev/null || true
done
