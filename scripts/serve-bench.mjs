// scripts/serve-bench.mjs URL K [extra|slot] — K streaming clients against an OpenAI-compatible server
// (slotswift serve or llama-server), the same requests for both: each client sends R = 3
// /v1/completions requests in a row, every one with its own 128-token prompt (no prompt is a prefix
// of another: neither server's prompt cache helps), 128 generated tokens (ignore_eos: always the full
// length), greedy (temperature 0), streamed. One untimed warm-up request first. Prints one JSON line:
// aggregate generated tokens/s (the servers' own usage counts / wall time), time to first token
// p50/p99 (ms from sending the request to the first streamed text), inter-token latency p50/p99 (ms
// between streamed text events). With "extra" or "slot", one more client sends one more request 2 s
// into the run, plain or with 5 SLOT steps ("slot": {"steps": 5}); its own latencies are not counted:
// the others' inter-token latencies show what it costs them.
// With SERVER_PID set, also the server's CPU seconds during the run and generated tokens per CPU second
// (less sensitive than tokens/s to other processes on the machine).
import { readFileSync } from 'node:fs';
const [url, Ks, mode = ''] = process.argv.slice(2);
const pid = process.env.SERVER_PID;
// user + system CPU seconds of every thread of the server so far (/proc/PID/stat fields 14, 15; 100 ticks/s)
const cpu = () => { if (!pid) return NaN; const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (+f[11] + +f[12]) / 100; };
const K = Number(Ks), R = 3, N_PROMPT = 128, N_GEN = 128;
const base = 'The history of the city begins with a small market by the river, where traders met each spring. ' +
  'Over the years the market grew into a town with stone houses, a bridge and a harbour for the boats that ' +
  'carried wool, salt and grain to the coast. ';
async function post(path, body) {
  const r = await fetch(`${url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}: ${await r.text()}`);
  return r;
}
const ntok = async (text) => (await (await post('/tokenize', { content: text })).json()).tokens.length;
// prompt number i: "Record i." then the text, cut at a word boundary to at most N_PROMPT tokens
async function makePrompt(i) {
  let p = `Record ${i}. ` + base.repeat(4), n = await ntok(p);
  while (n > N_PROMPT) { p = p.slice(0, p.lastIndexOf(' ')); n = await ntok(p); }
  return [p, n];
}
const prompts = [];
for (let i = 0; i <= K * R + 1; i++) prompts.push(await makePrompt(i));
const ttft = [], itl = [];
let gen = 0;
async function one(prompt, extra, record) {
  const t0 = performance.now();
  const r = await post('/v1/completions', { prompt, max_tokens: N_GEN, temperature: 0, ignore_eos: true, stream: true,
    stream_options: { include_usage: true }, ...extra });
  const rd = r.body.getReader(), dec = new TextDecoder();
  let last = 0, buf = '', used = -1, events = 0;
  for (;;) {
    const { value, done } = await rd.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let k;
    while ((k = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, k); buf = buf.slice(k + 2);
      if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue;
      const j = JSON.parse(ev.slice(6));
      if (j.error) throw new Error(JSON.stringify(j.error));
      if (j.usage) used = j.usage.completion_tokens;
      if (!j.choices?.[0]?.text) continue;
      const now = performance.now();
      events++;
      if (record) { if (!last) ttft.push(now - t0); else itl.push(now - last); }
      last = now;
    }
  }
  if (used < 0) used = events;   // (a server without usage in its stream: one event per token)
  const want = extra.max_tokens ?? N_GEN;
  if (used !== want) throw new Error(`a request generated ${used} tokens, not ${want}`);
  if (record) gen += used;
}
await one(prompts[K * R + 1][0], { max_tokens: 8 }, false);   // warm-up
const t0 = performance.now(), cpu0 = cpu();
const clients = [...Array(K).keys()].map(async (c) => { for (let i = 0; i < R; i++) await one(prompts[c * R + i][0], {}, true); });
if (mode === 'slot' || mode === 'extra')
  clients.push((async () => {
    await new Promise((r) => setTimeout(r, 2000));
    await one(prompts[K * R][0], mode === 'slot' ? { slot: { steps: 5 } } : {}, false);
  })());
await Promise.all(clients);
const wall = (performance.now() - t0) / 1000, cpu_s = cpu() - cpu0;
const q = (a, p) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN; };
const np = prompts.map((p) => p[1]);
console.log(JSON.stringify({ K, mode: mode || 'plain', prompt_tokens: [Math.min(...np), Math.max(...np)], requests: K * R,
  gen_tokens: gen, tok_s: +(gen / wall).toFixed(1),
  ttft_p50_ms: +q(ttft, 0.5).toFixed(1), ttft_p99_ms: +q(ttft, 0.99).toFixed(1),
  itl_p50_ms: +q(itl, 0.5).toFixed(2), itl_p99_ms: +q(itl, 0.99).toFixed(2),
  cpu_s: +cpu_s.toFixed(1), tok_per_cpu_s: +(gen / cpu_s).toFixed(1) }));
