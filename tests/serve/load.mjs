// load.mjs — load, batch invariance and disconnect tests of `slotswift serve` (plain fetch, no retries).
// KV pages left in use once idle are the prompts kept for prefix reuse: at most 2 pages each here
// (every prompt is under 64 tokens).
//   node load.mjs URL KEY load K M     K clients x M requests: each gets exactly one complete 200 or a
//                                      503 (+ Retry-After); seeded 200s equal the same request run alone
//   node load.mjs URL KEY disconnect   a stream dropped mid-way: the server frees its sequences
import assert from 'node:assert/strict';

const [url, key, mode, K = '4', M = '5'] = process.argv.slice(2);
const H = { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` };
const Qs = ['What is 2+3?', 'Max has 5 apples. He buys 3 more. How many apples does Max have now?',
            'What is 7 times 6?', 'A box holds 12 eggs. How many eggs are in 3 boxes?', 'What is 100 minus 37?'];
const body = (i, extra = {}) => JSON.stringify({ model: 'tinymath', messages: [{ role: 'user', content: Qs[i % Qs.length] }],
                                                 seed: 100 + i, temperature: 0.9, max_tokens: 40, ...extra });
async function post(b, signal) {
  const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: H, body: b, signal });
  return { status: r.status, headers: r.headers, json: await r.json() };
}
async function metrics() {
  const t = await (await fetch(`${url}/metrics`, { headers: H })).text();
  const get = (name) => { const m = t.match(new RegExp(`^${name} (\\S+)$`, 'm')); return m ? Number(m[1]) : NaN; };
  const s499 = t.match(/^slotswift_requests_total\{status="499"\} (\d+)$/m);
  return { running: get('slotswift_running_sequences'), kv: get('slotswift_kv_pages_used'), queue: get('slotswift_queue_length'),
           cached: get('slotswift_cached_prefixes'), gone: s499 ? Number(s499[1]) : 0 };
}

if (mode === 'load') {
  const alone = [];
  for (let i = 0; i < Qs.length; i++) {   // each request alone first
    const r = await post(body(i));
    assert.equal(r.status, 200);
    alone.push(r.json.choices[0].message.content);
  }
  const t0 = Date.now();
  const results = [];
  await Promise.all([...Array(Number(K)).keys()].map(async (c) => {
    for (let m = 0; m < Number(M); m++) {
      const i = (c + m) % Qs.length;
      const r = await post(body(i));
      results.push({ c, m, i, ...r });
    }
  }));
  const dt = (Date.now() - t0) / 1000;
  assert.equal(results.length, Number(K) * Number(M));          // none lost
  let n200 = 0, n503 = 0;
  const ids = new Set();
  for (const r of results) {
    if (r.status === 503) { n503++; assert.ok(r.headers.get('retry-after')); assert.equal(typeof r.json.error.message, 'string'); continue; }
    assert.equal(r.status, 200, JSON.stringify(r.json));
    n200++;
    assert.ok(!ids.has(r.json.id)); ids.add(r.json.id);           // none duplicated
    assert.equal(r.json.choices.length, 1);
    assert.ok(['stop', 'length'].includes(r.json.choices[0].finish_reason));
    assert.equal(r.json.choices[0].message.content, alone[r.i], `request ${r.i} under load differs from alone`);
  }
  assert.ok(n200 > 0);
  const m = await metrics();
  assert.equal(m.running, 0); assert.equal(m.queue, 0);
  assert.ok(m.kv <= 2 * m.cached, `KV pages used ${m.kv} with ${m.cached} cached prompts`);
  console.log(`load: ${K}x${M} requests in ${dt.toFixed(2)} s: ${n200} x 200 (same texts as alone), ${n503} x 503`);
} else if (mode === 'disconnect') {
  const before = await metrics();
  const ac = new AbortController();
  const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: H, signal: ac.signal,
    body: body(0, { stream: true, max_tokens: 1500, ignore_eos: true }) });
  assert.equal(r.status, 200);
  const rd = r.body.getReader();
  const { value } = await rd.read();                              // the first events
  assert.ok(new TextDecoder().decode(value).startsWith('data: '));
  ac.abort();
  let m;
  for (let k = 0; k < 100; k++) {                                 // freed within a few steps
    await new Promise((res) => setTimeout(res, 50));
    m = await metrics();
    if (m.gone > before.gone && m.running === 0 && m.kv <= 2 * m.cached) break;
  }
  assert.equal(m.gone, before.gone + 1, 'the dropped stream is counted as 499');
  assert.equal(m.running, 0, 'running sequences freed');
  assert.ok(m.kv <= 2 * m.cached, `KV pages freed (${m.kv} used, ${m.cached} cached prompts)`);
  console.log(`disconnect: the stream's sequence was freed (499 counted, 0 running, ${m.kv} KV pages = ${m.cached} cached prompts)`);
} else throw new Error(`unknown mode ${mode}`);
