#!/usr/bin/env bash
# test_inputs.sh — inputs and their bounds (issue 15, points 7, 8, 15-19; 1-6, 10, 12-14, 20 are in
# test_files.sh, 9 and 11 in test_gguf_refuse.sh). Each block checks the exit code and the one-line
# message; lengths come from the models' metadata (stories260K: context 128; tinymath: context 512)
# and from `tokenize`, not from the commands under test. Seconds.
set -u
BIN=${SS_BIN:-build/slotswift}
S=../shared/models/stories260K-f32.gguf
M=../shared/testbed/tinymath-f32.gguf
L=../shared/models/llama-synth-mini-q4_0.gguf
T=$(mktemp -d /tmp/test_inputs.XXXXXX)
trap 'rm -rf "$T"' EXIT
. tests/expect.sh
ntok() { "$BIN" tokenize -m "$1" -p "$2" --ids | python3 -c "import json, sys; print(len(json.load(sys.stdin)))"; }
[ "$("$BIN" info --json $S | python3 -c 'import json,sys; print(json.load(sys.stdin)["context_length"])')" = 128 ] || bad "stories context is not 128"
[ "$("$BIN" info --json $M | python3 -c 'import json,sys; print(json.load(sys.stdin)["context_length"])')" = 512 ] || bad "tinymath context is not 512"

head -n 2 ../shared/testbed/test.jsonl > "$T/d2.jsonl"
python3 -c "import json; print(json.dumps({'question': 'what is 1+1? ' * 300, 'answer': '#### 2'}))" > "$T/long.jsonl"
python3 -c "print('what is 1+1? ' * 300)" > "$T/long.txt"
LONG_T=$(ntok $M "$(cat "$T/long.txt")")

