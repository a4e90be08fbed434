#!/usr/bin/env bash
# test_files.sh — output files and resumable results (issue 15: data loss, mixed runs, silent wrong
# answers). One block per numbered point; each checks the exit code, the one-line message and that
# files the command must not touch are byte-identical afterwards. Uses the tinymath testbed model
# with 2-3 questions and short generations, so the whole file runs in a few seconds.
set -u
BIN=${SS_BIN:-build/slotswift}
TB=../shared/testbed
M=$TB/tinymath-f32.gguf
M8=$TB/tinymath-q8_0.gguf
T=$(mktemp -d /tmp/test_files.XXXXXX)
BGPID=
trap '[ -n "$BGPID" ] && kill $BGPID 2>/dev/null; rm -rf "$T"' EXIT
. tests/expect.sh

head -n 2 $TB/test.jsonl > "$T/data.jsonl"
head -n 3 $TB/test.jsonl > "$T/data3.jsonl"
E="-m $M --chat --data $T/data.jsonl --temp 0 -n 24 -t 1"

# ---- 1. eval --out: a file that is not eval's own is refused, never truncated; a bad line is an error
cp "$T/data.jsonl" "$T/notes.jsonl"; cp "$T/notes.jsonl" "$T/notes.bak"
expect 1 "not an eval results file" "$BIN" eval $E --out "$T/notes.jsonl"
same "$T/notes.jsonl" "$T/notes.bak" "1: a dataset given as --out is untouched"
printf 'my notes\nsecond line without newline' > "$T/notes.txt"; cp "$T/notes.txt" "$T/notes.bak"
expect 1 "not an eval results file" "$BIN" eval $E --out "$T/notes.txt"
same "$T/notes.txt" "$T/notes.bak" "1: a notes file given as --out is untouched"
expect 0 "" "$BIN" eval $E --out "$T/r.jsonl"
[ "$(wc -l < "$T/r.jsonl")" -eq 3 ] && head -1 "$T/r.jsonl" | grep -q '"slotswift_eval":1' && ok "1: results = settings line + 2 questions" || bad "1: results file shape"
tail -n +2 "$T/r.jsonl" > "$T/old.jsonl"; cp "$T/old.jsonl" "$T/old.bak"   # an older file: no settings record
expect 1 "without a settings record" "$BIN" eval $E --out "$T/old.jsonl"
same "$T/old.jsonl" "$T/old.bak" "1: a results file without settings record is untouched"
{ sed -n 1p "$T/r.jsonl"; echo '{"index":0,"oops'; sed -n 3p "$T/r.jsonl"; } > "$T/mid.jsonl"; cp "$T/mid.jsonl" "$T/mid.bak"
expect 1 "line 2: not valid JSON" "$BIN" eval $E --out "$T/mid.jsonl"
same "$T/mid.jsonl" "$T/mid.bak" "1: a bad line in the middle is an error, nothing dropped"
{ sed -n 1,2p "$T/r.jsonl"; sed -n 2p "$T/r.jsonl"; } > "$T/dup.jsonl"
expect 1 "line 3: question 0 is already on line 2" "$BIN" eval $E --out "$T/dup.jsonl"
{ sed -n 1,2p "$T/r.jsonl"; sed -n 3p "$T/r.jsonl" | head -c 40; } > "$T/torn.jsonl"
expect 0 "dropped an incomplete last line" "$BIN" eval $E --out "$T/torn.jsonl"
python3 - "$T/r.jsonl" "$T/torn.jsonl" <<'PY' && ok "1: a torn last line is redone: same results" || bad "1: torn-line resume differs"
import json, sys
a, b = ([{k: v for k, v in json.loads(l).items() if k != 'seconds'} for l in open(f)] for f in sys.argv[1:])
sys.exit(0 if a == b else 1)
PY

