// TLS: the relay's own wss:// listener (RELAY_TLS) and the platform link with
// verification, a private CA and an mTLS client certificate (docs/protocol.md#admission-validate).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/index.js';
import { runRelay } from '../src/main.js';
import { createDevIssuer, type DevIssuer } from '../src/devissuer/issuer.js';
import { closeAll, connectPeer, startTestRelay, upgradeStatus } from './relay-harness.js';

let dir: string;
let cert: string;
let key: string;
let issuer: DevIssuer;
let platform: Server;
let platformUrl: string;
const seen: Array<{ authorized: boolean }> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'relay-tls-'));
  cert = join(dir, 'cert.pem');
  key = join(dir, 'key.pem');
  // One self-signed certificate is the CA, the server certificate and the client certificate.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  issuer = await createDevIssuer();
  platform = createServer({ key: readFileSync(key), cert: readFileSync(cert), ca: readFileSync(cert), requestCert: true, rejectUnauthorized: true }, (req, res) => {
    seen.push({ authorized: (req.socket as import('node:tls').TLSSocket).authorized });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, claims: { role: 'workspace-daemon', workspaceId: 'w1', runtimeTargetId: 't1' } }));
  });
  await new Promise<void>((r) => platform.listen(0, '127.0.0.1', r));
  platformUrl = `https://127.0.0.1:${(platform.address() as AddressInfo).port}/api/runtime/internal/relay/validate`;
});
afterAll(async () => {
  platform.closeAllConnections();
  await new Promise<void>((r) => platform.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

const daemon = (token = 'opaque-platform-token') => ({ role: 'workspace-daemon' as const, workspaceId: 'w1', runtimeTargetId: 't1', token });

describe('platform link TLS', () => {
  it('admits over verified mTLS with a private CA', async () => {
    const r = await startTestRelay({ RELAY_VALIDATE_URL: platformUrl, RELAY_SERVER_TLS_VERIFY: '1', RELAY_SERVER_CA_CERT_PATH: cert, RELAY_SERVER_CLIENT_CERT_PATH: cert, RELAY_SERVER_CLIENT_KEY_PATH: key });
    expect(r.config.platform.mtls).toBe(true);
    expect(await upgradeStatus(r.wsUrl, daemon())).toBe(101);
    expect(seen.at(-1)).toEqual({ authorized: true });
    await r.close();
  });

  it('answers 503 when the platform certificate cannot be verified or no client certificate is presented', async () => {
    const noCa = await startTestRelay({ RELAY_VALIDATE_URL: platformUrl, RELAY_SERVER_TLS_VERIFY: '1', RELAY_SERVER_CLIENT_CERT_PATH: cert, RELAY_SERVER_CLIENT_KEY_PATH: key });
    expect(await upgradeStatus(noCa.wsUrl, daemon())).toBe(503);
    await noCa.close();
    const noClientCert = await startTestRelay({ RELAY_VALIDATE_URL: platformUrl, RELAY_SERVER_TLS_VERIFY: '1', RELAY_SERVER_CA_CERT_PATH: cert });
    expect(await upgradeStatus(noClientCert.wsUrl, daemon())).toBe(503);
    await noClientCert.close();
  });
});

describe('relay TLS listener', () => {
  it('serves wss:// when RELAY_TLS=1', async () => {
    const parsed = parseConfig({ HOST: '127.0.0.1', PORT: '0', RELAY_TLS: '1', RELAY_TLS_CERT_PATH: cert, RELAY_TLS_KEY_PATH: key, RELAY_ADMISSION_MODE: 'jwks', RELAY_JWKS_URL: 'http://127.0.0.1:9/x', RELAY_BACKPLANE_MODE: 'single', MAX_LOGS: '10' });
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    expect(parsed.config.tls.enabled).toBe(true);
    const running = await runRelay(parsed.config, { devIssuer: issuer });
    // PORT=0: the id and advertised URL name the port actually bound, not 0.
    expect(running.config.relayId).toMatch(new RegExp(`^127\\.0\\.0\\.1:${running.port}:[0-9a-f]{12}$`));
    expect(running.config.publicWsBaseUrl).toBe(`wss://127.0.0.1:${running.port}/ws`);
    expect(running.relay.state.snapshot().relayId).toBe(running.config.relayId);
    const peer = await connectPeer(`wss://127.0.0.1:${running.port}/ws`, { ...daemon(await issuer.mint({ role: 'workspace-daemon', workspaceId: 'w1', runtimeTargetId: 't1' })), ca: readFileSync(cert, 'utf8') });
    await closeAll([peer]);
    await running.shutdown();
  });
});
