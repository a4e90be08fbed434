#!/usr/bin/env bash
# test_gguf_refuse.sh — GGUF files the loader must refuse (issue 15, point 11) and models whose
# weights are not finite (point 9). The hostile files are copies of stories260K-f32 changed by
# tests/gguf_edit.py (its own GGUF reader/writer, standard library only). Each is refused by
# `generate` and by `info` with the same one line naming the file and the key or tensor; `info`
# still prints what the file says first when the metadata itself is readable. Seconds.
set -u
BIN=${SS_BIN:-build/slotswift}
S=../shared/models/stories260K-f32.gguf
T=$(mktemp -d /tmp/test_gguf_refuse.XXXXXX)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/expect.sh"   # ok / bad / expect / expect_rc, fail=0
edit() { python3 tests/gguf_edit.py "$S" "$T/$1.gguf" "${@:2}" || bad "gguf_edit.py $*"; }
# refused FILE PATTERN [META]: generate and info exit 1, stderr exactly one line matching PATTERN;
# META=meta: info printed the metadata (architecture line) before the error
refused() {
  local f=$T/$1.gguf pat=$2 meta=${3:-}
  "$BIN" generate -m "$f" -p "Once upon" -n 2 --temp 0 >"$T/out" 2>"$T/err"; local rc=$?
  if [ $rc -ne 1 ] || [ "$(grep -c . "$T/err")" -ne 1 ] || ! grep -q -- "$pat" "$T/err"; then
    bad "11: generate on $1: rc $rc: $(cat "$T/err")"; return; fi
  grep -q "$f" "$T/err" || { bad "11: the message does not name the file: $(cat "$T/err")"; return; }
  "$BIN" info "$f" >"$T/out" 2>"$T/err2"; rc=$?
  if [ $rc -ne 1 ] || ! cmp -s "$T/err" "$T/err2"; then bad "11: info on $1: rc $rc: $(cat "$T/err2") (generate: $(cat "$T/err"))"; return; fi
  if [ "$meta" = meta ] && ! grep -q "^architecture: *llama" "$T/out"; then bad "11: info on $1 printed no metadata"; return; fi
  ok "11: $1 refused by generate and info: $(cat "$T/err")"
}

# the editor itself: an unchanged copy is a valid model with the same output
edit same
"$BIN" generate -m "$S" -p "Once upon" -n 8 --temp 0 >"$T/a" 2>/dev/null
"$BIN" generate -m "$T/same.gguf" -p "Once upon" -n 8 --temp 0 >"$T/b" 2>/dev/null && cmp -s "$T/a" "$T/b" && [ -s "$T/a" ] \
  && ok "gguf_edit.py: an unchanged copy loads and generates the same text" || bad "gguf_edit.py copy differs"
"$BIN" info "$T/same.gguf" >/dev/null 2>&1 && ok "info accepts the unchanged copy" || bad "info refuses the unchanged copy"

# ---- 11. tensors: renamed, missing, foreign, extra blocks; block count; token ids; token list
edit renamed rename blk.1.attn_q.weight blk.1.attn_x.weight
refused renamed "tensor 'blk.1.attn_x.weight': not a tensor of a llama model" meta
edit missing drop blk.3.ffn_up.weight
refused missing "missing tensor 'blk.3.ffn_up.weight'" meta
edit foreign rename output_norm.weight norm.weight
refused foreign "tensor 'norm.weight': not a tensor of a llama model" meta
edit blocks_big set llama.block_count u32 100000
refused blocks_big "llama.block_count is 100000 but the file has the tensors of 5 blocks" meta
edit blocks_small set llama.block_count u32 3
refused blocks_small "llama.block_count is 3 but the file has the tensors of 5 blocks" meta
edit bias rename blk.0.attn_q.weight blk.0.attn_q.bias
refused bias "missing tensor 'blk.0.attn_q.weight'" meta
edit bos set tokenizer.ggml.bos_token_id u32 1000000000
refused bos "tokenizer.ggml.bos_token_id: 1000000000 is not a token id (the tokenizer has 512 tokens)"
edit eos set tokenizer.ggml.eos_token_id u32 512
refused eos "tokenizer.ggml.eos_token_id: 512 is not a token id (the tokenizer has 512 tokens)"
edit unk set tokenizer.ggml.unknown_token_id i32 600
refused unk "tokenizer.ggml.unknown_token_id: 600 is not a token id"
edit tokens10 tokens 10
refused tokens10 "tokenizer has 10 tokens but token_embd.weight has 512 rows" meta
# "not set" (2^32-1, as llama.cpp's converter writes it) is not an error: the shipped file has one
python3 - "$S" <<'PY' && ok "11: the shipped file's separator id 2^32-1 means 'not set'" || bad "11: no 2^32-1 id in the shipped file"
import sys
sys.exit(0 if b"tokenizer.ggml.seperator_token_id" in open(sys.argv[1], "rb").read(20000) else 1)
PY

# ---- 9. non-finite weights: an error naming the layer, from generate, bon, dump and eval
nan() {   # nan NAME TENSOR INDEX PATTERN
  edit "$1" nan "$2" "$3"
  for cmd in "generate -p Once -n 4 --temp 0" "bon -p Once -n 4 -N 3 --seed 1" "dump -p Once -n 2"; do
    "$BIN" $cmd -m "$T/$1.gguf" -t 1 >"$T/out" 2>"$T/err"; local rc=$?
    if [ $rc -eq 1 ] && [ "$(grep -c . "$T/err")" -eq 1 ] && grep -q -- "$4" "$T/err"; then ok "9: ${cmd%% *} on $2[$3] = NaN: $(cat "$T/err")"
    else bad "9: ${cmd%% *} on $2[$3] = NaN: rc $rc: $(cat "$T/err")"; fi
  done
  grep -q null "$T/out" && bad "9: dump printed null logits" || true
}
nan nan_q blk.2.attn_q.weight 5 "non-finite values (NaN or inf) in the hidden state after layer 2 (blk.2), sequence 0 position [01]"
nan nan_ffn blk.4.ffn_down.weight 7 "in the hidden state after layer 4 (blk.4)"
nan nan_emb token_embd.weight 64 "in the token embedding of token 1 (token_embd.weight), sequence 0 position 0"
nan nan_norm output_norm.weight 3 "after the output norm (output_norm.weight)"
nan nan_out output.weight 64 "in the logits (output.weight)"
# a NaN in the embedding row of a token the prompt does not use changes nothing: not an error
edit nan_unused nan token_embd.weight $((500 * 64))
"$BIN" generate -m "$T/nan_unused.gguf" -p "Once upon" -n 8 --temp 0 >"$T/b" 2>/dev/null && cmp -s "$T/a" "$T/b" \
  && ok "9: a NaN in an unused embedding row (token 500) is not reported; same text" || bad "9: unused NaN row"
printf '{"question":"Once upon a time","answer":"#### 1"}\n' > "$T/d.jsonl"
"$BIN" eval -m "$T/nan_q.gguf" --data "$T/d.jsonl" --out "$T/r.jsonl" -n 4 -t 1 >"$T/out" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "question 0: non-finite values (NaN or inf) in the hidden state after layer 2 (blk.2)" "$T/err" \
  && ok "9: eval stops at the question with the layer named" || bad "9: eval: rc $rc: $(cat "$T/err")"
exit $fail
