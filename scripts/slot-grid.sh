#!/usr/bin/env bash
# scripts/slot-grid.sh OUT_DIR [LIMIT] — safe SLOT (trust region) against plain SLOT, greedy decoding:
#   1. the bound: `--slot-kl-max X` for X in $XS on the first $TUNE problems of tinymath's
#      swift_train.jsonl (at the two strongest settings, lr 0.5 and 1.0 x 5 steps: must not lose
#      accuracy) and of tinymath-fmt's tune.jsonl (lr 0.1 x 3, its best, and 0.3 / 1.0 x 5: must keep
#      the gain), never on the test sets;
#   2. tinymath (../shared/testbed, F32): lr in {0.01, 0.1, 0.3, 0.5, 1.0} x steps in {1, 3, 5},
#      plain SLOT, `--slot-safe` and `--slot-kl-max X` for X in $XTEST (default 0.01), on the first
#      LIMIT test problems (default: all 500);
#   3. tinymath-fmt (../shared/testbed2, F32): the same grid on its first LIMIT2 (default 200) test
#      problems, graded strict / format / lenient by its scripts/grade.py (needs python3).
# Each eval writes OUT/NAME.jsonl (resumable) and OUT/NAME.summary; the tables go to OUT/*.md.
# Threads: THREADS (default 1). All 500 + 200 problems: ~1.5 h on 1 core.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${SS_BIN:-$ROOT/build/slotswift}
TB=$(cd "$ROOT/../shared/testbed" && pwd)
TB2=$(cd "$ROOT/../shared/testbed2" && pwd)
OUT=${1:?usage: scripts/slot-grid.sh OUT_DIR [LIMIT]}
LIMIT=${2:-500}
LIMIT2=${LIMIT2:-200}
TUNE=${TUNE:-100}
THREADS=${THREADS:-1}
XS=${XS:-"0.01 0.02 0.05 0.1 0.2"}
XTEST=${XTEST:-"0.01"}
LRS="0.01 0.1 0.3 0.5 1.0"
STEPS="1 3 5"
mkdir -p "$OUT"
cd "$OUT"
G="--chat -n 100 --temp 0 -t $THREADS"

run() {   # NAME DATA LIMIT [flags]: one greedy eval
  local name=$1 data=$2 lim=$3; shift 3
  [ -s "$name.summary" ] || "$B" eval -m "$M" $G --data "$data" --limit "$lim" "$@" --out "$name.jsonl" > "$name.summary" 2>/dev/null
}
acc() { sed -n 's/.*"accuracy":\([0-9.]*\).*/\1/p' "$1.summary" | awk '{printf "%.1f", 100 * $1}'; }

# ---- 1. the bound, on swift_train.jsonl problems
M=$TB/tinymath-f32.gguf
run tune_greedy "$TB/swift_train.jsonl" "$TUNE"
{
  echo "| swift_train.jsonl, first $TUNE | no bound |$(for x in $XS; do printf ' X = %s |' "$x"; done)"
  echo "|---|---:|$(for x in $XS; do printf -- '---:|'; done)"
  echo "| greedy | $(acc tune_greedy) |$(for x in $XS; do printf ' |'; done)"
  for lr in 0.5 1.0; do
    run "tune_lr${lr}_s5" "$TB/swift_train.jsonl" "$TUNE" --slot-steps 5 --slot-lr "$lr"
    row="| lr $lr x 5 | $(acc "tune_lr${lr}_s5") |"
    for x in $XS; do
      run "tune_lr${lr}_s5_kl$x" "$TB/swift_train.jsonl" "$TUNE" --slot-steps 5 --slot-lr "$lr" --slot-kl-max "$x"
      row="$row $(acc "tune_lr${lr}_s5_kl$x") |"
    done
    echo "$row"
  done
} > tune.md

