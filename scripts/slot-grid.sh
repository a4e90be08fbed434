#!/usr/bin/env bash
# scripts/slot-grid.sh OUT_DIR [tune] [test] — safe SLOT (trust region) against plain SLOT, greedy decoding,
# the tables of the README's "Measured: safe SLOT" (both parts unless one is named):
#   tune: the bound X (`--slot-kl-max X`, X in $XS) at the strong settings $TUNE_CFGS (lr x steps) on
#         tuning problems only: the first TUNE (500) of tinymath's swift_train.jsonl (accuracy) and the
#         first TUNE2 (all 300) of tinymath-fmt's tune.jsonl; the README's rule picks X from these
#         tables, and `--slot-safe` is built with it (SS_SLOT_SAFE_KL_MAX);
#   test: lr in {0.01, 0.1, 0.3, 0.5, 1.0} x steps in {1, 3, 5}, plain SLOT and `--slot-safe`, on the
#         first LIMIT (all 500) of tinymath's test.jsonl and the first LIMIT2 (200) of tinymath-fmt's.
# tinymath-fmt (../shared/testbed2) is graded strict / format adherence / lenient by its
# scripts/grade.py (needs python3). Models: the two F32 GGUFs. Each eval writes OUT/NAME.jsonl
# (resumable) and OUT/NAME.summary; the tables go to OUT/{tune,tune2,tinymath,tinymath-fmt}.md.
# Threads: THREADS (default 1); cells run one after another (~1.5 h on one free core for both parts).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${SS_BIN:-$ROOT/build/slotswift}
TB=$(cd "$ROOT/../shared/testbed" && pwd)
TB2=$(cd "$ROOT/../shared/testbed2" && pwd)
OUT=${1:?usage: scripts/slot-grid.sh OUT_DIR [tune] [test]}
shift
PARTS=${*:-tune test}
TUNE=${TUNE:-500}
TUNE2=${TUNE2:-300}
LIMIT=${LIMIT:-500}
LIMIT2=${LIMIT2:-200}
THREADS=${THREADS:-1}
XS=${XS:-"0.01 0.02 0.05 0.1 0.2"}
TUNE_CFGS=${TUNE_CFGS:-"0.1x3 0.3x5 0.5x5 1.0x5"}
GRID_CFGS=$(for lr in 0.01 0.1 0.3 0.5 1.0; do for s in 1 3 5; do printf '%sx%s ' "$lr" "$s"; done; done)
command -v python3 >/dev/null || { echo "slot-grid: needs python3 (testbed2's grader)"; exit 1; }
mkdir -p "$OUT"
cd "$OUT"
G="--chat -n 100 --temp 0 -t $THREADS"

# the data set of the tables that follow: MODEL DATA LIMIT KIND (acc: accuracy, fmt: strict/format/lenient)
use() { M=$1; DATA=$2; LIM=$3; KIND=$4; }
run() {   # NAME [flags]: one greedy eval of the current data set
  local name=$1; shift
  [ -s "$name.summary" ] || "$B" eval -m "$M" $G --data "$DATA" --limit "$LIM" "$@" --out "$name.jsonl" > "$name.summary" 2>/dev/null
}
score() {   # NAME -> "58.2" (accuracy, %) or ".465/.780/.560" (strict/format/lenient)
  if [ "$KIND" = acc ]; then
    sed -n 's/.*"accuracy":\([0-9.]*\).*/\1/p' "$1.summary" | awk '{printf "%.1f", 100 * $1}'
  else
    python3 "$TB2/scripts/grade.py" --data "$DATA" --md "$1.jsonl" 2>/dev/null |
      awk -F'|' 'NR > 2 && NF > 6 { printf "%s/%s/%s", $4, $5, $6; exit }' | sed 's/ //g; s/0\././g'
  fi
}
slot() { echo "--slot-lr ${1%x*} --slot-steps ${1#*x}"; }   # "0.3x5" -> its flags

