// scripts/serve-bench.mjs URL K [slot] — K streaming clients against an OpenAI-compatible server
// (slotswift serve or llama-server): each sends R=3 /v1/completions requests in a row with a
// 128-token prompt, 128 generated tokens (ignore_eos, temperature 0). Prints one JSON line:
// aggregate generated tokens/s, time to first token p50/p99, inter-token latency p50/p99 (ms).
// With "slot", one more client sends a request with 5 SLOT steps in the middle of the run (its own
// latencies are not counted): the others' p99 inter-token latency shows what SLOT costs them.
const [url, Ks, mode] = process.argv.slice(2);
const K = Number(Ks), R = 3;
// 128 tokens: "word " pieces are one token each in Llama/Qwen tokenizers; checked with /tokenize when available
let prompt = 'The history of the city begins with a small market by the river, where traders met each spring. '.repeat(8);
async function tokens(text) {
  try {
    const r = await fetch(`${url}/tokenize`, { method: 'POST', body: JSON.stringify({ content: text }) });
    return (await r.json()).tokens.length;
  } catch { return -1; }
}
let n = await tokens(prompt);
while (n > 128) { prompt = prompt.slice(0, prompt.lastIndexOf(' ')); n = await tokens(prompt); }
const ttft = [], itl = [];
let gen = 0;
async function one(extra, record) {
  const t0 = performance.now();
  const r = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt, max_tokens: 128, temperature: 0, ignore_eos: true, stream: true, ...extra }) });
  const rd = r.body.getReader(), dec = new TextDecoder();
  let last = 0, buf = '';
  for (;;) {
    const { value, done } = await rd.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let k;
    while ((k = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, k); buf = buf.slice(k + 2);
      if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue;
      const j = JSON.parse(ev.slice(6));
      if (!j.choices?.[0]?.text) continue;
      const now = performance.now();
      if (record) { if (!last) ttft.push(now - t0); else itl.push(now - last); gen++; }
      last = now;
    }
  }
}
const t0 = performance.now();
const clients = [...Array(K).keys()].map(async () => { for (let i = 0; i < R; i++) await one({}, true); });
if (mode === 'slot') clients.push((async () => { await new Promise((r) => setTimeout(r, 2000)); await one({ slot: { steps: 5 } }, false); })());
await Promise.all(clients);
const wall = (performance.now() - t0) / 1000;
const q = (a, p) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN; };
console.log(JSON.stringify({ K, prompt_tokens: n, requests: K * R, gen_tokens: gen, tok_s: +(gen / wall).toFixed(1),
  ttft_p50_ms: +q(ttft, 0.5).toFixed(1), ttft_p99_ms: +q(ttft, 0.99).toFixed(1),
  itl_p50_ms: +q(itl, 0.5).toFixed(2), itl_p99_ms: +q(itl, 0.99).toFixed(2), slot: mode === 'slot' }));
