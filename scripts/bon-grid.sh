#!/usr/bin/env bash
# scripts/bon-grid.sh OUT_DIR [LIMIT] — Best-of-N with the vote on the tinymath testbed (F32), the
# first LIMIT test problems (default all 500), N = 8 and 16, T 0.8, top-p 0.95 (top-k and min-p off,
# as the testbed's RESULTS.md): the full vote@N against the exact early stop (`--early-stop`) and
# adaptive sampling (`--adaptive` with its defaults, with `--adaptive-tokp 0.97`, and the weighted margin
# chosen on swift_train.jsonl: `--adaptive-wave 2 --adaptive-conf 1 --adaptive-tokp 1
# --adaptive-margin 0.1 --adaptive-gamma 24`). Prints accuracy,
# generated tokens per question and seconds per question of each, and whether early stop selected the
# same answers as the full vote on every question (it must). Threads: THREADS (default 1).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${SS_BIN:-$ROOT/build/slotswift}
TB=$(cd "$ROOT/../shared/testbed" && pwd)
OUT=${1:?usage: scripts/bon-grid.sh OUT_DIR [LIMIT]}
LIMIT=${2:-500}
THREADS=${THREADS:-1}
mkdir -p "$OUT"
cd "$OUT"
S="-m $TB/tinymath-f32.gguf --chat --data $TB/test.jsonl --limit $LIMIT --temp 0.8 --top-p 0.95 --top-k 0 --min-p 0 -n 100 --seed 2 -t $THREADS"
for N in 8 16; do
  [ -s "vote$N.summary" ] || "$B" eval $S -N "$N" --select vote --out "vote$N.jsonl" > "vote$N.summary" 2>/dev/null
  [ -s "es$N.summary" ] || "$B" eval $S -N "$N" --select vote --early-stop --out "es$N.jsonl" > "es$N.summary" 2>/dev/null
  [ -s "ad$N.summary" ] || "$B" eval $S -N "$N" --select vote --adaptive --out "ad$N.jsonl" > "ad$N.summary" 2>/dev/null
  [ -s "adq$N.summary" ] || "$B" eval $S -N "$N" --select vote --adaptive --adaptive-tokp 0.97 --out "adq$N.jsonl" > "adq$N.summary" 2>/dev/null
  [ -s "adw$N.summary" ] || "$B" eval $S -N "$N" --select vote --adaptive-wave 2 --adaptive-conf 1 --adaptive-tokp 1 \
      --adaptive-margin 0.1 --adaptive-gamma 24 --out "adw$N.jsonl" > "adw$N.summary" 2>/dev/null
done
python3 - <<'PY'
import json
print("| N | method | accuracy | tokens / question | seconds / question | candidates stopped |")
print("|---:|---|---:|---:|---:|---:|")
for n in (8, 16):
    rows = {}
    for m in ("vote", "es", "ad", "adq", "adw"):
        s = json.load(open(f"{m}{n}.summary"))
        q = [json.loads(l) for l in open(f"{m}{n}.jsonl")][1:]
        rows[m] = (s, q)
    same = all(a["answer"] == b["answer"] for a, b in zip(rows["vote"][1], rows["es"][1]))
    for m, name in (("vote", "vote@%d" % n), ("es", "vote@%d, `--early-stop`" % n), ("ad", "`--adaptive` (up to %d)" % n),
                    ("adq", "`--adaptive --adaptive-tokp 0.97`"),
                    ("adw", "weighted margin (`--adaptive-wave 2 --adaptive-conf 1 --adaptive-tokp 1 --adaptive-margin 0.1 --adaptive-gamma 24`)")):
        s, q = rows[m]
        stopped = sum(c.get("stopped", False) for x in q for c in x["candidates"])
        print(f"| {n} | {name} | {100 * s['accuracy']:.1f}% | {s['tokens_per_question']:.1f} | {s['sec_per_question']:.3f} | {stopped} |")
    tv, te = (rows[m][0]["tokens_per_question"] for m in ("vote", "es"))
    ad = "; ".join(f"{m}: {100 * rows[m][0]['tokens_per_question'] / tv:.1f}% of the tokens, "
                   f"{sum(a['answer'] != b['answer'] for a, b in zip(rows['vote'][1], rows[m][1]))} answers differ" for m in ("ad", "adq", "adw"))
    print(f"|  | early stop: same selected answer on all {len(rows['vote'][1])} questions: {same}, {100 * (tv - te) / tv:.2f}% fewer tokens; "
          f"adaptive {ad} | | | | |")
PY