# ---- 2. atomic replace: only regular files or new paths; a symlink's target; no temp left behind
mkdir -p "$T/st"
python3 tests/toy_store.py "$T/st"
TR="swift-train --in $T/st --epochs 2 --val 0 -q"
echo old > "$T/target.gguf"; ln -s target.gguf "$T/link.gguf"
expect 0 "" "$BIN" $TR --out "$T/link.gguf"
[ -L "$T/link.gguf" ] && head -c 4 "$T/target.gguf" | grep -q GGUF && ok "2: a symlink is written through (target replaced, link kept)" || bad "2: symlink replaced"
mkfifo "$T/fifo"
expect 1 "refusing to replace a FIFO" timeout 10 "$BIN" $TR --out "$T/fifo"
[ -p "$T/fifo" ] && ok "2: the FIFO is still a FIFO" || bad "2: FIFO replaced"
mkdir "$T/adir"
expect 1 "refusing to replace a directory" "$BIN" $TR --out "$T/adir"
expect 1 "refusing to replace a device" "$BIN" $TR --out "$DEVFULL"
expect 1 "refusing to replace a device" "$BIN" gen-model --like tiny --type q8_0 --vocab-from "$M" -o "$DEVNULL"
[ -c "$DEVNULL" ] && [ -c "$DEVFULL" ] && ok "2: the devices are still devices" || bad "2: a device replaced"
ln -s missing.gguf "$T/dangling.gguf"
expect 1 "symlink to a missing file" "$BIN" $TR --out "$T/dangling.gguf"
# a stale temp of a dead process is removed by the next writer; our own temp never stays
sh -c 'exit 0' & dead=$!; wait $dead
echo junk > "$T/h.gguf.tmp.$dead"; echo mine > "$T/h.gguf.tmp.$$"
expect 0 "" "$BIN" $TR --out "$T/h.gguf"
[ ! -e "$T/h.gguf.tmp.$dead" ] && [ -e "$T/h.gguf.tmp.$$" ] && ok "2: stale temp of a dead pid removed, a live pid's kept" || bad "2: stale temp handling"
ls "$T" | grep -q "^h.gguf.tmp.[0-9]*$" && rm -f "$T/h.gguf.tmp.$$"
# an interrupted gen-model leaves no OUT.tmp.PID (SIGTERM and SIGINT while the big file is written)
for sig in TERM INT; do
  "$BIN" gen-model --like qwen2.5-0.5b --type q4_0 -t 1 --vocab-from "$M" -o "$T/big.gguf" 2>/dev/null & BGPID=$!
  for i in $(seq 100); do ls "$T" | grep -q "^big.gguf.tmp" && break; sleep 0.05; done
  ls "$T" | grep -q "^big.gguf.tmp" || bad "2: gen-model made no temp file"
  kill -$sig $BGPID; wait $BGPID 2>/dev/null; BGPID=
  ls "$T" | grep -q "^big.gguf" && bad "2: SIG$sig left $(ls "$T" | grep big.gguf)" || ok "2: SIG$sig during gen-model leaves no temp file"
done

# ---- 3. one writer at a time: eval --out and swift-collect --out are locked
"$BIN" eval -m $M --chat --data $TB/test.jsonl --limit 200 -N 8 --temp 0.8 -n 100 -t 1 --out "$T/busy.jsonl" >/dev/null 2>&1 & BGPID=$!
for i in $(seq 100); do [ -s "$T/busy.jsonl" ] && break; sleep 0.05; done
expect 1 "in use by another slotswift process (pid $BGPID)" "$BIN" eval -m $M --chat --data $TB/test.jsonl --limit 200 -N 8 --temp 0.8 -n 100 -t 1 --out "$T/busy.jsonl"
kill $BGPID; wait $BGPID 2>/dev/null; BGPID=
C="-m $M --chat -N 2 --temp 0.8 --seed 3 -n 16 -t 1 --swift-layers last2"
"$BIN" swift-collect $C --data $TB/swift_train.jsonl --limit 200 --out "$T/busy" >/dev/null 2>&1 & BGPID=$!
for i in $(seq 100); do [ -s "$T/busy/index.jsonl" ] && break; sleep 0.05; done
expect 1 "in use by another slotswift process" "$BIN" swift-collect $C --data $TB/swift_train.jsonl --limit 200 --out "$T/busy"
kill $BGPID; wait $BGPID 2>/dev/null; BGPID=

