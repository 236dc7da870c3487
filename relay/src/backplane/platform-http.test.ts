// The server-mode bus over an mTLS platform: the client certificate is
// re-read when its files change, so a rotation reaches the platform on the
// next call without a restart (as it already did for admission and workers).
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/index.js';
import { backplaneOptions } from './options.js';
import { createBackplane } from './index.js';
import { silentLogger } from '@viewport/log';

let dir: string;
let platform: Server;
let platformUrl: string;
/** Fingerprint of the client certificate presented on each call, in order. */
const presented: string[] = [];
const file = (name: string) => join(dir, name);

function selfSigned(name: string, cn: string, san: string): void {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', file(`${name}.key`), '-out', file(`${name}.crt`), '-days', '1', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${san}`,
  ], { stdio: 'ignore' });
}

const fingerprint = (name: string) => new X509Certificate(readFileSync(file(`${name}.crt`))).fingerprint256;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'relay-bus-mtls-'));
  selfSigned('server', '127.0.0.1', 'IP:127.0.0.1');
  selfSigned('client', 'relay', 'DNS:relay');
  selfSigned('rotated', 'relay', 'DNS:relay');
  platform = createServer(
    { key: readFileSync(file('server.key')), cert: readFileSync(file('server.crt')), requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      presented.push((req.socket as TLSSocket).getPeerCertificate().fingerprint256 ?? 'none');
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, frames: [] }));
    },
  );
  await new Promise<void>((resolve) => platform.listen(0, '127.0.0.1', resolve));
  platformUrl = `https://127.0.0.1:${(platform.address() as AddressInfo).port}`;
});

afterAll(async () => {
  platform.closeAllConnections();
  await new Promise<void>((resolve) => platform.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('server-mode bus over mTLS', () => {
  it('presents a rotated client certificate on the next call, over its keep-alive pool', async () => {
    const parsed = parseConfig({
      HOST: '127.0.0.1',
      RELAY_MODE: 'dev',
      RELAY_ID: 'relay-a',
      RELAY_BACKPLANE_MODE: 'server',
      SERVER_URL: platformUrl,
      RELAY_INTERNAL_KEY: 'internal-key-internal-key',
      RELAY_BUS_HMAC_KEY: 'h'.repeat(32),
      RELAY_SERVER_TLS_VERIFY: '1',
      RELAY_SERVER_CA_CERT_PATH: file('server.crt'),
      RELAY_SERVER_CLIENT_CERT_PATH: file('client.crt'),
      RELAY_SERVER_CLIENT_KEY_PATH: file('client.key'),
    });
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    const backplane = createBackplane(backplaneOptions(parsed.config), { registry: new Registry(), log: silentLogger, now: Date.now });
    const record = { workspaceId: 'w', runtimeTargetId: 't', relayId: 'relay-a', relayWsBaseUrl: 'ws://127.0.0.1:1/ws', daemonConnected: true, updatedAtMs: 0 };
    try {
      expect(await backplane.upsertPresence(record)).toBe(true);
      expect(presented.at(-1)).toBe(fingerprint('client'));

      // Rotate in place: new certificate and key under the same paths, with a new mtime.
      for (const ext of ['crt', 'key']) {
        execFileSync('cp', [file(`rotated.${ext}`), file(`client.${ext}`)]);
        utimesSync(file(`client.${ext}`), new Date(Date.now() + 60_000), new Date(Date.now() + 60_000));
      }
      expect(await backplane.upsertPresence(record)).toBe(true);
      expect(presented.at(-1)).toBe(fingerprint('rotated'));
    } finally {
      await backplane.close();
    }
  });
});
