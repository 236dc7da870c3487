// Issue 22.1: behind the operator's Ingress or Gateway every connection comes
// from the proxy, so per-IP limits were shared by everyone: 120 token-less
// upgrades from one client locked every user out with 429. The operator now
// sets RELAY_TRUSTED_PROXIES for Ingress and Gateway exposure; a real relay
// process behind a real forwarding proxy (that adds X-Forwarded-For, as
// ingress controllers do) keys its limits on the client the proxy reports.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRelay } from '../../operator/src/api/v1alpha1/relay.js';
import { relayEnv } from '../../operator/src/desired/env.js';
import { relayModel } from '../../operator/src/desired/model.js';
import { startRelayProcess, type RelayProcess } from '../../relay/test/multi-relay/relay-process.js';

/** The relay's default per-IP upgrade budget (RELAY_UPGRADE_RATE_PER_MINUTE). */
const UPGRADES_PER_MINUTE = 120;

/** operatorEnvValue is what the operator sets for `name` on a relay exposed with `exposure`. */
function operatorEnvValue(exposure: Record<string, unknown>, name: string): string | undefined {
  const parsed = parseRelay({
    apiVersion: 'relay.getviewport.com/v1alpha1',
    kind: 'ViewportRelay',
    metadata: { name: 'relay', namespace: 'default', uid: 'u' },
    spec: {
      platform: { validateUrl: 'https://api.example.com/validate', internalKeySecretRef: { name: 'p', key: 'k' } },
      exposure,
    },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return relayEnv(relayModel(parsed.relay, { relayImage: 'relay:test' })).find((e) => e.name === name)?.value;
}

/**
 * startForwardingProxy: an HTTP proxy on 127.0.0.1 that forwards WebSocket
 * upgrades to the relay and appends the client's address to X-Forwarded-For.
 * Clients are told apart by their loopback source address (127.0.0.N), which
 * the proxy reports as the public address 203.0.113.N, as an ingress
 * controller reports the internet address it saw.
 */
async function startForwardingProxy(upstreamPort: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req: IncomingMessage, client: Socket, head: Buffer) => {
    sockets.add(client);
    const seen = (client.remoteAddress ?? '').replace(/^::ffff:/, '');
    const reported = `203.0.113.${seen.split('.').pop() ?? '0'}`;
    const headers = Object.entries(req.headers)
      .filter(([k]) => k !== 'x-forwarded-for')
      .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : (v ?? '')}`);
    const forwardedFor = [req.headers['x-forwarded-for'], reported].filter((v) => v !== undefined).join(', ');
    const upstream = connect(upstreamPort, '127.0.0.1', () => {
      upstream.write(`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1\r\n${[...headers, `x-forwarded-for: ${forwardedFor}`].join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', end).on('close', end);
    client.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** upgradeFrom attempts a token-less client upgrade from a given loopback source address; resolves with the HTTP status. */
function upgradeFrom(proxyPort: number, source: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${String(proxyPort)}/ws?role=client&workspaceId=w1&runtimeTargetId=t1`, { localAddress: source });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.close();
    });
    ws.once('error', () => resolve(0));
  });
}

/** flood spends one client's upgrade budget and more; returns the statuses. */
async function flood(proxyPort: number, source: string): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < UPGRADES_PER_MINUTE + 5; i++) statuses.push(await upgradeFrom(proxyPort, source));
  return statuses;
}

const attacker = '127.0.0.21';
const victim = '127.0.0.22';
const relays: RelayProcess[] = [];
const proxies: { close(): Promise<void> }[] = [];

async function relayBehindProxy(env: Record<string, string>): Promise<number> {
  const relay = await startRelayProcess(`proxied-${String(relays.length)}`, env);
  relays.push(relay);
  const proxy = await startForwardingProxy(relay.port);
  proxies.push(proxy);
  return proxy.port;
}

afterAll(async () => {
  for (const p of proxies) await p.close();
  for (const r of relays) await r.stop();
});

describe('a relay behind an ingress proxy (issue 22.1)', () => {
  let trusted: string | undefined;
  beforeAll(() => {
    trusted = operatorEnvValue({ host: 'relay.example.com', ingress: {} }, 'RELAY_TRUSTED_PROXIES');
  });

  it('the operator trusts the cluster ranges (the proxy here is 127.0.0.1) for Ingress and Gateway exposure, and no proxy without them', () => {
    expect(trusted?.split(',')).toContain('127.0.0.0/8');
    expect(operatorEnvValue({ host: 'relay.example.com', httpRoute: { parentRefs: [{ name: 'gw' }] } }, 'RELAY_TRUSTED_PROXIES')).toBe(trusted);
    expect(operatorEnvValue({ host: 'relay.example.com' }, 'RELAY_TRUSTED_PROXIES')).toBeUndefined();
  });

  it(`with the operator's RELAY_TRUSTED_PROXIES, ${String(UPGRADES_PER_MINUTE)} token-less upgrades from one client do not lock out another`, async () => {
    const port = await relayBehindProxy({ RELAY_TRUSTED_PROXIES: trusted ?? '' });
    const statuses = await flood(port, attacker);
    // The attacker spends its own budget and is refused…
    expect(statuses.slice(0, UPGRADES_PER_MINUTE).every((s) => s !== 429)).toBe(true);
    expect(statuses.slice(-3)).toEqual([429, 429, 429]);
    // …while another client behind the same proxy is judged on its own: no token, 401, not 429.
    expect(await upgradeFrom(port, victim)).toBe(401);
  });

  it('without it (what the operator set before), the same flood locks every client behind the proxy out', async () => {
    const port = await relayBehindProxy({});
    const statuses = await flood(port, attacker);
    expect(statuses.slice(-3)).toEqual([429, 429, 429]);
    expect(await upgradeFrom(port, victim)).toBe(429);
  });
});
