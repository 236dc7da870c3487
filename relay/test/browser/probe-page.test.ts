// The probe page's routes on a real relay (runRelay, as `serve` runs it): on
// in dev with an echo daemon and a probe-scoped token, off elsewhere unless
// RELAY_PROBE_PAGE=1, and then gated by the admin token with nothing secret
// in the answer. The page in a real browser: e2e/browser/probe-page.browser.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { BrowserClient } from '../../src/browser/client.js';
import { parseConfig } from '../../src/config/index.js';
import { createDevIssuer } from '../../src/devissuer/issuer.js';
import { runRelay, type RunningRelay } from '../../src/main.js';
import { PROBE_SCOPE } from '../../src/probe-page/handler.js';

const ADMIN = 'probe-page-admin-token-0123456789';
const running: RunningRelay[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.shutdown()));
});

async function start(env: Record<string, string>, devIssuer?: Awaited<ReturnType<typeof createDevIssuer>>): Promise<string> {
  const parsed = parseConfig({ HOST: '127.0.0.1', PORT: '0', RELAY_BACKPLANE_MODE: 'single', RELAY_DRAIN_GRACE_MS: '1000', ...env });
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  const relay = await runRelay(parsed.config, devIssuer ? { devIssuer } : {});
  running.push(relay);
  return `http://127.0.0.1:${String(relay.port)}`;
}

const jwks = { RELAY_ADMISSION_MODE: 'jwks', RELAY_JWKS_URL: 'http://127.0.0.1:9/jwks.json' };

describe('probe page routes', () => {
  it('in dev, serves the page and a probe-scoped session that round-trips through the echo daemon', async () => {
    const issuer = await createDevIssuer();
    const base = await start({ RELAY_MODE: 'dev', ...jwks }, issuer);
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('/probe/viewport-client.js');
    expect((await fetch(`${base}/probe/viewport-client.js`)).status).toBe(200);
    const session = (await (await fetch(`${base}/probe/session`)).json()) as Record<string, string>;
    expect(session).toMatchObject({ ...PROBE_SCOPE, profile: 'noise-ik' });
    const client = new BrowserClient({
      url: session.url!,
      workspaceId: session.workspaceId!,
      runtimeTargetId: session.runtimeTargetId!,
      token: session.token!,
      daemonPublicKey: session.daemonPublicKey!,
    });
    await client.connect();
    await client.roundTrip('hello from the probe page test');
    client.close();
    // The token is for the probe scope only: another workspace refuses it.
    const elsewhere = new BrowserClient({ url: session.url!, workspaceId: 'w1', runtimeTargetId: 't1', token: session.token!, daemonPublicKey: session.daemonPublicKey!, timeoutMs: 3000 });
    await expect(elsewhere.connect()).rejects.toThrow();
  });

  it('outside dev, serves nothing at / unless RELAY_PROBE_PAGE=1', async () => {
    const base = await start({ RELAY_MODE: 'staging', ...jwks, RELAY_ENABLE_ADMIN_HTTP: '1', RELAY_ADMIN_TOKEN: ADMIN });
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/probe/session`, { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(404);
  });

  it('outside dev with RELAY_PROBE_PAGE=1, the session needs the admin token and carries no secret', async () => {
    const base = await start({ RELAY_MODE: 'staging', ...jwks, RELAY_ENABLE_ADMIN_HTTP: '1', RELAY_ADMIN_TOKEN: ADMIN, RELAY_PROBE_PAGE: '1' });
    expect((await fetch(`${base}/`)).status).toBe(200);
    expect((await fetch(`${base}/probe/session`)).status).toBe(401);
    expect((await fetch(`${base}/probe/session`, { headers: { authorization: 'Bearer wrong-admin-token' } })).status).toBe(401);
    const answer = await fetch(`${base}/probe/session`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['frameLimit', 'profile', 'url']);
    expect(JSON.stringify(body)).not.toContain(ADMIN);
  });

  it('refuses RELAY_PROBE_PAGE=1 outside dev without admin HTTP and its token', () => {
    const parsed = parseConfig({ HOST: '127.0.0.1', PORT: '0', RELAY_MODE: 'staging', ...jwks, RELAY_PROBE_PAGE: '1' });
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.errors.join('\n')).toContain('RELAY_PROBE_PAGE=1 outside dev mode needs RELAY_ENABLE_ADMIN_HTTP=1 and RELAY_ADMIN_TOKEN');
  });
});