# ---- 4. resume with other settings is refused, naming the first difference
cp "$T/r.jsonl" "$T/r.bak"
expect 1 "resume with other settings: --temp was 0, now 0.5" "$BIN" eval $E --temp 0.5 --out "$T/r.jsonl"
expect 1 "resume with other settings: model was" "$BIN" eval $E -m $M8 --out "$T/r.jsonl"
expect 1 "resume with other settings: -N was 1, now 4" "$BIN" eval $E -N 4 --out "$T/r.jsonl"
expect 1 "resume with other settings: --stop was \[\], now \[\"x\"\]" "$BIN" eval $E --stop x --out "$T/r.jsonl"
expect 1 "resume with other settings: --repeat-penalty was 1, now 1.1" "$BIN" eval $E --repeat-penalty 1.1 --out "$T/r.jsonl"
expect 1 "resume with other settings: --kv-f32 was false, now true" "$BIN" eval $E --kv-f32 --out "$T/r.jsonl"
expect 1 "resume with other settings: data was" "$BIN" eval -m $M --chat --data "$T/data3.jsonl" --temp 0 -n 24 -t 1 --out "$T/r.jsonl"
same "$T/r.jsonl" "$T/r.bak" "4: refused resumes leave the results untouched"
cp "$T/data.jsonl" "$T/copy.jsonl"
expect 0 "resuming: 2 of 2" "$BIN" eval -m $M --chat --data "$(realpath "$T/copy.jsonl")" --temp 0 -n 24 -t 1 --out "$T/r.jsonl"
C="-m $M --chat -N 2 --temp 0.8 --seed 3 -n 16 -t 1 --swift-layers last2 --limit 2"
expect 0 "" "$BIN" swift-collect $C --data "$T/data.jsonl" --out "$T/fs"
expect 1 "resume with other settings: collect: --stop was \[\], now \[\"x\"\]" "$BIN" swift-collect $C --stop x --data "$T/data.jsonl" --out "$T/fs"
expect 1 "collect: --presence-penalty was 0, now 0.5" "$BIN" swift-collect $C --presence-penalty 0.5 --data "$T/data.jsonl" --out "$T/fs"
expect 1 "collect: --kv-f32 was false, now true" "$BIN" swift-collect $C --kv-f32 --data "$T/data.jsonl" --out "$T/fs"
expect 1 "resume with other settings: model_fingerprint" "$BIN" swift-collect $C -m $M8 --data "$T/data.jsonl" --out "$T/fs"
expect 0 "resuming" "$BIN" swift-collect $C --data "$(realpath "$T/data.jsonl")" --out "$T/fs"
head -c 100 "$T/fs/meta.json" > "$T/m" && cp "$T/fs/meta.json" "$T/meta.bak" && cp "$T/m" "$T/fs/meta.json"
expect 1 "meta.json: invalid JSON (truncated or corrupt)" "$BIN" swift-collect $C --data "$T/data.jsonl" --out "$T/fs"
cp "$T/meta.bak" "$T/fs/meta.json"

# ---- 5 and 6. swift-combine: every question of a multi-question eval --swift file; inputs checked first
python3 - "$T" <<'PY'
import json, sys
d = sys.argv[1]
hdr = {"slotswift_eval": 1, "data_path": "x", "settings": {}}
# 3 questions x 3 candidates; hand-computed choices below
sw = [[0.9, 0.1, 0.5], [0.2, 0.3, 0.1], [0.0, 0.4, 0.8]]
ok = [[False, True, False], [True, False, False], [False, False, True]]
with open(f"{d}/sw.jsonl", "w") as f:
    f.write(json.dumps(hdr) + "\n")
    for q in range(3):
        c = [{"answer": "1", "correct": ok[q][j], "tokens": 3, "logprob_mean": -1, "swift": sw[q][j], "votes": 1} for j in range(3)]
        f.write(json.dumps({"index": q, "correct": ok[q][0], "tokens": 9, "seconds": 1, "candidates": c}) + "\n")
