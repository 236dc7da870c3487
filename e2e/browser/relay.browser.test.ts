// Issue 29: real Chromium and Firefox as relay clients. A page served from
// 127.0.0.1 loads the relay's own browser bundle, joins a real relay process
// with the `auth.<token>` subprotocol, runs the Noise v3 handshake with an
// echo daemon, round-trips every size class up to the frame limit, is
// re-keyed and follows a redirect between two relays on one redis-server.
// Plus what a browser does that `ws` does not: offering permessage-deflate,
// sending an Origin, and closing the socket when its tab closes.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'puppeteer-core';
import { toBase64Url } from '../../relay/src/e2ee/base64url.js';
import { systemRandom } from '../../relay/src/e2ee/random.js';
import { waitFor } from '../../relay/test/backplane/wait-for.js';
import { installedBrowsers } from './browsers.js';
import { startPageServer, type PageServer, type ScenarioOptions, type ScenarioResult } from './page-server.js';
import { startRelayPair, type RelayPair } from './relays.js';

const FRAME_LIMIT = 1_048_576; // RELAY_MAX_FRAME_BYTES default
const SIZE_CLASSES = [1, 256, 4096, 16_384, 65_536, 262_144];
const ROTATE_AFTER = 3;

const browsers = installedBrowsers();
for (const b of browsers) if (b.missing) process.stderr.write(`browser tier: skipping ${b.name}: ${b.missing}\n`);

let pair: RelayPair;
let page: PageServer;
let foreign: PageServer;
const tokens: string[] = [];

beforeAll(async () => {
  page = await startPageServer();
  foreign = await startPageServer();
  pair = await startRelayPair(page.origin, ROTATE_AFTER);
});
afterAll(async () => {
  const outputs = pair ? [pair.a.output(), pair.b.output()] : [];
  await pair?.close();
  await page?.close();
  await foreign?.close();
  // No token offered in a subprotocol, and no relay secret, ever reaches a relay's log.
  for (const output of outputs) for (const secret of [...tokens, ...(pair?.secrets ?? [])]) expect(output).not.toContain(secret);
});

async function token(workspaceId: string, runtimeTargetId: string): Promise<string> {
  const minted = await pair.clientToken(workspaceId, runtimeTargetId);
  tokens.push(minted);
  return minted;
}

/** originStatus sends the upgrade a page of `origin` sends and returns the HTTP status line's code. */
function originStatus(wsUrl: string, origin: string, bearer: string): Promise<number> {
  const url = new URL(wsUrl);
  url.searchParams.set('role', 'client');
  url.searchParams.set('workspaceId', 'w-origin');
  url.searchParams.set('runtimeTargetId', 't1');
  return new Promise((resolve, reject) => {
    const req = request(url.toString().replace(/^ws/, 'http'), {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        origin,
        'sec-websocket-version': '13',
        'sec-websocket-key': toBase64Url(systemRandom(16)).slice(0, 22) + '==',
        'sec-websocket-protocol': `viewport.v1, auth.${bearer}`,
      },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve(101);
    });
    req.on('error', reject);
    req.end();
  });
}

