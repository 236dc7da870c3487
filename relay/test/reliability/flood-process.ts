// A noisy peer as its own process (run by node, which strips the types), so
// its sending costs the test process's event loop nothing: the victim's round
// trips are timed there. It sends FLOOD_KIND frames of about FLOOD_BYTES to
// FLOOD_URL with FLOOD_TOKEN whenever the last one was written, reconnects
// after every close, and on SIGTERM prints {sent, closes} as JSON and exits.
import WebSocket from 'ws';

const url = process.env.FLOOD_URL as string;
const token = process.env.FLOOD_TOKEN as string;
const bytes = Number(process.env.FLOOD_BYTES);

// nested: arrays nested half the frame deep. wide: the costliest frame that is valid, an e2ee
// envelope with 9,901 numbers (just under the pre-scan's value cap) and a string filling the rest (not owned, so dropped after parsing).
function frame(): string {
  if (process.env.FLOOD_KIND === 'nested') return '['.repeat(bytes / 2 - 8) + ']'.repeat(bytes / 2 - 8);
  const head = '{"type":"e2ee","version":2,"profile":"noise-ik","sessionId":"not-owned","epoch":1,"seq":1,"iv":"aXY","tag":"dGFn","ciphertext":"Y3Q",';
  const values = `"x":[${'0,'.repeat(9_900)}0],"pad":"`;
  return `${head}${values}${'p'.repeat(bytes - head.length - values.length - 8)}"}`;
}

const text = frame();
const result = { sent: 0, closes: [] as string[] };
let stopped = false;
let current: WebSocket | undefined;

function once(): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    current = ws;
    const pump = (): void => {
      if (stopped || ws.readyState !== WebSocket.OPEN) return;
      ws.send(text, (err) => {
        if (err) return;
        result.sent++;
        pump();
      });
    };
    ws.once('open', () => {
      pump();
      pump();
    });
    ws.on('error', () => undefined);
    ws.once('close', (code, reason) => {
      result.closes.push(`${code} ${reason.toString()}`);
      resolve();
    });
  });
}

process.once('SIGTERM', () => {
  stopped = true;
  current?.terminate();
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
});

while (!stopped) {
  await once();
  if (!stopped) await new Promise((r) => setTimeout(r, 50));
}