ext = [[0.1, 0.9, 0.0], [0.5, 0.1, 0.0], [0.2, 0.1, 0.9]]
with open(f"{d}/ext.jsonl", "w") as f:
    for q in range(3): f.write(json.dumps({"index": q, "scores": ext[q]}) + "\n")
lines = open(f"{d}/ext.jsonl").read().splitlines()
for name, bad in (("null", '{"index": 1, "scores": [0.5, null, 0.0]}'), ("str", '{"index": 1, "scores": [0.5, "0.1", 0.0]}'),
                  ("missing", '{"index": 1}'), ("malformed", '{"index": 1, "scores": [0.5,')):
    open(f"{d}/ext_{name}.jsonl", "w").write("\n".join([lines[0], bad, lines[2]]) + "\n")
PY
# scaling: both min-max normalised within the question, then averaged:
#   q0 swift (1, 0, .5) ext (1/9, 1, 0) -> (.556, .5, .25): 0 (wrong); q1 (.5, 1, 0) + (1, .2, 0) -> (.75, .6, 0): 0 (right);
#   q2 (0, .5, 1) + (.125, 0, 1) -> 2 (right). swift alone picks 0, 1, 2 (1 right); external alone 1, 0, 2 (3 right)
expect 0 "3 questions: combined 0.6667, swift alone 0.3333, external alone 1.0000" "$BIN" swift-combine --results "$T/sw.jsonl" --scores "$T/ext.jsonl" --method scaling
printf '{"index":0,"selected":0,"correct":false}\n{"index":1,"selected":0,"correct":true}\n{"index":2,"selected":2,"correct":true}\n' > "$T/want"
same "$T/out" "$T/want" "6: every question scored, hand-computed choices"
echo keep > "$T/comb.out"; cp "$T/comb.out" "$T/comb.bak"
for b in null str missing malformed; do
  expect 1 "ext_$b.jsonl: line 2: " "$BIN" swift-combine --results "$T/sw.jsonl" --scores "$T/ext_$b.jsonl" --method ranking --out "$T/comb.out"
done
same "$T/comb.out" "$T/comb.bak" "5: --out untouched when an input is bad"
{ head -2 "$T/sw.jsonl"; echo '{"index":1,'; tail -1 "$T/sw.jsonl"; } > "$T/sw_bad.jsonl"
expect 1 "sw_bad.jsonl: line 3: not valid JSON" "$BIN" swift-combine --results "$T/sw_bad.jsonl" --scores "$T/ext.jsonl" --method ranking --out "$T/comb.out"
sed 's/"swift": 0.3/"swift": null/' "$T/sw.jsonl" > "$T/sw_null.jsonl"
expect 1 "line 3: question 1: a candidate has no swift reward" "$BIN" swift-combine --results "$T/sw_null.jsonl" --scores "$T/ext.jsonl" --method ranking
same "$T/comb.out" "$T/comb.bak" "5: --out untouched after bad results"
expect 0 "" "$BIN" swift-combine --results "$T/sw.jsonl" --scores "$T/ext.jsonl" --method scaling --out "$T/comb.out"
same "$T/comb.out" "$T/want" "5: --out written whole"
expect 1 "refusing to replace a device" "$BIN" swift-combine --results "$T/sw.jsonl" --scores "$T/ext.jsonl" --method scaling --out "$DEVFULL"
"$BIN" swift-combine --results "$T/sw.jsonl" --scores "$T/ext.jsonl" --method scaling > "$DEVFULL" 2>"$T/err"
[ $? -eq 1 ] && grep -q "No space left on device" "$T/err" && ok "5: stdout on /dev/full: exit 1 with the errno text" || bad "5: stdout /dev/full: $(cat "$T/err")"
# the README's workflow on a real file: collect, train, eval --swift on 3 questions, combine
C="-m $M --chat -N 2 --temp 0.8 --top-k 0 --min-p 0 --seed 3 -n 14 -t 1"   # short: some wrong candidates
"$BIN" swift-collect $C --swift-layers last2 --data $TB/swift_train.jsonl --limit 6 --out "$T/wf" >/dev/null 2>&1 \
  && "$BIN" swift-train --in "$T/wf" --out "$T/wf.gguf" --epochs 2 --val 0 -q >/dev/null 2>&1 \
  && "$BIN" eval $C --data "$T/data3.jsonl" --swift "$T/wf.gguf" --out "$T/wf.jsonl" >/dev/null 2>&1 \
  || bad "6: collect / train / eval --swift workflow"