tune_table() {   # PREFIX TITLE: rows = $TUNE_CFGS, columns = no bound and X in $XS
  local p=$1 cfg x row
  run "${p}_greedy"
  echo "| $2 | no bound |$(for x in $XS; do printf ' X = %s |' "$x"; done)"
  echo "|---|---:|$(for x in $XS; do printf -- '---:|'; done)"
  echo "| no SLOT | $(score "${p}_greedy") |$(for x in $XS; do printf ' |'; done)"
  for cfg in $TUNE_CFGS; do
    run "${p}_$cfg" $(slot "$cfg")
    row="| lr ${cfg/x/ x } | $(score "${p}_$cfg") |"
    for x in $XS; do
      run "${p}_${cfg}_kl$x" $(slot "$cfg") --slot-kl-max "$x"
      row="$row $(score "${p}_${cfg}_kl$x") |"
    done
    echo "$row"
  done
}

test_table() {   # PREFIX TITLE: rows = lr x steps, columns = plain SLOT and --slot-safe
  local p=$1 cfg
  run "${p}_greedy"
  echo "| $2 | plain SLOT | \`--slot-safe\` |"
  echo "|---|---:|---:|"
  echo "| no SLOT | $(score "${p}_greedy") | |"
  for cfg in $GRID_CFGS; do
    run "${p}_plain_$cfg" $(slot "$cfg")
    run "${p}_safe_$cfg" $(slot "$cfg") --slot-safe
    echo "| lr ${cfg/x/ x } | $(score "${p}_plain_$cfg") | $(score "${p}_safe_$cfg") |"
  done
}

pick_x() {   # TUNE.md TUNE2.md: the README's rule. X is admissible when on tinymath every setting is at
  # most 0.5 points below greedy and on tinymath-fmt no setting's lenient accuracy is below no SLOT's; the
  # admissible X with the highest mean strict accuracy over the settings (ties: the larger X; none: the smallest)
  python3 - "$1" "$2" <<'PY'
import sys
def rows(path):   # header X values, the "no SLOT" row, the settings' rows (cells without "no bound")
    lines = [l.strip().strip('|').split('|') for l in open(path) if l.startswith('| ')]
    xs = [float(c.split('=')[1]) for c in lines[0][2:]]
    return xs, lines[1][1].strip(), [[c.strip() for c in r[2:]] for r in lines[2:]]
xs, greedy, tm = rows(sys.argv[1])
_, none, fmt = rows(sys.argv[2])
sfl = lambda c: [float(v) for v in c.split('/')]   # strict, format, lenient
ok = [j for j in range(len(xs)) if all(float(r[j]) >= float(greedy) - 0.5 - 1e-9 for r in tm)
      and all(sfl(r[j])[2] >= sfl(none)[2] - 1e-9 for r in fmt)]
mean = lambda j: sum(sfl(r[j])[0] for r in fmt) / len(fmt)
j = max(ok, key=lambda j: (round(mean(j), 9), xs[j])) if ok else 0
print(f"rule: admissible X {[xs[i] for i in ok]}, mean strict {[round(mean(i), 4) for i in range(len(xs))]} -> X = {xs[j]}")
PY
}

for part in $PARTS; do
  case $part in
  tune)
    use "$TB/tinymath-f32.gguf" "$TB/swift_train.jsonl" "$TUNE" acc
    tune_table tune "tinymath swift_train.jsonl, first $TUNE: accuracy %" > tune.md
    use "$TB2/tinymath-fmt-f32.gguf" "$TB2/tune.jsonl" "$TUNE2" fmt
    tune_table tune2 "tinymath-fmt tune.jsonl, first $TUNE2: strict/format/lenient" > tune2.md
    cat tune.md tune2.md
    pick_x tune.md tune2.md ;;
  test)
    use "$TB/tinymath-f32.gguf" "$TB/test.jsonl" "$LIMIT" acc
    test_table tm "tinymath test.jsonl, first $LIMIT: accuracy %" > tinymath.md
    use "$TB2/tinymath-fmt-f32.gguf" "$TB2/test.jsonl" "$LIMIT2" fmt
    test_table fmt "tinymath-fmt test.jsonl, first $LIMIT2: strict/format/lenient" > tinymath-fmt.md
    cat tinymath.md tinymath-fmt.md ;;
  *) echo "slot-grid: unknown part '$part' (tune, test)"; exit 2 ;;
  esac
done
