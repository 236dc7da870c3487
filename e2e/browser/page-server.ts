// The test page's origin: a static HTTP server on 127.0.0.1 that serves a
// page loading the relay's own browser bundle (relay/dist/browser), and in it
// a small driver the tests call with page.evaluate. Each server is its own
// origin, so one of them can be the origin the relay refuses.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUNDLE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'relay', 'dist', 'browser', 'viewport-client.js');

/** ScenarioOptions is what the page driver runs (plain JSON: it crosses into the page). */
export interface ScenarioOptions {
  readonly client: {
    readonly url: string;
    readonly workspaceId: string;
    readonly runtimeTargetId: string;
    readonly token: string;
    readonly daemonPublicKey: string;
    readonly profile: 'noise-ik' | 'noise-ikpsk2';
    readonly pairingPeerId?: string;
    readonly pairingSecret?: string;
    readonly timeoutMs?: number;
  };
  /** sizes are plaintext lengths to round-trip, in order. */
  readonly sizes: readonly number[];
  /** fillFrameLimit adds a last plaintext that fills a frame of this many bytes. */
  readonly fillFrameLimit?: number;
  /** keepOpen leaves the client connected (as window.viewportClient) instead of closing it. */
  readonly keepOpen?: boolean;
}

/** ScenarioResult is what the page reports back. */
export interface ScenarioResult {
  readonly ok: boolean;
  readonly error: string | null;
  readonly socketInfo?: { protocol: string; extensions: string };
  readonly session?: { profile: string; sessionId: string; epoch: number };
  readonly stats?: { handshakes: number; rotations: number; redirects: number };
  readonly url?: string;
  readonly roundTrips: { bytes: number; ms: number }[];
  readonly events: { kind: string; [k: string]: unknown }[];
}

// Plain JS: it runs in the page, next to the bundle's global ViewportRelay.
const DRIVER = `
window.runScenario = async function (o) {
  const events = [];
  const result = { ok: false, error: null, roundTrips: [], events };
  try {
    const R = window.ViewportRelay;
    const client = new R.BrowserClient(Object.assign({}, o.client, { onEvent: (e) => events.push(e) }));
    window.viewportClient = client;
    await client.connect();
    result.socketInfo = client.socketInfo;
    const sizes = o.sizes.slice();
    if (o.fillFrameLimit) sizes.push(R.maxPlaintextBytes(Object.assign({}, client.session, { seq: 999999 }), o.fillFrameLimit));
    for (let i = 0; i < sizes.length; i++) {
      const sent = await client.roundTrip(R.probePayload(i + 1, sizes[i], R.systemRandom));
      result.roundTrips.push({ bytes: sizes[i], ms: sent.ms });
    }
    result.stats = Object.assign({}, client.stats);
    result.session = client.session;
    result.url = client.url;
    result.ok = true;
    if (!o.keepOpen) client.close();
  } catch (e) {
    result.error = String((e && e.message) || e);
  }
  return result;
};
`;

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>relay browser tier</title></head>
<body><p>viewport relay browser tier</p><script src="/viewport-client.js"></script><script>${DRIVER}</script></body></html>`;

/** PageServer serves the page at origin. */
export interface PageServer {
  readonly origin: string;
  /** upgrades are the headers of every WebSocket upgrade sent to this server (then dropped). */
  readonly upgrades: Record<string, string | string[] | undefined>[];
  close(): Promise<void>;
}

/** startPageServer serves the page and the bundle on 127.0.0.1 at an ephemeral port. */
export async function startPageServer(): Promise<PageServer> {
  const bundle = readFileSync(BUNDLE);
  const server: Server = createServer((req, res) => {
    if (req.url === '/viewport-client.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(bundle);
    } else if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    } else {
      res.writeHead(404).end();
    }
  });
  // What the browser itself puts in an upgrade (extension offer, Origin): recorded, never answered.
  const upgrades: PageServer['upgrades'] = [];
  server.on('upgrade', (req, socket) => {
    upgrades.push({ ...req.headers });
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${String(port)}`,
    upgrades,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