# ---- 7. every command: the context is the model's trained context unless -c; beyond it warns once
expect 1 "question 0: prompt of $LONG_T tokens does not fit the context of 512 tokens (-c)" "$BIN" eval -m $M --data "$T/long.jsonl" --out "$T/l.jsonl" -n 4 -t 1
[ ! -e "$T/l.jsonl" ] && ok "7: no results file from a refused eval" || bad "7: results file left"
expect 1 "does not fit the context of 512 tokens" "$BIN" swift-collect -m $M --data "$T/long.jsonl" --out "$T/lfs" -N 2 -n 4 -t 1
expect 1 "does not fit the context of 512 tokens" "$BIN" bon -m $M -f "$T/long.txt" -N 2 -n 4 -t 1
expect 1 "does not fit the context of 512 tokens" "$BIN" generate -m $M -f "$T/long.txt" -n 4 -t 1
for cmd in "generate -p 1+1= -n 2" "bon -p 1+1= -n 2 -N 2" "dump -p 1+1= -n 2" "eval --data $T/d2.jsonl --limit 1 --out $T/w.jsonl -n 2" \
           "swift-collect --data $T/d2.jsonl --limit 1 --out $T/wfs -N 2 -n 2"; do
  "$BIN" ${cmd%% *} -m $M ${cmd#* } -c 1024 -t 1 --seed 1 >/dev/null 2>"$T/err"; rc=$?
  [ $rc -eq 0 ] && [ "$(grep -c "warning: -c 1024 is beyond the model's trained context of 512 tokens" "$T/err")" -eq 1 ] \
    && [ "$(grep -c warning "$T/err")" -eq 1 ] && ok "7: ${cmd%% *} -c 1024: runs, one warning" || bad "7: ${cmd%% *} -c 1024: rc $rc: $(cat "$T/err")"
  "$BIN" ${cmd%% *} -m $M ${cmd#* } -c 512 -t 1 --seed 1 >/dev/null 2>"$T/err"
  grep -q warning "$T/err" && bad "7: ${cmd%% *} -c 512 warns" || true
  rm -rf "$T/w.jsonl" "$T/wfs"
done
# serve alike: its ready line names the context (-c: the KV cache requests share, and the longest
# request's context); without -c the trained context; beyond it one warning at load
serve_ctx() {   # serve_ctx ARGS...: start, wait for the ready line, SIGTERM; prints "context N, W warnings"
  "$BIN" serve -m $M --port 0 -t 1 --parallel 2 "$@" >"$T/sout" 2>"$T/err" & local pid=$!
  for _ in $(seq 300); do grep -q "listening on" "$T/sout" && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  kill -TERM $pid 2>/dev/null; wait $pid
  echo "$(grep -o 'context [0-9]*' "$T/sout"), $(grep -c warning "$T/err") warnings"
}
r=$(serve_ctx); [ "$r" = "context 512, 0 warnings" ] && ok "7: serve: context 512, no warning" || bad "7: serve: $r: $(cat "$T/err")"
r=$(serve_ctx -c 1024)
[ "$r" = "context 1024, 1 warnings" ] && grep -q "warning: -c 1024 is beyond the model's trained context of 512 tokens" "$T/err" \
  && ok "7: serve -c 1024: runs, one warning" || bad "7: serve -c 1024: $r: $(cat "$T/err")"
r=$(serve_ctx -c 512); [ "$r" = "context 512, 0 warnings" ] && ok "7: serve -c 512: no warning" || bad "7: serve -c 512: $r"
# -n beyond the context: every candidate stops exactly at the context (128 - prompt tokens)
P="Once upon a time there was a little girl named Lily who loved to play in the park with her"
PT=$(ntok $S "$P")
expect 0 "generation: $((128 - PT)) tokens" "$BIN" generate -m $S -p "$P" -n 1048576 --ignore-eos --seed 1 -t 1

# ---- 16. automatic KV sizing (the page each fork copies counted; no overflow; an oversize need names the flags)
expect 0 "in 200 candidates" "$BIN" bon -m $S -p "$P" -N 200 -n 20 --ignore-eos --seed 1 -t 2
[ "$(grep -c '^candidate [0-9]*: 20 tokens' "$T/err")" -eq 200 ] && ok "16: bon -N 200 -n 20: 200 candidates of 20 tokens" || bad "16: bon -N 200 candidates"
expect 1 "more than the maximum 4194304: lower -N or -n" "$BIN" bon -m $L -p "Once upon" -N 1024 -n 1048576 -t 1
expect 1 "more than the maximum 4194304: lower -N, --parallel or -n" "$BIN" eval -m $L --data "$T/d2.jsonl" -N 1024 -n 1048576 --parallel 2 --out "$T/big.jsonl" -t 1
[ ! -e "$T/big.jsonl" ] && ok "16: no results file from the refused eval" || bad "16: results file left"
# the issue's command on a model whose context fits: 2 questions x 1024 candidates, each to the context
expect 0 "" "$BIN" eval -m $S --data "$T/d2.jsonl" -N 1024 -n 1048576 --parallel 2 --ignore-eos --seed 1 --out "$T/k.jsonl" -t 2
python3 - "$T/k.jsonl" "$(ntok $S "$(sed -n 1p "$T/d2.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["question"], end="")')")" \
  "$(ntok $S "$(sed -n 2p "$T/d2.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["question"], end="")')")" <<'PY' \
  && ok "16: eval -N 1024 -n 1048576 --parallel 2: every candidate has 128 - prompt tokens" || bad "16: candidate lengths"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])][1:]
want = {0: 128 - int(sys.argv[2]), 1: 128 - int(sys.argv[3])}
assert len(lines) == 2
for q in lines:
    n = [c["tokens"] for c in q["candidates"]]
    assert len(n) == 1024 and set(n) == {want[q["index"]]}, (q["index"], set(n), want)
PY

# ---- 8. a NUL byte in a prompt or data file: refused with the file and its byte offset
printf 'Once upon a time\0and the rest %.0s' $(seq 100) > "$T/nul.txt"
for cmd in generate bon dump; do expect 1 "nul.txt: byte offset 16: NUL byte" "$BIN" $cmd -m $S -f "$T/nul.txt" -n 2 -t 1; done
expect 1 "nul.txt: byte offset 16: NUL byte" "$BIN" tokenize -m $S -f "$T/nul.txt"
{ sed -n 1p "$T/d2.jsonl"; printf '\0'; sed -n 2p "$T/d2.jsonl"; } > "$T/nul.jsonl"
OFF=$(( $(sed -n 1p "$T/d2.jsonl" | wc -c) ))
expect 1 "nul.jsonl: byte offset $OFF: NUL byte" "$BIN" eval -m $M --data "$T/nul.jsonl" --out "$T/n.jsonl" -n 2 -t 1
expect 1 "nul.jsonl: byte offset $OFF: NUL byte" "$BIN" swift-collect -m $M --data "$T/nul.jsonl" --out "$T/nfs" -N 2 -n 2 -t 1
[ ! -e "$T/n.jsonl" ] && ok "8: no results file" || bad "8: results file left"

# ---- 15. size limits: endless or binary inputs end at once with the bound, in bounded memory
# (in 1.5 GB of address space; an ASan build cannot run under ulimit -v: its shadow memory needs terabytes)
ASAN=; nm "$BIN" 2>/dev/null | grep -q __asan_init && ASAN=1
lim() { ( [ -n "$ASAN" ] || ulimit -v 1500000; exec timeout 60 "$@" ); }
expect 1 "/dev/zero: byte offset 0: NUL byte" lim "$BIN" generate -m $S -f /dev/zero -n 2
expect 1 "/dev/zero: byte offset 0: NUL byte" lim "$BIN" eval -m $S --data /dev/zero --out "$T/z.jsonl"
expect 1 "/dev/urandom: byte offset [0-9]*: NUL byte" lim "$BIN" tokenize -m $S -f /dev/urandom
expect 1 "larger than the limit of 64 MiB" lim "$BIN" generate -m $S -f <(yes) -n 2
expect 1 "larger than the limit of 64 MiB" lim "$BIN" tokenize -m $S -f <(yes)
expect 1 "larger than the limit of 256 MiB" lim "$BIN" eval -m $S --data <(yes '{"question": "1+1", "answer": "#### 2"}') --out "$T/y.jsonl"

# ---- 17. write errors on stdout: exit 1 with the errno text
for cmd in "generate -m $S -p Once -n 4" "bon -m $S -p Once -n 4 -N 2" "info $S" "dump -m $S -p Once -n 2" "tokenize -m $S -p Once" \
           "eval -m $M --data $T/d2.jsonl --limit 1 -n 2 --out $T/f.jsonl"; do
  "$BIN" $cmd --seed 1 2>/dev/null >/dev/null; [ $? -eq 2 ] && cmd="${cmd}" || cmd="$cmd --seed 1"   # info/tokenize take no --seed
  "$BIN" $cmd > "$DEVFULL" 2>"$T/err"; rc=$?
  [ $rc -eq 1 ] && grep -q "slotswift ${cmd%% *}: stdout: write failed: No space left on device" "$T/err" \
    && ok "17: ${cmd%% *} > /dev/full: exit 1 with the errno text" || bad "17: ${cmd%% *} > /dev/full: rc $rc: $(cat "$T/err")"
done

# ---- 18. messages that name the cause
mkdir "$T/adir"
expect 1 "adir: is a directory, not a file" "$BIN" generate -m $S -f "$T/adir"
expect 1 "adir: is a directory, not a file" "$BIN" eval -m $S --data "$T/adir" --out "$T/x.jsonl"
expect 1 "adir: is a directory, not a file" "$BIN" tokenize -m $S -f "$T/adir"
expect 1 "^slotswift generate: the prompt is empty (no tokens)$" "$BIN" generate -m $M -p "" -n 2
[ "$(wc -l < "$T/err")" -eq 1 ] && ok "18: generate -p '': no blank line before the error" || bad "18: generate -p '': $(od -c "$T/err" | head -2)"
expect 1 "^slotswift bon: the prompt is empty (no tokens)$" "$BIN" bon -m $M -p "" -n 2
: > "$T/afile"
expect 1 "afile/r.jsonl: cannot open for writing: Not a directory" "$BIN" eval -m $M --data "$T/d2.jsonl" --out "$T/afile/r.jsonl"
# info describes a SWIFT head file
python3 tests/toy_store.py "$T/st"
"$BIN" swift-train --in "$T/st" --out "$T/head.gguf" --epochs 2 --val 0 -q >/dev/null 2>&1 || bad "18: swift-train"
expect 0 "" "$BIN" info "$T/head.gguf"
grep -q "^file: .*(SWIFT reward head)" "$T/out" && grep -q "^for model: *toy (fingerprint 00000000deadbeef)" "$T/out" \
  && grep -q "layers 2, dim 4" "$T/out" && ok "18: info describes a SWIFT head" || bad "18: info head: $(cat "$T/out")"
"$BIN" info --json "$T/head.gguf" | python3 -c "
import json, sys; o = json.load(sys.stdin)
assert o['kind'] == 'swift-head' and o['dim'] == 4 and o['layer_list'] == [2] and o['model_name'] == 'toy'" \
  && ok "18: info --json on a SWIFT head" || bad "18: info --json head"

# ---- 19. sampling without --seed: a random seed, printed, recorded, and repeatable
for i in 1 2; do "$BIN" generate -m $S -p "Once upon" -n 16 --temp 1 -t 1 >"$T/g$i" 2>"$T/e$i"; done
s1=$(sed -n 's/^slotswift generate: seed \([0-9]*\) (random; --seed \1 repeats this run)$/\1/p' "$T/e1")
s2=$(sed -n 's/^slotswift generate: seed \([0-9]*\) (random; --seed \1 repeats this run)$/\1/p' "$T/e2")
[ -n "$s1" ] && [ -n "$s2" ] && [ "$s1" != "$s2" ] && ok "19: two runs, two printed seeds ($s1, $s2)" || bad "19: seeds: $(cat "$T/e1" "$T/e2")"
"$BIN" generate -m $S -p "Once upon" -n 16 --temp 1 -t 1 --seed "$s1" >"$T/g3" 2>"$T/e3"
cmp -s "$T/g1" "$T/g3" && ! grep -q "seed" "$T/e3" && ok "19: --seed $s1 repeats the first run" || bad "19: --seed does not repeat the run"
"$BIN" generate -m $S -p "Once upon" -n 4 --temp 0 -t 1 >/dev/null 2>"$T/e4"
grep -q seed "$T/e4" && bad "19: a greedy run prints a seed" || ok "19: greedy: no seed"
"$BIN" bon -m $S -p "Once upon" -n 4 -N 2 -t 1 >/dev/null 2>"$T/e5"
grep -q "^slotswift bon: seed [0-9]* (random" "$T/e5" && ok "19: bon prints its seed" || bad "19: bon: $(cat "$T/e5")"
# eval records the seed it used; a resume without --seed continues with it (same file as one run)
E="-m $M --data $T/d2.jsonl -N 2 -n 12 --temp 0.8 -t 1"
"$BIN" eval $E --limit 1 --out "$T/r.jsonl" >/dev/null 2>"$T/e6"
se=$(sed -n 's/^slotswift eval: seed \([0-9]*\) (random.*/\1/p' "$T/e6")
head -1 "$T/r.jsonl" | grep -q "\"--seed\":\"$se\"" && [ -n "$se" ] && ok "19: eval records the printed seed $se" || bad "19: eval seed: $(cat "$T/e6")"
expect 0 "resuming: 1 of 2" "$BIN" eval $E --out "$T/r.jsonl"
grep -q "seed" "$T/err" && bad "19: the resume printed a new seed" || true
"$BIN" eval $E --seed "$se" --out "$T/r2.jsonl" >/dev/null 2>&1
python3 - "$T/r.jsonl" "$T/r2.jsonl" <<'PY' && ok "19: resumed without --seed = one run with --seed" || bad "19: resume with the recorded seed differs"
import json, sys
a, b = ([{k: v for k, v in json.loads(l).items() if k != 'seconds'} for l in open(f)] for f in sys.argv[1:])
sys.exit(0 if a == b else 1)
PY
"$BIN" swift-collect $E --limit 1 --out "$T/cfs" >/dev/null 2>"$T/e7"
sc=$(sed -n 's/^slotswift swift-collect: seed \([0-9]*\) (random.*/\1/p' "$T/e7")
[ -n "$sc" ] && [ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["collect"]["--seed"])' "$T/cfs/meta.json")" = "$sc" ] && ok "19: swift-collect records the printed seed" || bad "19: collect seed: $(cat "$T/e7")"
expect 0 "resuming" "$BIN" swift-collect $E --out "$T/cfs"
exit $fail
