#!/usr/bin/env bash
# test_cli.sh — generate / dump / bon / eval from the command line: output, exit codes and one-line
# errors for bad input (bad flags, prompt over the context, unknown architecture, missing files).
set -u
BIN=${SS_BIN:-build/slotswift}
S=../shared
ST=$S/models/stories260K-f32.gguf
TM=$S/testbed/tinymath-f32.gguf
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/expect.sh"   # ok / bad / expect / expect_rc, fail=0
# the error is one line naming what is wrong
expect_err() {
  if grep -q -- "$1" "$T/err" && [ "$(wc -l <"$T/err")" -le 2 ]; then ok "message has '$1'"; else bad "message lacks '$1': $(head -3 "$T/err")"; fi
}

# greedy generation (the token ids are compared with llama.cpp's in test_golden)
expect_rc 0 "$BIN" generate -m "$ST" -f $S/golden/prompts/story1.txt -n 48 --temp 0
grep -q "tok/s" "$T/err" && ok "speed on stderr" || bad "no tok/s on stderr"
# same seed, same text; another seed, another text
expect_rc 0 "$BIN" generate -m "$ST" -p "Once upon a time" -n 40 --temp 1.0 --seed 42
cp "$T/out" "$T/a"
expect_rc 0 "$BIN" generate -m "$ST" -p "Once upon a time" -n 40 --temp 1.0 --seed 42
cmp -s "$T/out" "$T/a" && ok "same seed same text" || bad "same seed gave different text"
expect_rc 0 "$BIN" generate -m "$ST" -p "Once upon a time" -n 40 --temp 1.0 --seed 43
cmp -s "$T/out" "$T/a" && bad "different seeds gave the same text" || ok "different seed different text"
# stop string: output ends before it
expect_rc 0 "$BIN" generate -m "$ST" -p "Once upon a time" -n 64 --temp 0 --stop "Lily"
grep -q "Lily" "$T/out" && bad "stop string printed" || ok "stopped at the stop string"
# chat template + tinymath: the model's answer to its README example
expect_rc 0 "$BIN" generate -m "$TM" --chat -p "Jack has 47 stamps. Adam has 18 more stamps than Jack. He shares all of his stamps equally among 5 neighbors. How many stamps does each of his neighbors get?" -n 100 --temp 0
grep -q "The answer is 13." "$T/out" && ok "tinymath answers 13" || bad "tinymath answer: $(cat "$T/out")"
# SLOT flags print each step's loss
expect_rc 0 "$BIN" generate -m "$TM" --chat -p "Max has 5 apples. He buys 3 more. How many apples does Max have now?" -n 40 --temp 0 --slot-steps 3 --slot-lr 0.1
[ "$(grep -c '^slot: step' "$T/err")" -eq 3 ] && ok "3 SLOT losses on stderr" || bad "SLOT losses missing: $(cat "$T/err")"
expect_rc 0 "$BIN" generate -m "$TM" --chat -p "Max has 5 apples. He buys 3 more. How many apples does Max have now?" -n 40 --temp 0 --slot-steps 2 --slot-span user
expect_rc 2 "$BIN" generate -m "$TM" -p "x y" --slot-steps 2 --slot-span "bad"
expect_rc 1 "$BIN" generate -m "$TM" -p "x y z" --slot-steps 2 --slot-span "9:9"
# dump: golden keys
expect_rc 0 "$BIN" dump -m "$ST" -f $S/golden/prompts/story1.txt --hidden -n 4
python3 -c "import json,sys; d=json.load(open('$T/out')); assert set(d)=={'n_vocab','n_embd','prompt_tokens','topk','hidden','greedy'}, d.keys(); assert len(d['topk'][0])==8" && ok "dump keys" || bad "dump keys"
expect_rc 0 "$BIN" dump -m "$ST" -f $S/golden/prompts/story2.txt -n 4 --slot-steps 2
python3 -c "import json; d=json.load(open('$T/out')); s=d['slot']; assert len(s['loss_before_each_step'])==2 and len(s['delta'])==64 and s['loss_after']<s['loss_before_each_step'][0]" && ok "dump slot object" || bad "dump slot object"
# bon --json
expect_rc 0 "$BIN" bon -m "$TM" --chat -p "Max has 5 apples. He buys 3 more. How many apples does Max have now?" -N 4 --temp 0.8 --top-p 0.95 -n 60 --json
python3 -c "
import json; d=json.load(open('$T/out'))
assert d['select']=='vote' and 0<=d['selected']<4 and len(d['candidates'])==4
for c in d['candidates']: assert set(c)>={'text','answer','tokens','logprob_mean','logprob_min','swift','votes'}
" && ok "bon json" || bad "bon json: $(head -c 300 "$T/out")"

# ---- bad input ----
expect_rc 2 "$BIN" generate -m "$ST" -p "x" --temp abc;      expect_err "temp"
expect_rc 2 "$BIN" generate -m "$ST" -p "x" --no-such-flag;  expect_err "no-such-flag"
expect_rc 2 "$BIN" generate -m "$ST" -p "x" -n;              expect_err "missing value"
expect_rc 2 "$BIN" generate -m "$ST";                        expect_err "prompt"
expect_rc 2 "$BIN" bon -m "$ST" -p "x" --select best;        expect_err "select"
expect_rc 2 "$BIN" nonsense;                                 expect_err "unknown command"
expect_rc 1 "$BIN" generate -m "$T/missing.gguf" -p "x";     expect_err "missing.gguf"
expect_rc 1 "$BIN" generate -m "$ST" -p "Once upon a time there was a girl who liked to play" -c 8; expect_err "context"
expect_rc 1 "$BIN" dump -m "$ST" -p "Once upon a time there was a girl who liked to play" -c 8; expect_err "context"
# unknown architecture: rename the architecture string inside a copy
python3 - "$ST" "$T/arch.gguf" <<'PY'
import sys
b = open(sys.argv[1], 'rb').read()
open(sys.argv[2], 'wb').write(b.replace(b'llama', b'lxama'))
PY
expect_rc 1 "$BIN" generate -m "$T/arch.gguf" -p "x";        expect_err "architecture"
# truncated model
head -c 300000 "$ST" > "$T/trunc.gguf"
expect_rc 1 "$BIN" generate -m "$T/trunc.gguf" -p "x";       expect_err "trunc.gguf"
# chat without a template
expect_rc 1 "$BIN" generate -m "$ST" --chat -p "x";          expect_err "template"
exit $fail
