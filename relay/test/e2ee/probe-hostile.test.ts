// `probe` through a forwarder that plays a misbehaving relay (drops or alters
// one frame) must fail with a message naming the frame and the hop; through a
// TLS-terminating forwarder it must work only when given the right CA.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBE_DEFAULTS, runProbe, type ProbeOptions } from '../../src/probe/index.js';
import { startForwarder, type ForwardedFrame, type Forwarder } from './forwarder.js';
import { startLiveRelay, type LiveRelay } from './live-relay.js';
import { createTestCa, type TestCa } from './tls-ca.js';

let relay: LiveRelay;
beforeAll(async () => {
  relay = await startLiveRelay();
});
afterAll(async () => {
  await relay?.stop();
});

const forwarders: Forwarder[] = [];
afterAll(async () => {
  await Promise.all(forwarders.map((f) => f.close()));
});

async function forward(tamper?: (f: ForwardedFrame) => string | undefined, tls?: TestCa): Promise<Forwarder> {
  const f = await startForwarder({
    upstream: `ws://127.0.0.1:${String(relay.port)}`,
    ...(tamper ? { tamper } : {}),
    ...(tls ? { tls: { key: tls.serverKey, cert: tls.serverCert } } : {}),
  });
  forwarders.push(f);
  return f;
}

async function probeOptions(url: string, workspaceId: string, extra: Partial<ProbeOptions> = {}): Promise<ProbeOptions> {
  return { ...PROBE_DEFAULTS, url, workspaceId, runtimeTargetId: 't1', frames: 6, timeoutMs: 5000, tokens: await relay.tokens(workspaceId, 't1'), ...extra };
}

/** nthEnvelope matches the n-th e2ee envelope going one way from one role. */
function nthEnvelope(n: number, direction: ForwardedFrame['direction'], role: string, edit: (frame: Record<string, unknown>) => Record<string, unknown> | undefined) {
  let seen = 0;
  return (f: ForwardedFrame): string | undefined => {
    if (f.direction !== direction || f.role !== role) return f.text;
    const frame = JSON.parse(f.text) as Record<string, unknown>;
    if (frame.type !== 'e2ee' || ++seen !== n) return f.text;
    const edited = edit(frame);
    return edited === undefined ? undefined : JSON.stringify(edited);
  };
}

