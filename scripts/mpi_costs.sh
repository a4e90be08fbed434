#!/usr/bin/env bash
# scripts/mpi_costs.sh MODEL.gguf DATA.jsonl OUT.jsonl [SAMPLES] [THREADS] — per-question cost on this
# machine, the input of scripts/mpi_sim.py. For SAMPLES questions spread over DATA (GSM8K-style:
# "question", "answer"), one greedy answer as long as the question's reference solution in tokens
# (--ignore-eos: a random-weight model would not stop by itself), through `slotswift eval --chat`.
# Writes one JSON line per question: {"index", "prompt_chars", "answer_chars", "prompt_tokens",
# "answer_tokens", "seconds", "cpu_seconds"}: seconds is eval's wall time for the question (prefill +
# decoding); cpu_seconds the eval process's user + system time less that of the same command on a
# one-line question ("1+1?") with a one-token answer (loading the model, reading the data), measured
# right before it: on a shared machine this measures the work better than the wall time (THREADS = 1).
set -euo pipefail
B=$(cd "$(dirname "$0")/.." && pwd)/build/slotswift
M=${1:?usage: scripts/mpi_costs.sh MODEL.gguf DATA.jsonl OUT.jsonl [SAMPLES] [THREADS]}
D=${2:?data file}
OUT=${3:?output file}
S=${4:-10}
TH=${5:-1}
W=$(mktemp -d /tmp/mpi_costs.XXXXXX)
trap 'rm -rf "$W"' EXIT
n=$(wc -l <"$D")
: >"$OUT"
for k in $(seq 0 $((S - 1))); do
  i=$(( (2 * k + 1) * n / (2 * S) ))   # the middle of each of S equal slices
  sed -n "$((i + 1))p" "$D" >"$W/q.jsonl"
  python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).read()); open(sys.argv[2],"w").write(r["answer"])' "$W/q.jsonl" "$W/ans.txt"
  L=$("$B" tokenize -m "$M" -f "$W/ans.txt" --ids --no-bos | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  echo '{"question": "1+1?", "answer": "#### 2"}' >"$W/base.jsonl"
  cpu=()
  for run in "base.jsonl 1" "q.jsonl $L"; do
    set -- $run
    rm -f "$W/r.jsonl"
    TIMEFORMAT='%U %S'
    t=$( { time "$B" eval -m "$M" --chat --data "$W/$1" -N 1 --temp 0 -n "$2" --ignore-eos -t "$TH" --out "$W/r.jsonl" >/dev/null 2>"$W/err" \
           || { cat "$W/err" >&2; exit 1; }; } 2>&1 )
    cpu+=("$(echo "$t" | awk '{print $1 + $2}')")
  done
  python3 - "$W/q.jsonl" "$W/r.jsonl" "$i" "${cpu[0]}" "${cpu[1]}" >>"$OUT" <<'EOF'
import json, sys
q = json.loads(open(sys.argv[1]).read())
r = [json.loads(l) for l in open(sys.argv[2])][1]
print(json.dumps({"index": int(sys.argv[3]), "prompt_chars": len(q["question"]), "answer_chars": len(q["answer"]),
                  "prompt_tokens": r["n_prompt"], "answer_tokens": r["tokens"], "seconds": r["seconds"],
                  "cpu_seconds": round(float(sys.argv[5]) - float(sys.argv[4]), 3)}))
EOF
  tail -1 "$OUT" >&2
done