for (const b of browsers) {
  describe.skipIf(b.missing !== undefined)(`${b.name}${b.missing ? ` (skipped: ${b.missing})` : ''}`, () => {
    let browser: Browser;
    const pageLog: string[] = [];

    beforeAll(async () => {
      browser = await b.launch();
    });
    afterAll(async () => {
      await browser?.close();
      for (const line of pageLog) for (const t of tokens) expect(line).not.toContain(t);
    });

    async function openPage(origin: string): Promise<Page> {
      const tab = await browser.newPage();
      tab.on('console', (m) => pageLog.push(m.text()));
      tab.on('pageerror', (e) => pageLog.push(String(e)));
      await tab.goto(`${origin}/`);
      return tab;
    }

    async function run(tab: Page, options: ScenarioOptions): Promise<ScenarioResult> {
      const result = (await tab.evaluate(`runScenario(${JSON.stringify(options)})`)) as ScenarioResult;
      if (result.error) pageLog.push(result.error);
      return result;
    }

    it('offers permessage-deflate and sends its Origin (what `ws` clients do not)', async () => {
      const tab = await openPage(page.origin);
      const seen = page.upgrades.length;
      await tab.evaluate(`new WebSocket('${page.origin.replace('http', 'ws')}/offer', ['viewport.v1']); 0`);
      await waitFor(() => page.upgrades.length > seen, `${b.name}'s upgrade request`, 10_000);
      await tab.close();
      const offer = page.upgrades[seen]!;
      expect(String(offer['sec-websocket-extensions'])).toContain('permessage-deflate');
      expect(offer.origin).toBe(page.origin);
    });

    for (const profile of ['noise-ik', 'noise-ikpsk2'] as const) {
      it(`${profile}: handshake, every size class up to the frame limit, re-keys; deflate declined, token not echoed`, async () => {
        const ws = `w-${b.name}-${profile}`;
        const pairing = { peerId: `browser-${b.name}`, secret: systemRandom(32) };
        const daemon = await pair.echoDaemon(pair.a, ws, 't1', pairing);
        const tab = await openPage(page.origin);
        const result = await run(tab, {
          client: {
            url: pair.a.wsUrl,
            workspaceId: ws,
            runtimeTargetId: 't1',
            token: await token(ws, 't1'),
            daemonPublicKey: daemon.identity,
            profile,
            ...(profile === 'noise-ikpsk2' ? { pairingPeerId: pairing.peerId, pairingSecret: toBase64Url(pairing.secret) } : {}),
          },
          sizes: SIZE_CLASSES,
          fillFrameLimit: FRAME_LIMIT,
        });
        await tab.close();
        expect(result.error).toBeNull();
        // The 101 echoed the app protocol, not `auth.<token>`, and no extension: the deflate offer was declined.
        expect(result.socketInfo).toEqual({ protocol: 'viewport.v1', extensions: '' });
        expect(result.roundTrips.map((r) => r.bytes).slice(0, SIZE_CLASSES.length)).toEqual(SIZE_CLASSES);
        expect(result.roundTrips.at(-1)!.bytes).toBeGreaterThan(FRAME_LIMIT * 0.74);
        expect(result.session?.profile).toBe(profile);
        expect(result.stats!.rotations).toBeGreaterThanOrEqual(1);
        expect(result.session!.epoch).toBe(1 + result.stats!.rotations);
        expect(daemon.counts.failures).toBe(0);
      });
    }

    it('follows RELAY_REDIRECT to the relay that holds its daemon (redis mode) and round-trips there', async () => {
      const ws = `w-${b.name}-redirect`;
      const daemon = await pair.echoDaemon(pair.a, ws, 't1');
      await pair.waitPresence(pair.a, ws, 't1');
      const tab = await openPage(page.origin);
      const result = await run(tab, {
        client: { url: pair.b.wsUrl, workspaceId: ws, runtimeTargetId: 't1', token: await token(ws, 't1'), daemonPublicKey: daemon.identity, profile: 'noise-ik' },
        sizes: [64, 4096, 65_536],
      });
      await tab.close();
      expect(result.error).toBeNull();
      expect(result.stats?.redirects).toBe(1);
      expect(result.url).toBe(pair.a.wsUrl);
      expect(result.events.some((e) => e.kind === 'redirect' && e.from === pair.b.wsUrl && e.to === pair.a.wsUrl)).toBe(true);
    });

    it('is refused with 403 from an Origin outside RELAY_ALLOWED_ORIGINS, and the error quotes no token', async () => {
      const ws = `w-${b.name}-origin`;
      const before = await pair.rejections(pair.a, 'origin_not_allowed');
      const tab = await openPage(foreign.origin);
      const bearer = await token(ws, 't1');
      const result = await run(tab, {
        client: { url: pair.a.wsUrl, workspaceId: ws, runtimeTargetId: 't1', token: bearer, daemonPublicKey: 'unused', profile: 'noise-ik', timeoutMs: 5000 },
        sizes: [],
      });
      await tab.close();
      expect(result.ok).toBe(false);
      expect(result.error).toMatch(/refused/);
      expect(result.error).not.toContain(bearer);
      expect(await pair.rejections(pair.a, 'origin_not_allowed')).toBeGreaterThan(before);
      // The status the browser was given (it hides it from the page): the same upgrade from that Origin.
      expect(await originStatus(pair.a.wsUrl, foreign.origin, bearer)).toBe(403);
    });

    it('closing the tab ends the client session at the daemon’s relay at once', async () => {
      const ws = `w-${b.name}-close`;
      const daemon = await pair.echoDaemon(pair.a, ws, 't1');
      const tab = await openPage(page.origin);
      const result = await run(tab, {
        client: { url: pair.a.wsUrl, workspaceId: ws, runtimeTargetId: 't1', token: await token(ws, 't1'), daemonPublicKey: daemon.identity, profile: 'noise-ik' },
        sizes: [32],
        keepOpen: true,
      });
      expect(result.error).toBeNull();
      expect(await pair.clientCount(pair.a, ws)).toBe(1);
      await tab.close();
      // Well inside the ping/pong timeout: the browser sent a close frame, nothing timed out.
      await waitFor(async () => (await pair.clientCount(pair.a, ws)) === 0, `the ${b.name} client to leave ${ws}`, 5000);
    });
  });
}