function flipFirstChar(text: unknown): string {
  const s = String(text);
  return (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
}

describe('probe against a misbehaving relay path', () => {
  it('passes through an honest forwarder', async () => {
    const f = await forward();
    const report = await runProbe(await probeOptions(`ws://127.0.0.1:${String(f.port)}/ws`, 'w-honest'));
    expect(report.errors).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('fails, naming the frame, when a client→daemon envelope is altered', async () => {
    const f = await forward(nthEnvelope(2, 'to-relay', 'client', (e) => ({ ...e, ciphertext: flipFirstChar(e.ciphertext) })));
    const report = await runProbe(await probeOptions(`ws://127.0.0.1:${String(f.port)}/ws`, 'w-corrupt-up'));
    expect(report.ok).toBe(false);
    expect(report.frames.failed).toBe(1);
    expect(report.errors).toEqual(['frame 2: client→daemon envelope refused by the daemon (decrypt_failed): envelope failed authentication']);
  });

  it('fails when a daemon→client envelope is altered', async () => {
    const f = await forward(nthEnvelope(3, 'from-relay', 'client', (e) => ({ ...e, tag: flipFirstChar(e.tag) })));
    const report = await runProbe(await probeOptions(`ws://127.0.0.1:${String(f.port)}/ws`, 'w-corrupt-down'));
    expect(report.ok).toBe(false);
    expect(report.errors).toEqual(['frame 3: daemon→client envelope refused by the client (decrypt_failed): envelope failed authentication']);
  });

  it('fails with a timeout message when an envelope is dropped', async () => {
    const f = await forward(nthEnvelope(4, 'from-relay', 'client', () => undefined));
    const report = await runProbe(await probeOptions(`ws://127.0.0.1:${String(f.port)}/ws`, 'w-drop', { timeoutMs: 2000 }));
    expect(report.ok).toBe(false);
    expect(report.frames.intact).toBe(3);
    expect(report.errors).toEqual(['frame 4: no echo within 2000 ms (dropped on the way)']);
  });

  it('fails the handshake when the relay alters the proof', async () => {
    const f = await forward((fr) => {
      if (fr.direction !== 'from-relay' || fr.role !== 'client') return fr.text;
      const frame = JSON.parse(fr.text) as Record<string, unknown>;
      return frame.type === 'relay_key_exchange_response' ? JSON.stringify({ ...frame, proof: flipFirstChar(frame.proof) }) : fr.text;
    });
    const report = await runProbe(await probeOptions(`ws://127.0.0.1:${String(f.port)}/ws`, 'w-proof'));
    expect(report.ok).toBe(false);
    expect(report.frames.sent).toBe(0);
    expect(report.errors[0]).toMatch(/^handshake: client refused the key exchange response \(proof_mismatch\)/);
  });
});

describe('probe and RELAY_REDIRECT', () => {
  const redirectTo = (url: string) => JSON.stringify({ type: 'relay_status', code: 'RELAY_REDIRECT', message: 'elsewhere', workspaceId: 'w', relayWsBaseUrl: url });

  it('moves the client to the relay named by an upgrade-time redirect', async () => {
    const target = await forward();
    const targetUrl = `ws://127.0.0.1:${String(target.port)}/ws`;
    const redirecting = await startForwarder({
      upstream: `ws://127.0.0.1:${String(relay.port)}`,
      greet: (role) => (role === 'client' ? [redirectTo(targetUrl)] : []),
    });
    forwarders.push(redirecting);
    const report = await runProbe(await probeOptions(`ws://127.0.0.1:${String(redirecting.port)}/ws`, 'w-redirect'));
    expect(report.errors).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.redirects).toBe(1);
  });

  it('--client-url joins the client through another endpoint than the daemon', async () => {
    const seen = { daemonSide: new Set<string>(), clientSide: new Set<string>() };
    const daemonSide = await forward((f) => (seen.daemonSide.add(f.role), f.text));
    const clientSide = await forward((f) => (seen.clientSide.add(f.role), f.text));
    const report = await runProbe(
      await probeOptions(`ws://127.0.0.1:${String(daemonSide.port)}/ws`, 'w-split', { clientUrl: `ws://127.0.0.1:${String(clientSide.port)}/ws` }),
    );
    expect(report.errors).toEqual([]);
    expect(report.ok).toBe(true);
    expect([...seen.daemonSide]).toEqual(['workspace-daemon']);
    expect([...seen.clientSide]).toEqual(['client']);
  });

  it('ignores a redirect to the URL it is already using (no reconnect loop)', async () => {
    let self = '';
    const looping = await startForwarder({
      upstream: `ws://127.0.0.1:${String(relay.port)}`,
      greet: (role) => (role === 'client' ? [redirectTo(self)] : []),
    });
    forwarders.push(looping);
    self = `ws://127.0.0.1:${String(looping.port)}/ws`;
    const report = await runProbe(await probeOptions(self, 'w-redirect-self'));
    expect(report.errors).toEqual([]);
    expect(report.redirects).toBe(0);
  });
});

describe('probe over wss:// with a custom CA', () => {
  let ca: TestCa;
  beforeAll(() => {
    ca = createTestCa();
  });
  afterAll(() => ca?.remove());

  it('works through a TLS-terminating forwarder when given the CA', async () => {
    const f = await forward(undefined, ca);
    const report = await runProbe(await probeOptions(`wss://localhost:${String(f.port)}/ws`, 'w-tls', { ca: ca.caPem }));
    expect(report.errors).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('refuses the untrusted certificate without the CA', async () => {
    const f = await forward(undefined, ca);
    const report = await runProbe(await probeOptions(`wss://localhost:${String(f.port)}/ws`, 'w-tls-untrusted'));
    expect(report.ok).toBe(false);
    expect(report.errors[0]).toMatch(/^handshake: daemon connection failed: .*(self[- ]signed|unable to verify|certificate)/i);
  });
});