python3 -c "
import json
for l in list(open('$T/wf.jsonl'))[1:]:
    print(json.dumps({'index': json.loads(l)['index'], 'scores': [0.5, 0.25]}))" > "$T/wf_scores.jsonl"
expect 0 "3 questions" "$BIN" swift-combine --results "$T/wf.jsonl" --scores "$T/wf_scores.jsonl" --method ranking
[ "$(wc -l < "$T/out")" -eq 3 ] && ok "6: a real eval --swift file: 3 questions combined" || bad "6: $(cat "$T/out")"

# ---- 10. swift-train refuses degenerate stores
mkst() {   # mkst NAME PYTHON-EXPR-FOR-EDIT: the good store of point 2, changed
  rm -rf "$T/$1"; cp -r "$T/st" "$T/$1"
  python3 - "$T/$1" "$2" <<'PY'
import json, sys
d, how = sys.argv[1], sys.argv[2]
L = [json.loads(l) for l in open(f"{d}/index.jsonl")]
if how == "tokens0": L = [dict(e, n_tokens=0) for e in L]
if how == "cut": L = L[:-1]
if how == "overlap": L[3]["offset"] = L[2]["offset"]
if how == "range": L[5]["offset"] = 1 << 20
if how == "label2": L[4]["label"] = 2
if how == "all1": L = [dict(e, label=1) for e in L]
if how == "all0": L = [dict(e, label=0) for e in L]
open(f"{d}/index.jsonl", "w").write("".join(json.dumps(e) + "\n" for e in L))
PY
}
for c in "tokens0:0 tokens per candidate" "cut:question 5 has 1 of its 2 candidates" "overlap:index.jsonl:4: features \[" \
         "range:index.jsonl:6: features \[1048576" "label2:index.jsonl:5: label: expected 0 or 1" \
         "all1:every candidate is labelled 1" "all0:every candidate is labelled 0"; do
  mkst "deg_${c%%:*}" "${c%%:*}"
  expect 1 "${c#*:}" "$BIN" swift-train --in "$T/deg_${c%%:*}" --out "$T/deg.gguf" -q
done
[ ! -e "$T/deg.gguf" ] && ok "10: no head written from a degenerate store" || bad "10: head written"

# ---- 12. lines without seconds / tokens / logprob_mean: an error naming the line, no crash
for f in seconds tokens logprob_mean; do
  python3 - "$T/r.jsonl" "$T/no_$f.jsonl" "$f" <<'PY'
import json, sys
L = open(sys.argv[1]).read().splitlines(); o = json.loads(L[2])
if sys.argv[3] == "logprob_mean": del o["candidates"][0]["logprob_mean"]
else: del o[sys.argv[3]]
L[2] = json.dumps(o); open(sys.argv[2], "w").write("\n".join(L) + "\n")
PY
  expect 1 "line 3: .*$f: missing" "$BIN" eval $E --out "$T/no_$f.jsonl"
done

