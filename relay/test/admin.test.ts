// Issue 2: admin HTTP, metrics text, logs redaction.
import { afterEach, describe, expect, it } from 'vitest';
import { createDevIssuer } from '../src/devissuer/issuer.js';
import { closeAll, connectPeer, startTestRelay, waitFor, type TestRelay } from './relay-harness.js';

const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';
const relays: TestRelay[] = [];
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.close()));
});

async function relayWith(env: Record<string, string>): Promise<TestRelay> {
  const r = await startTestRelay(env);
  relays.push(r);
  return r;
}

async function get(r: TestRelay, path: string, token?: string): Promise<{ status: number; text: string; type: string }> {
  const res = await fetch(`${r.httpUrl}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
}

/** parsePrometheus checks the text exposition format line by line and returns sample values by series. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      typed.add(type[1] as string);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!sample) throw new Error(`not Prometheus text: ${line}`);
    const base = (sample[1] as string).replace(/_(bucket|sum|count)$/, '');
    if (!typed.has(sample[1] as string) && !typed.has(base)) throw new Error(`sample before its TYPE: ${line}`);
    samples.set(`${sample[1]}${sample[2] ?? ''}`, Number(sample[3]));
  }
  return samples;
}

describe('admin HTTP', () => {
  it('serves /health open, and 404s admin routes exactly like unknown paths when disabled', async () => {
    const r = await relayWith({ RELAY_ENABLE_ADMIN_HTTP: '0', RELAY_HEALTH_VERBOSE: '0' });
    const health = await get(r, '/health');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.text)).toEqual({ ok: true, service: 'relay', uptimeMs: expect.any(Number) });
    const unknown = await get(r, '/nope');
    for (const path of ['/state', '/logs', '/metrics']) {
      const res = await get(r, path, ADMIN_TOKEN);
      expect(res).toEqual(unknown);
    }
    expect(unknown).toMatchObject({ status: 404, text: '{"ok":false,"reason":"NOT_FOUND"}' });
  });

  it('401 with a wrong or missing token, counted', async () => {
    const r = await relayWith({ RELAY_ENABLE_ADMIN_HTTP: '1', RELAY_ADMIN_TOKEN: ADMIN_TOKEN });
    expect((await get(r, '/state')).status).toBe(401);
    const wrong = await get(r, '/state', `${ADMIN_TOKEN}x`);
    expect(wrong).toMatchObject({ status: 401, text: '{"ok":false,"reason":"ADMIN_UNAUTHORIZED"}' });
    const res = await fetch(`${r.httpUrl}/state`, { headers: { 'x-relay-admin-token': ` ${ADMIN_TOKEN} ` } });
    expect(res.status).toBe(200);
    const metrics = parsePrometheus((await get(r, '/metrics', ADMIN_TOKEN)).text);
    expect(metrics.get('relay_admin_unauthorized_total')).toBe(2);
  });

  it('/state lists scopes with daemon state and client counts, workers counted (docs/protocol.md#weak-worker-accounting)', async () => {
    const issuer = await createDevIssuer();
    const r = await startTestRelay(
      { RELAY_ENABLE_ADMIN_HTTP: '1', RELAY_ADMIN_TOKEN: ADMIN_TOKEN, RELAY_ADMISSION_MODE: 'jwks', RELAY_JWKS_URL: 'http://127.0.0.1:9/x' },
      { admission: { keySource: issuer.keySource } },
    );
    relays.push(r);
    const mint = (c: Record<string, unknown>) => issuer.mint(c);
    const daemon = await connectPeer(r.wsUrl, { role: 'workspace-daemon', workspaceId: 'w1', runtimeTargetId: 't1', token: await mint({ role: 'workspace-daemon', workspaceId: 'w1', runtimeTargetId: 't1' }) });
    const client = await connectPeer(r.wsUrl, { role: 'client', workspaceId: 'w1', runtimeTargetId: 't1', token: await mint({ role: 'client', workspaceId: 'w1', runtimeTargetId: 't1', clientId: 'c-1' }) });
    const worker = await connectPeer(r.wsUrl, { role: 'worker', workspaceId: 'w1', token: await mint({ role: 'worker', workspaceId: 'w1', managedExecutorId: 'm' }) });
    const state = JSON.parse((await get(r, '/state', ADMIN_TOKEN)).text) as Record<string, unknown>;
    expect(state).toMatchObject({
      ok: true,
      service: 'relay',
      relayMode: 'dev',
      backplaneMode: 'single',
      busEnabled: false,
      workerCount: 1,
      workspaces: [{ workspaceId: 'w1', runtimeTargetId: 't1', daemonConnected: true, clientCount: 1, clientIds: ['c-1'] }],
    });
    const metrics = parsePrometheus((await get(r, '/metrics', ADMIN_TOKEN)).text);
    expect(metrics.get('relay_connections{role="worker"}')).toBe(1);
    expect(metrics.get('relay_connections{role="client"}')).toBe(1);
    expect(metrics.get('relay_connections_total')).toBe(2);
    expect(metrics.get('relay_admission_ok_total')).toBe(3);
    expect(metrics.get('relay_admission_duration_seconds_count{mode="jwks",outcome="admitted"}')).toBe(3);
    // The gauges follow peers out as well as in (they are kept as counts, not recounted).
    await closeAll([client, worker]);
    const after = async () => parsePrometheus((await get(r, '/metrics', ADMIN_TOKEN)).text);
    await waitFor(async () => (await after()).get('relay_connections_total') === 1, 5000, 'client and worker gone');
    const left = await after();
    expect(left.get('relay_connections{role="workspace-daemon"}')).toBe(1);
    expect(left.get('relay_connections{role="client"}')).toBe(0);
    expect(left.get('relay_connections{role="worker"}')).toBe(0);
    expect(left.get('relay_workspaces_total')).toBe(1);
    expect(JSON.parse((await get(r, '/state', ADMIN_TOKEN)).text)).toMatchObject({ workerCount: 0, workspaces: [{ clientCount: 0, daemonConnected: true }] });
    await closeAll([daemon]);
    await waitFor(async () => (await after()).get('relay_connections{role="workspace-daemon"}') === 0, 5000, 'daemon gone');
  });

  it('/metrics is Prometheus text with every reference counter and the labelled series', async () => {
    const r = await relayWith({ RELAY_ENABLE_ADMIN_HTTP: '1', RELAY_ADMIN_TOKEN: ADMIN_TOKEN });
    await fetch(`${r.httpUrl}/ws?role=client&workspaceId=w1`, { headers: { connection: 'upgrade', upgrade: 'websocket' } }).catch(() => undefined);
    const res = await get(r, '/metrics', ADMIN_TOKEN);
    expect(res.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    const samples = parsePrometheus(res.text);
    for (const name of ['relay_upgrade_rate_limited_total', 'relay_frames_client_to_daemon_total', 'relay_bus_frames_to_daemon_total', 'relay_workspace_evictions_total', 'relay_workspaces_total']) {
      expect(samples.has(name), name).toBe(true);
    }
    expect([...samples.keys()].filter((k) => /^relay_[a-z_]+_total$/.test(k)).length).toBeGreaterThanOrEqual(72);
  });

  it('/ready answers 503 while draining', async () => {
    const r = await relayWith({});
    expect((await get(r, '/ready')).status).toBe(200);
    await r.relay.drain();
    expect(await get(r, '/ready')).toMatchObject({ status: 503, text: '{"ok":false,"reason":"DRAINING"}' });
  });

  it('/logs keeps structured entries and never shows a token', async () => {
    const r = await relayWith({ RELAY_ENABLE_ADMIN_HTTP: '1', RELAY_ADMIN_TOKEN: ADMIN_TOKEN, RELAY_HEALTH_VERBOSE: '1' });
    const secret = 'eyJsecret-token-value-1234567890';
    r.relay.log.info('probe_event', { token: secret, nested: { authorization: `Bearer ${secret}`, list: [{ password: secret }] }, keep: 'visible' });
    const res = await get(r, '/logs', ADMIN_TOKEN);
    const body = JSON.parse(res.text) as { logs: Array<{ event: string; details?: unknown }> };
    const entry = body.logs.find((l) => l.event === 'probe_event');
    expect(entry?.details).toEqual({ token: '[redacted]', nested: { authorization: '[redacted]', list: [{ password: '[redacted]' }] }, keep: 'visible' });
    expect(res.text).not.toContain(secret);
    expect(r.logLines.join('\n')).not.toContain(secret);
  });
});