command -v python3 >/dev/null || { echo "slot-grid: needs python3 (testbed2's grader)"; exit 1; }
grade() {   # NAME [DATA] -> "strict format lenient" (fractions)
  python3 "$TB2/scripts/grade.py" --data "${2:-$TB2/test.jsonl}" --md "$1.jsonl" 2>/dev/null |
    awk -F'|' 'NR > 2 && NF > 6 { gsub(/ /, "", $4); gsub(/ /, "", $5); gsub(/ /, "", $6); print $4, $5, $6; exit }'
}
M=$TB2/tinymath-fmt-f32.gguf
run tune2_greedy "$TB2/tune.jsonl" "$TUNE"
{
  echo "| tune.jsonl (tinymath-fmt), first $TUNE: strict / format / lenient | no bound |$(for x in $XS; do printf ' X = %s |' "$x"; done)"
  echo "|---|---|$(for x in $XS; do printf -- '---|'; done)"
  echo "| no SLOT | $(grade tune2_greedy "$TB2/tune.jsonl" | tr ' ' '/') |$(for x in $XS; do printf ' |'; done)"
  for cfg in "0.1 3" "0.3 5" "1.0 5"; do
    set -- $cfg
    run "tune2_lr$1_s$2" "$TB2/tune.jsonl" "$TUNE" --slot-steps "$2" --slot-lr "$1"
    row="| lr $1 x $2 | $(grade "tune2_lr$1_s$2" "$TB2/tune.jsonl" | tr ' ' '/') |"
    for x in $XS; do
      run "tune2_lr$1_s$2_kl$x" "$TB2/tune.jsonl" "$TUNE" --slot-steps "$2" --slot-lr "$1" --slot-kl-max "$x"
      row="$row $(grade "tune2_lr$1_s$2_kl$x" "$TB2/tune.jsonl" | tr ' ' '/') |"
    done
    echo "$row"
  done
} > tune2.md

# ---- 2. tinymath test problems
M=$TB/tinymath-f32.gguf
run greedy "$TB/test.jsonl" "$LIMIT"
{
  echo "| tinymath test, first $LIMIT (greedy $(acc greedy)%) | plain SLOT | --slot-safe |$(for x in $XTEST; do printf ' X = %s |' "$x"; done)"
  echo "|---|---:|---:|$(for x in $XTEST; do printf -- '---:|'; done)"
  for lr in $LRS; do for s in $STEPS; do
    run "plain_lr${lr}_s$s" "$TB/test.jsonl" "$LIMIT" --slot-steps "$s" --slot-lr "$lr"
    run "safe_lr${lr}_s$s" "$TB/test.jsonl" "$LIMIT" --slot-steps "$s" --slot-lr "$lr" --slot-safe
    row="| lr $lr x $s | $(acc "plain_lr${lr}_s$s") | $(acc "safe_lr${lr}_s$s") |"
    for x in $XTEST; do
      run "kl${x}_lr${lr}_s$s" "$TB/test.jsonl" "$LIMIT" --slot-steps "$s" --slot-lr "$lr" --slot-kl-max "$x"
      row="$row $(acc "kl${x}_lr${lr}_s$s") |"
    done
    echo "$row"
  done; done
} > tinymath.md

# ---- 3. tinymath-fmt test problems (strict / format adherence / lenient accuracy by its grader)
M=$TB2/tinymath-fmt-f32.gguf
run fmt_greedy "$TB2/test.jsonl" "$LIMIT2"
{
  echo "| tinymath-fmt test, first $LIMIT2: strict / format / lenient | plain SLOT | --slot-safe |$(for x in $XTEST; do printf ' X = %s |' "$x"; done)"
  echo "|---|---|---|$(for x in $XTEST; do printf -- '---|'; done)"
  echo "| no SLOT | $(grade fmt_greedy | tr ' ' '/') | |$(for x in $XTEST; do printf ' |'; done)"
  for lr in $LRS; do for s in $STEPS; do
    run "fmt_plain_lr${lr}_s$s" "$TB2/test.jsonl" "$LIMIT2" --slot-steps "$s" --slot-lr "$lr"
    run "fmt_safe_lr${lr}_s$s" "$TB2/test.jsonl" "$LIMIT2" --slot-steps "$s" --slot-lr "$lr" --slot-safe
    row="| lr $lr x $s | $(grade "fmt_plain_lr${lr}_s$s" | tr ' ' '/') | $(grade "fmt_safe_lr${lr}_s$s" | tr ' ' '/') |"
    for x in $XTEST; do
      run "fmt_kl${x}_lr${lr}_s$s" "$TB2/test.jsonl" "$LIMIT2" --slot-steps "$s" --slot-lr "$lr" --slot-kl-max "$x"
      row="$row $(grade "fmt_kl${x}_lr${lr}_s$s" "$TB2/test.jsonl" | tr ' ' '/') |"
    done
    echo "$row"
  done; done
} > tinymath-fmt.md
cat tune.md tune2.md tinymath.md tinymath-fmt.md