# ---- 13. a non-regular --out (a pipe) is refused at once, never read back (no hang)
timeout 20 "$BIN" eval $E --out /dev/stdout 2>"$T/err" | cat >/dev/null; rc=${PIPESTATUS[0]}
[ $rc -eq 1 ] && grep -q "not a regular file" "$T/err" && ok "13: eval --out /dev/stdout | cat: refused, no hang" || bad "13: rc $rc: $(cat "$T/err")"

# ---- 14. the summary: hand-computed values (2 questions x 4 candidates), from a file whose question
# lines are written by hand under a settings line of this run
E4="-m $M --chat --data $T/data.jsonl --temp 0.8 -n 4 -t 1 -N 4"
expect 0 "" "$BIN" eval $E4 --out "$T/hand.jsonl"
python3 - "$T/hand.jsonl" <<'PY'
import json, sys
hdr = open(sys.argv[1]).readline()
def q(i, ans, ok, lp, corr, sec, tok):
    return json.dumps({"index": i, "correct": corr, "tokens": tok, "seconds": sec, "candidates": [
        {"answer": a, "correct": o, "tokens": 1, "logprob_mean": l, "swift": None, "votes": 0} for a, o, l in zip(ans, ok, lp)]})
open(sys.argv[1], "w").write(hdr + q(0, ["5", "7", "5", "7"], [True, False, True, False], [-1, -0.5, -0.2, -2], True, 1, 10) + "\n"
                                 + q(1, [None, "3", "4", "3"], [False, False, True, False], [None, -1, -0.1, -1], False, 3, 30) + "\n")
PY
expect 0 "" "$BIN" eval $E4 --out "$T/hand.jsonl"
python3 - "$T/out" <<'PY' && ok "14: summary = hand-computed pass/vote/logprob@k" || { bad "14: summary $(cat "$T/out")"; }
import json, sys
s = json.load(open(sys.argv[1]))
# Q0: 5,7,5,7 (5 right), logprob -1,-.5,-.2,-2; Q1: none,3,4,3 (4 right), logprob none,-1,-.1,-1
# vote ties go to the lowest index; a missing answer gets no vote; a null logprob is -inf
want = {"n": 2, "accuracy": 0.5, "mean_sample_accuracy": 0.375,
        "pass_at_k": {"1": 0.5, "2": 0.5, "4": 1}, "vote_at_k": {"1": 0.5, "2": 0.5, "4": 0.5},
        "selected_at_k": {"1": 0.5, "2": 0.5, "4": 0.5}, "logprob_at_k": {"1": 0.5, "2": 0, "4": 1},
        "sec_per_question": 2, "tokens_per_question": 20}
for k, v in want.items():
    assert s[k] == v, (k, s[k], v)
# pass@k over random subsets exactly: 1 - C(n-c,k)/C(n,k): Q0 (c=2) .5, 5/6, 1; Q1 (c=1) .25, .5, 1
for k, v in {"1": 0.375, "2": (5 / 6 + 0.5) / 2, "4": 1}.items(): assert abs(s["pass_at_k_avg"][k] - v) < 1e-8
assert s["vote_at_k_avg"]["4"] == 0.5 and s["logprob_at_k_avg"]["4"] == 1
PY

# ---- 20. --slot-span without --slot-steps; eval on an empty data file
expect 1 "--slot-span needs --slot-steps" "$BIN" eval $E --slot-span user --out "$T/span.jsonl"
expect 1 "--slot-span needs --slot-steps" "$BIN" generate -m $M -p "1+1=" -n 2 --slot-span user
: > "$T/empty.jsonl"
expect 1 "empty.jsonl: no questions" "$BIN" eval -m $M --data "$T/empty.jsonl" --out "$T/e.jsonl"
[ ! -e "$T/e.jsonl" ] && ok "20: no results file for an empty data file" || bad "20: results file created"
expect 1 "cannot open" "$BIN" eval -m "$T/missing.gguf" --data "$T/data.jsonl" --out "$T/e.jsonl"
[ ! -e "$T/e.jsonl" ] && ok "1: a run that fails before its first line leaves no empty results file" || bad "1: empty results file left"
exit $fail
