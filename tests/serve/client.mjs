// client.mjs — `slotswift serve` through the official OpenAI Node client (npm `openai`).
// Run by tests/test_serve.sh, which starts the servers and computes the expected texts with the CLI:
//   SS_CHAT_URL (tinymath, chat), SS_TEXT_URL (stories260K, completions), SS_KEY, SS_EXP (a directory:
//   greedy.txt = `generate --chat --temp 0`, comp.txt = `generate --temp 0`, bon.txt = `bon --select
//   logprob`, bonswift.txt = `bon --swift`, slot.txt = `generate --slot-steps 3 --temp 0`, q.txt = the question,
//   bonmargin-M-G.json = `bon --adaptive-wave 2 --adaptive-margin M --adaptive-gamma G --json`)
import OpenAI from 'openai';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';

const exp = (f) => readFileSync(`${process.env.SS_EXP}/${f}`, 'utf8').replace(/\n$/, '');
const Q = exp('q.txt');
const chat = new OpenAI({ baseURL: process.env.SS_CHAT_URL, apiKey: process.env.SS_KEY, maxRetries: 0 });
const text = new OpenAI({ baseURL: process.env.SS_TEXT_URL, apiKey: 'unused', maxRetries: 0 });
const user = [{ role: 'user', content: Q }];
let n_ok = 0;
const ok = (name) => { n_ok++; console.log(`ok   ${name}`); };

// models
const models = await chat.models.list();
assert.equal(models.data.length, 1);
assert.equal(models.data[0].id, 'tinymath');
assert.equal(models.data[0].object, 'model');
ok('models.list');

// plain chat, greedy == `slotswift generate --chat --temp 0`
const r1 = await chat.chat.completions.create({ model: 'tinymath', messages: user, temperature: 0, max_tokens: 48 });
assert.equal(r1.object, 'chat.completion');
assert.match(r1.id, /^chatcmpl-/);
assert.equal(r1.choices.length, 1);
assert.equal(r1.choices[0].message.role, 'assistant');
assert.equal(r1.choices[0].message.content, exp('greedy.txt'));
assert.ok(['stop', 'length'].includes(r1.choices[0].finish_reason));
assert.equal(r1.usage.total_tokens, r1.usage.prompt_tokens + r1.usage.completion_tokens);
assert.ok(r1.usage.prompt_tokens > 10 && r1.usage.completion_tokens > 0);
ok('chat greedy == generate --temp 0');

// max_completion_tokens is max_tokens; the system role is rendered by the template
const r1b = await chat.chat.completions.create({ model: 'tinymath', messages: user, temperature: 0, max_completion_tokens: 2 });
assert.equal(r1b.usage.completion_tokens, 2);
assert.equal(r1b.choices[0].finish_reason, 'length');
assert.ok(exp('greedy.txt').startsWith(r1b.choices[0].message.content));
ok('max_completion_tokens: length');

// streamed with include_usage: the deltas concatenate to the same text
const st = await chat.chat.completions.create({ model: 'tinymath', messages: user, temperature: 0, max_tokens: 48,
                                                stream: true, stream_options: { include_usage: true } });
let s = '', role = null, finish = null, usage = null, chunks = 0;
for await (const c of st) {
  chunks++;
  assert.equal(c.object, 'chat.completion.chunk');
  if (c.usage) { usage = c.usage; assert.equal(c.choices.length, 0); continue; }
  const d = c.choices[0].delta;
  if (d.role) role = d.role;
  if (d.content) s += d.content;
  if (c.choices[0].finish_reason) finish = c.choices[0].finish_reason;
}
assert.equal(s, exp('greedy.txt'));
assert.equal(role, 'assistant');
assert.equal(finish, r1.choices[0].finish_reason);
assert.deepEqual(usage, r1.usage);
assert.ok(chunks >= 3);
ok('chat stream + include_usage == plain');

// n: 3 — candidate i draws with seed + i: choice 1 of seed 20 == choice 0 of seed 21
const r3 = await chat.chat.completions.create({ model: 'tinymath', messages: user, n: 3, seed: 20, temperature: 1.0, max_tokens: 32 });
assert.equal(r3.choices.length, 3);
assert.deepEqual(r3.choices.map((c) => c.index), [0, 1, 2]);
const r3b = await chat.chat.completions.create({ model: 'tinymath', messages: user, seed: 21, temperature: 1.0, max_tokens: 32 });
assert.equal(r3.choices[1].message.content, r3b.choices[0].message.content);
ok('n: 3 (choice i == seed + i alone)');

// streamed n: 2 gives each choice's text by index, equal to the plain response
const st2 = await chat.chat.completions.create({ model: 'tinymath', messages: user, n: 2, seed: 20, temperature: 1.0, max_tokens: 32, stream: true });
const parts = ['', ''];
for await (const c of st2) for (const ch of c.choices) parts[ch.index] += ch.delta.content ?? '';
assert.deepEqual(parts, [r3.choices[0].message.content, r3.choices[1].message.content]);
ok('stream n: 2 == plain n: 3 first two');

