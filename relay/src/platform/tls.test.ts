// The platform TLS source: the verify rule, and certificate files re-read
// when they change (rotation) while a vanished file keeps its last good copy.
import { mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPlatformTls, verifiesPlatform } from './tls.js';

describe('verifiesPlatform', () => {
  it.each([
    ['1', 'localhost', true],
    ['1', 'api.example.com', true],
    ['0', 'api.example.com', false],
    ['auto', 'api.example.com', true],
    ['auto', '127.0.0.1', false],
    ['auto', 'platform.test', false],
  ] as const)('verify=%s for %s → %s', (setting, host, expected) => {
    expect(verifiesPlatform(setting, host)).toBe(expected);
  });
});

describe('createPlatformTls', () => {
  let dir: string;
  const file = (name: string) => join(dir, name);
  // Rotation tools replace files within the same second; a distinct mtime stands for that.
  const rewrite = (name: string, text: string, mtimeSec: number) => {
    writeFileSync(file(name), text);
    utimesSync(file(name), mtimeSec, mtimeSec);
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'relay-platform-tls-'));
    rewrite('ca.pem', 'CA-1', 1_000);
    rewrite('client.crt', 'CERT-1', 1_000);
    rewrite('client.key', 'KEY-1', 1_000);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const settings = () => ({
    tlsVerify: 'auto' as const,
    caCertPath: file('ca.pem'),
    mtls: true,
    clientCertPath: file('client.crt'),
    clientKeyPath: file('client.key'),
    clientKeyPassphrase: 'pass',
  });
  const text = (b: string | Buffer | undefined) => b?.toString();

  it('reads the CA and the client certificate, and applies the verify rule per host', () => {
    const tls = createPlatformTls(settings());
    const remote = tls('api.example.com');
    expect({ ca: text(remote.ca), cert: text(remote.cert), key: text(remote.key), passphrase: remote.passphrase }).toEqual({
      ca: 'CA-1',
      cert: 'CERT-1',
      key: 'KEY-1',
      passphrase: 'pass',
    });
    expect(remote.rejectUnauthorized).toBe(true);
    expect(tls('127.0.0.1').rejectUnauthorized).toBe(false);
  });

  it('presents rotated client certificates on the next call', () => {
    const tls = createPlatformTls(settings());
    expect(text(tls('api.example.com').cert)).toBe('CERT-1');
    rewrite('client.crt', 'CERT-2', 2_000);
    rewrite('client.key', 'KEY-2', 2_000);
    const next = tls('api.example.com');
    expect([text(next.cert), text(next.key)]).toEqual(['CERT-2', 'KEY-2']);
  });

  it('keeps the last good copy while a file is missing mid-rotation', () => {
    const tls = createPlatformTls(settings());
    tls('api.example.com');
    unlinkSync(file('client.crt'));
    expect(text(tls('api.example.com').cert)).toBe('CERT-1');
  });

  it('sends no client certificate when mTLS is off', () => {
    const options = createPlatformTls({ ...settings(), mtls: false })('api.example.com');
    expect(options.cert).toBeUndefined();
    expect(options.key).toBeUndefined();
    expect(text(options.ca)).toBe('CA-1');
  });
});
