// The probe page itself: static HTML and its script, no secret in either.
// The script asks /probe/session for where to connect (in dev: also a fresh
// probe-workspace token and the echo daemon's identity), runs the bundled
// BrowserClient, and shows the handshake, the envelopes and a live chart.
// Plain JS in a string: it runs in the browser next to the bundle's global.

/** PROBE_PAGE_HTML is served at `/`. */
export const PROBE_PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>viewport-relay probe</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2rem auto;max-width:52rem;padding:0 1rem;color:#222}
h1{font-size:1.3rem}code,pre{font:12px ui-monospace,monospace;background:#f4f4f4;padding:.1rem .3rem}
pre{padding:.6rem;overflow-x:auto}#status[data-state=ok]{color:#17702f}#status[data-state=failed]{color:#b00020}
form{display:grid;grid-template-columns:10rem 1fr;gap:.3rem .6rem;margin:1rem 0}form[hidden]{display:none}
canvas{border:1px solid #ccc;width:100%;height:160px}ol{padding-left:1.4rem}.stats span{margin-right:1.2rem}
</style></head><body>
<h1>viewport-relay probe</h1>
<p>This page joins the relay as a <code>client</code> with the token in the <code>auth.&lt;token&gt;</code> subprotocol,
runs the Noise v3 handshake with a daemon, and sends end-to-end encrypted envelopes that the daemon echoes back.
The relay only ever sees ciphertext.</p>
<p id="status" data-state="starting">starting…</p>
<form id="connect" hidden>
<label for="f-url">relay URL</label><input id="f-url" required>
<label for="f-ws">workspaceId</label><input id="f-ws" required>
<label for="f-rt">runtimeTargetId</label><input id="f-rt" required>
<label for="f-token">client token</label><input id="f-token" type="password" required autocomplete="off">
<label for="f-daemon">daemon public key</label><input id="f-daemon" required>
<span></span><button>connect</button>
</form>
<form id="admin" hidden>
<label for="f-admin">admin token</label><input id="f-admin" type="password" required autocomplete="off">
<span></span><button>continue</button>
</form>
<div class="stats"><span>handshake: <b id="handshake">–</b></span><span>round trips: <b id="count">0</b></span>
<span>re-keys: <b id="rotations">0</b></span><span>p50: <b id="p50">–</b></span><span>p95: <b id="p95">–</b></span></div>
<canvas id="chart" width="800" height="160"></canvas>
<h2>On the wire</h2><ol id="steps"></ol>
<h2>Try next</h2>
<pre>node_modules/.bin/node relay/dist/cli.js probe                    # the same round trips from Node, with percentiles
node_modules/.bin/node relay/dist/cli.js token --role client --workspace w1 --target t1
curl -H "Authorization: Bearer &lt;admin token&gt;" <span id="origin"></span>/state
npm run e2e:browser                                              # this client in headless Chromium and Firefox</pre>
<script src="/probe/viewport-client.js"></script><script src="/probe/page.js"></script>
</body></html>
`;

/** PROBE_PAGE_SCRIPT is served at /probe/page.js. */
export const PROBE_PAGE_SCRIPT = `(() => {
'use strict';
const R = window.ViewportRelay;
const $ = (id) => document.getElementById(id);
const SIZES = [64, 1024, 16384];
const ROUND_TRIPS = 240;
const INTERVAL_MS = 500;
const rtts = [];
let steps = 0;
$('origin').textContent = location.origin;

function setStatus(state, text) { $('status').dataset.state = state; $('status').textContent = text; }
function step(text) {
  const li = document.createElement('li');
  li.textContent = text;
  $('steps').append(li);
  if (++steps > 60) $('steps').firstElementChild.remove();
}
function percentile(p) {
  const sorted = rtts.slice().sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
function draw() {
  const c = $('chart'), g = c.getContext('2d'), last = rtts.slice(-120);
  g.clearRect(0, 0, c.width, c.height);
  if (last.length === 0) return;
  const max = Math.max(...last) * 1.2 || 1;
  g.strokeStyle = '#2a62c9'; g.lineWidth = 2; g.beginPath();
  last.forEach((ms, i) => { const x = (i / Math.max(1, last.length - 1)) * (c.width - 10) + 5, y = c.height - 5 - (ms / max) * (c.height - 20); i ? g.lineTo(x, y) : g.moveTo(x, y); });
  g.stroke(); g.fillStyle = '#555'; g.font = '12px sans-serif'; g.fillText(max.toFixed(1) + ' ms', 6, 14);
}
function onEvent(e) {
  if (e.kind === 'open') step('socket open to ' + e.url + ' (subprotocol ' + (e.protocol || 'none') + ', extensions ' + (e.extensions || 'none') + ')');
  else if (e.kind === 'handshake') {
    step((e.rekey ? 're-key' : 'handshake') + ' ' + e.profile + ' done: session ' + e.sessionId + ' epoch ' + e.epoch);
    if (e.rekey) $('rotations').textContent = String(Number($('rotations').textContent) + 1);
  } else if (e.kind === 'sent') step('→ envelope seq ' + e.seq + ', ' + e.bytes + ' B sealed');
  else if (e.kind === 'received') step('← envelope seq ' + e.seq + ', ' + e.bytes + ' B opened');
  else if (e.kind === 'redirect') step('redirected from ' + e.from + ' to ' + e.to);
  else if (e.kind === 'status') step('relay status ' + e.code);
  else if (e.kind === 'close') step('socket closed (' + e.code + (e.reason ? ', ' + e.reason : '') + ')');
}
async function run(cfg) {
  setStatus('connecting', 'connecting to ' + cfg.url + '…');
  const client = new R.BrowserClient(Object.assign({}, cfg, { onEvent }));
  const hs = await client.connect();
  $('handshake').textContent = hs.handshakeMs.toFixed(1) + ' ms';
  for (let i = 1; i <= ROUND_TRIPS; i++) {
    const sent = await client.roundTrip(R.probePayload(i, SIZES[i % SIZES.length], R.systemRandom));
    rtts.push(sent.ms);
    $('count').textContent = String(i);
    $('p50').textContent = percentile(50).toFixed(1) + ' ms';
    $('p95').textContent = percentile(95).toFixed(1) + ' ms';
    draw();
    setStatus('ok', 'encrypted round trips complete: ' + i + ' (session ' + client.session.sessionId + ', epoch ' + client.session.epoch + ')');
    await new Promise((r) => setTimeout(r, INTERVAL_MS));
  }
  client.close();
  setStatus('ok', 'done: ' + ROUND_TRIPS + ' encrypted round trips; reload to run again');
}
function ask(form) {
  form.hidden = false;
  return new Promise((resolve) => form.addEventListener('submit', (ev) => { ev.preventDefault(); form.hidden = true; resolve(); }, { once: true }));
}
async function session() {
  let res = await fetch('/probe/session', { cache: 'no-store' });
  if (res.status === 401) {
    setStatus('waiting', 'this relay is not in dev mode: enter its admin token (kept in this page only)');
    await ask($('admin'));
    res = await fetch('/probe/session', { cache: 'no-store', headers: { authorization: 'Bearer ' + $('f-admin').value } });
  }
  if (!res.ok) throw new Error('the relay refused /probe/session (HTTP ' + res.status + ')');
  return res.json();
}
async function main() {
  const s = await session();
  let cfg = s;
  if (!s.token || !s.daemonPublicKey) {
    $('f-url').value = s.url || ''; $('f-ws').value = s.workspaceId || ''; $('f-rt').value = s.runtimeTargetId || '';
    setStatus('waiting', 'enter a client token and the public key of a daemon for that scope');
    await ask($('connect'));
    cfg = { url: $('f-url').value, workspaceId: $('f-ws').value, runtimeTargetId: $('f-rt').value, token: $('f-token').value, daemonPublicKey: $('f-daemon').value, profile: 'noise-ik' };
  }
  await run(cfg);
}
main().catch((e) => setStatus('failed', 'failed: ' + ((e && e.message) || e)));
})();
`;