// logprobs + top_logprobs
const rl = await chat.chat.completions.create({ model: 'tinymath', messages: user, temperature: 0, max_tokens: 8, logprobs: true, top_logprobs: 3 });
const lc = rl.choices[0].logprobs.content;
assert.equal(lc.length, rl.usage.completion_tokens);
let joined = '';
for (const t of lc) {
  assert.equal(t.top_logprobs.length, 3);
  assert.equal(t.top_logprobs[0].token, t.token);            // greedy: the most likely token
  assert.equal(t.top_logprobs[0].logprob, t.logprob);
  for (let k = 1; k < 3; k++) assert.ok(t.top_logprobs[k].logprob <= t.top_logprobs[k - 1].logprob);
  const p = t.top_logprobs.reduce((a, x) => a + Math.exp(x.logprob), 0);
  assert.ok(t.logprob <= 0 && p <= 1 + 1e-5);
  assert.deepEqual(t.bytes, [...Buffer.from(t.token, 'utf8')]);
  joined += t.token;
}
assert.ok(exp('greedy.txt').startsWith(rl.choices[0].message.content));
ok('logprobs + top_logprobs');

// completions (no chat template) == `slotswift generate --temp 0`
const c1 = await text.completions.create({ model: 'x', prompt: 'Once upon a time', temperature: 0, max_tokens: 40 });
assert.equal(c1.object, 'text_completion');
assert.equal(c1.choices[0].text, exp('comp.txt'));
ok('completions greedy == generate --temp 0');
const cs = await text.completions.create({ model: 'x', prompt: 'Once upon a time', temperature: 0, max_tokens: 40, stream: true });
let cst = '';
for await (const c of cs) { assert.equal(c.object, 'text_completion'); cst += c.choices[0]?.text ?? ''; }
assert.equal(cst, exp('comp.txt'));
ok('completions stream == plain');
const c2 = await text.completions.create({ model: 'x', prompt: ['Once upon a time', 'Once upon a time'], temperature: 0, max_tokens: 40, logprobs: 2 });
assert.equal(c2.choices.length, 2);
assert.deepEqual(c2.choices.map((c) => c.text), [exp('comp.txt'), exp('comp.txt')]);
assert.equal(c2.choices[0].logprobs.tokens.length, c2.choices[0].logprobs.token_logprobs.length);
assert.equal(c2.choices[0].logprobs.top_logprobs[0] && Object.keys(c2.choices[0].logprobs.top_logprobs[0]).length <= 2, true);
ok('completions: prompt array, logprobs');
const c3 = await text.completions.create({ model: 'x', prompt: 'Once upon a time', temperature: 0, max_tokens: 40, stop: ['.'] });
assert.equal(c3.choices[0].text, exp('comp.txt').split('.')[0]);
assert.equal(c3.choices[0].finish_reason, exp('comp.txt').includes('.') ? 'stop' : 'length');
ok('completions: stop');

// extensions through extra body fields
const b1 = await chat.chat.completions.create({ model: 'tinymath', messages: user, temperature: 0.8, seed: 11, max_tokens: 48,
                                                best_of: 4, select: 'logprob' });
assert.equal(b1.choices.length, 1);
assert.equal(b1.choices[0].message.content, exp('bon.txt'));
assert.equal(typeof b1.choices[0].logprob_mean, 'number');
assert.ok('answer' in b1.choices[0]);
assert.ok(b1.usage.completion_tokens >= 4);
ok('best_of 4 select logprob == bon --select logprob');
const b2 = await chat.chat.completions.create({ model: 'tinymath', messages: user, temperature: 0.8, seed: 11, max_tokens: 48,
                                                best_of: 4, n: 2, select: 'vote' });
assert.equal(b2.choices.length, 2);
for (const c of b2.choices) assert.equal(typeof c.votes, 'number');
assert.ok(b2.choices[0].votes >= b2.choices[1].votes);
ok('best_of 4 n 2 select vote: votes');
const b4 = await chat.chat.completions.create({ model: 'tinymath', messages: user, temperature: 0.8, seed: 11, max_tokens: 48,
                                                best_of: 4, select: 'vote', early_stop: true });
assert.equal(b4.choices[0].message.content, exp('bonvote.txt'));   // the full vote's choice (bon without early stop)
for (const c of b4.choices) assert.ok(c.stopped === undefined || c.stopped === true);
await assert.rejects(chat.chat.completions.create({ model: 'tinymath', messages: user, best_of: 2, select: 'logprob', early_stop: true }),
                     (e) => e.status === 400 && e.error?.param === 'early_stop');
ok('best_of 4 select vote early_stop == bon --select vote');
const b5 = await chat.chat.completions.create({ model: 'tinymath', messages: user, temperature: 0.8, seed: 11, max_tokens: 48,
                                                best_of: 4, n: 4, select: 'vote', adaptive: 2, adaptive_agree: 0.5,
                                                adaptive_conf: 0.85, adaptive_tokp: 0.99 });
