// The probe command in-process (flags, token sources, output, exit codes)
// and its pure parts (option validation, payloads, report maths).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateDevIssuer } from '../../src/devissuer/issuer.js';
import { payloadIndex, probePayload } from '../../src/probe/payload.js';
import { percentile, probeCommand, validateProbeSettings, type ProbeReport } from '../../src/probe/index.js';
import { systemRandom } from '../../src/e2ee/index.js';
import { startForwarder, type Forwarder } from './forwarder.js';
import { startLiveRelay, type LiveRelay } from './live-relay.js';

async function runCommand(args: string[]): Promise<{ code: number | undefined; stdout: string; stderr: string }> {
  let code: number | undefined;
  let stdout = '';
  let stderr = '';
  const command = probeCommand({
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    setExitCode: (c) => (code = c),
  });
  command.exitOverride();
  await command.parseAsync(args, { from: 'user' });
  return { code, stdout, stderr };
}

describe('probe command against a live dev relay', () => {
  let dir: string;
  let keyFile: string;
  let relay: LiveRelay;
  let dropping: Forwarder;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'probe-cmd-'));
    keyFile = join(dir, 'issuer-key.json');
    relay = await startLiveRelay({}, await loadOrCreateDevIssuer(keyFile));
    let envelopes = 0;
    dropping = await startForwarder({
      upstream: `ws://127.0.0.1:${String(relay.port)}`,
      tamper: (f) => (f.direction === 'from-relay' && f.role === 'client' && f.text.includes('"type":"e2ee"') && ++envelopes === 2 ? undefined : f.text),
    });
  });
  afterAll(async () => {
    await dropping?.close();
    await relay?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('mints tokens with the dev issuer and exits 0 with a text summary', async () => {
    const out = await runCommand(['--url', relay.url, '--workspace', 'w-cmd', '--target', 't1', '--frames', '5', '--issuer-key-file', keyFile]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^probe PASSED: .* profile=noise-ik kex=v3\n/);
    expect(out.stdout).toContain('frames:      5/5 intact');
    expect(out.stdout).toMatch(/round trip: {2}p50 [\d.]+ ms, p99 [\d.]+ ms/);
  });

  it('prints JSON with --json and uses tokens from files', async () => {
    const tokens = await relay.tokens('w-json', 't1');
    writeFileSync(join(dir, 'daemon.jwt'), `${tokens.daemon}\n`);
    writeFileSync(join(dir, 'client.jwt'), tokens.client);
    const out = await runCommand([
      '--url', relay.url, '--workspace', 'w-json', '--target', 't1', '--frames', '3', '--profile', 'noise-ikpsk2', '--json',
      '--daemon-token-file', join(dir, 'daemon.jwt'), '--client-token-file', join(dir, 'client.jwt'), '--issuer-key-file', join(dir, 'none.json'),
    ]);
    expect(out.code).toBe(0);
    const report = JSON.parse(out.stdout) as ProbeReport;
    expect(report).toMatchObject({ ok: true, profile: 'noise-ikpsk2', frames: { requested: 3, intact: 3 } });
    // Tokens are secrets: they never appear in the report.
    expect(out.stdout).not.toContain(tokens.client);
  });

  it('exits 1 and says which frame was lost when the path drops one', async () => {
    const out = await runCommand([
      '--url', `ws://127.0.0.1:${String(dropping.port)}/ws`, '--workspace', 'w-cmd-drop', '--target', 't1', '--frames', '4', '--timeout', '2000', '--issuer-key-file', keyFile,
    ]);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/^probe FAILED: /);
    expect(out.stdout).toContain('frame 2: no echo within 2000 ms (dropped on the way)');
  });

  it('exits 1 when the relay refuses the tokens', async () => {
    const out = await runCommand(['--url', relay.url, '--frames', '1', '--daemon-token', 'not-a-valid-jwt-token', '--client-token', 'not-a-valid-jwt-token']);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain('handshake: daemon connection refused by the relay: HTTP 401');
    expect(out.stdout).not.toContain('not-a-valid-jwt-token');
  });
});

describe('probe command usage errors', () => {
  it('exits 2 listing every invalid option', async () => {
    const out = await runCommand(['--url', 'http://x', '--client-url', 'nope', '--frames', '0', '--bytes', 'lots', '--workspace', 'bad id', '--daemon-token', 'a', '--client-token', 'b']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('--url must be a ws:// or wss:// URL');
    expect(out.stderr).toContain('--client-url is not a valid URL');
    expect(out.stderr).toContain('--frames must be an integer between 1 and 1000000');
    expect(out.stderr).toContain('--bytes must be an integer between 24 and 524288');
    expect(out.stderr).toContain('--workspace must be');
  });

  it('refuses an unknown --kex version', async () => {
    await expect(runCommand(['--kex', '4'])).rejects.toThrow(/--kex/);
  });

  it('exits 2 when tokens are missing and there is no dev issuer key', async () => {
    const out = await runCommand(['--issuer-key-file', join(tmpdir(), 'definitely-missing-issuer-key.json')]);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/no --daemon-token\/--client-token given and no usable dev issuer key/);
  });

  it('exits 2 when the CA file cannot be read', async () => {
    const out = await runCommand(['--ca-file', join(tmpdir(), 'missing-ca.pem'), '--daemon-token', 'a', '--client-token', 'b']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('cannot read CA file');
  });
});

describe('probe pure parts', () => {
  it.each([
    [[], 50, 0],
    [[5], 50, 5],
    [[1, 2, 3, 4], 50, 2],
    [[1, 2, 3, 4], 99, 4],
    [Array.from({ length: 100 }, (_, i) => i + 1), 99, 99],
    [Array.from({ length: 100 }, (_, i) => i + 1), 50, 50],
  ])('percentile(%j, %i) = %i', (samples, p, expected) => {
    expect(percentile(samples, p)).toBe(expected);
  });

  it.each([24, 25, 256, 16384])('payloads are exactly %i bytes and carry their index', (bytes) => {
    const text = probePayload(123, bytes, systemRandom);
    expect(Buffer.byteLength(text)).toBe(bytes);
    expect(payloadIndex(text)).toBe(123);
  });

  it.each(['', 'probe:', 'probe:x:', 'probe:0:', 'hello'])('payloadIndex(%j) is undefined', (text) => {
    expect(payloadIndex(text)).toBeUndefined();
  });

  it('applies defaults', () => {
    const v = validateProbeSettings({});
    expect(v.ok && v.settings).toMatchObject({ url: 'ws://127.0.0.1:7781/ws', profile: 'noise-ik', kexVersion: 3, frames: 50, bytes: 256, timeoutMs: 10_000, reconnect: false });
  });
});