assert.equal(b5.choices.length, 4);
assert.ok(b5.choices.every((c) => c.stopped === undefined ? c.message.content.length > 0 : c.stopped === true));
await assert.rejects(chat.chat.completions.create({ model: 'tinymath', messages: user, best_of: 2, adaptive: true }),
                     (e) => e.status === 400 && e.error?.param === 'adaptive');
await assert.rejects(chat.chat.completions.create({ model: 'tinymath', messages: user, best_of: 2, select: 'vote', adaptive: true,
                                                    adaptive_tokp: 2 }),
                     (e) => e.status === 400 && e.error?.param === 'adaptive_tokp');
ok('best_of adaptive: first wave of 2, thresholds; refused without select vote or out of range');
for (const [margin, gamma] of [[0.25, 24], [0.22, 20]]) {   // == bon --adaptive-wave 2 --adaptive-margin M --adaptive-gamma G --json
  const ref = JSON.parse(exp(`bonmargin-${margin}-${gamma}.json`));
  const r = await chat.chat.completions.create({ model: 'tinymath', messages: user, temperature: 0.8, seed: 40, max_tokens: 48,
                                                 best_of: 4, n: 4, select: 'vote', adaptive: 2, adaptive_margin: margin,
                                                 adaptive_gamma: gamma });
  const sel = ref.candidates[ref.selected];
  assert.equal(r.choices[0].candidate, ref.selected);
  assert.equal(r.choices[0].message.content, sel.text);
  assert.equal(r.choices[0].answer, sel.answer);
  for (const c of r.choices) assert.equal(c.stopped ?? false, ref.candidates[c.candidate].stopped ?? false);
  if (gamma === 24) assert.ok(ref.candidates.some((c) => c.votes > sel.votes));   // the plain vote would pick another answer
  else assert.ok(ref.candidates.some((c) => c.stopped));
}
await assert.rejects(chat.chat.completions.create({ model: 'tinymath', messages: user, best_of: 2, select: 'vote', adaptive: true,
                                                    adaptive_margin: -1 }),
                     (e) => e.status === 400 && e.error?.param === 'adaptive_margin');
await assert.rejects(chat.chat.completions.create({ model: 'tinymath', messages: user, best_of: 2, select: 'vote', adaptive: true,
                                                    adaptive_margin: 0.2, adaptive_gamma: 'x' }),
                     (e) => e.status === 400 && e.error?.param === 'adaptive_gamma');
ok('best_of adaptive_margin / adaptive_gamma == bon --adaptive-margin / --adaptive-gamma (weighted vote, stops); bad values 400');
const b3 = await chat.chat.completions.create({ model: 'tinymath', messages: user, temperature: 0.8, seed: 11, max_tokens: 48,
                                                best_of: 3, swift_head: 'h' });
assert.equal(b3.choices[0].message.content, exp('bonswift.txt'));
assert.equal(typeof b3.choices[0].swift, 'number');
ok('best_of 3 swift_head == bon --swift');
const sl = await chat.chat.completions.create({ model: 'tinymath', messages: user, temperature: 0, max_tokens: 48, slot: { steps: 3, lr: 0.1 } });
assert.equal(sl.choices[0].message.content, exp('slot.txt'));
assert.equal(sl.slot.losses.length, 3);
assert.ok(sl.slot.losses.every((x) => Number.isFinite(x)) && sl.slot.seconds >= 0);
const slexp = exp('slot_losses.txt').split('\n').map(Number);
for (let i = 0; i < 3; i++) assert.ok(Math.abs(sl.slot.losses[i] - slexp[i]) <= 1e-5, `slot loss ${i}: ${sl.slot.losses[i]} vs ${slexp[i]}`);   // printed %.6f
ok('slot: steps 3 == generate --slot-steps 3 (text and losses)');
const ss = await chat.chat.completions.create({ model: 'tinymath', messages: user, temperature: 0, max_tokens: 48, slot: { steps: 3, lr: 0.5, safe: true } });
assert.equal(ss.choices[0].message.content, exp('slotsafe.txt'));
assert.equal(ss.slot.kl.length, 3);
assert.equal(ss.slot.steps_done, 3);
assert.ok(ss.slot.kl.every((x) => x <= 0.05) && ss.slot.scale.some((x) => x < 1));
ok('slot: safe (trust region) == generate --slot-safe, KL within the bound');

// errors through the client
await assert.rejects(chat.chat.completions.create({ model: 'tinymath', messages: user, n: 0 }), (e) => e.status === 400 && e.error?.param === 'n');
await assert.rejects(new OpenAI({ baseURL: process.env.SS_CHAT_URL, apiKey: 'wrong', maxRetries: 0 }).models.list(), (e) => e.status === 401);
ok('errors: 400 n, 401 key');
console.log(`client: ${n_ok} passed`);
