// Issue 22, item 11: the dev issuer's key lives in the shared temp directory.
// Another local user who plants a key (or a directory, or a link) there must
// not get their key trusted by `serve --dev` or used by `token`: the key file
// and its directory have to be ours and writable by nobody else.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { devKeyPathProblem, loadDevIssuer, loadOrCreateDevIssuer } from '../src/devissuer/issuer.js';

let root: string;
let dir: string;
let file: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'dev-issuer-'));
  dir = join(root, 'viewport-relay-dev');
  file = join(dir, 'issuer-key.json');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** plant stores a valid key the way an attacker would, then sets the modes. */
async function plant(dirMode: number, fileMode: number): Promise<string> {
  const other = join(root, 'other.json');
  await loadOrCreateDevIssuer(other);
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, readFileSync(other));
  chmodSync(dir, dirMode);
  chmodSync(file, fileMode);
  return readFileSync(file, 'utf8');
}

describe('dev issuer key ownership', () => {
  it('creates its key in a private directory and loads it again (control)', async () => {
    const created = await loadOrCreateDevIssuer(file);
    expect(devKeyPathProblem(file)).toBeUndefined();
    const loaded = await loadDevIssuer(file);
    expect(loaded.ok && loaded.issuer.jwks).toEqual(created.jwks);
  });

  it.each([
    ['a directory writable by others', 0o777, 0o600, 'directory'],
    ['a directory writable by the group', 0o770, 0o600, 'directory'],
    ['a key file writable by others', 0o700, 0o666, 'file'],
    ['a key file writable by the group', 0o700, 0o620, 'file'],
  ])('refuses %s, and never overwrites or trusts it', async (_name, dirMode, fileMode, what) => {
    const planted = await plant(dirMode, fileMode);
    const loaded = await loadDevIssuer(file);
    expect(loaded).toMatchObject({ ok: false, reason: 'UNSAFE' });
    const problem = loaded.ok ? '' : (loaded as { problem: string }).problem;
    expect(problem).toContain(`dev issuer key ${what}`);
    expect(problem).toContain('writable by group or others');
    expect(problem).not.toContain(JSON.parse(planted).privateJwk.d);
    await expect(loadOrCreateDevIssuer(file)).rejects.toThrow('writable by group or others');
    expect(readFileSync(file, 'utf8')).toBe(planted);
  });

  it('will not create its key in a directory others can write, and reports a missing key as missing', async () => {
    mkdirSync(dir, { mode: 0o700 });
    chmodSync(dir, 0o777);
    expect(await loadDevIssuer(file)).toEqual({ ok: false, reason: 'MISSING' });
    await expect(loadOrCreateDevIssuer(file)).rejects.toThrow('dev issuer key directory');
    expect(() => readFileSync(file)).toThrow();
  });

  it('refuses a key file or directory owned by another user', async () => {
    await loadOrCreateDevIssuer(file);
    const otherUid = (process.getuid?.() ?? 0) + 1;
    expect(devKeyPathProblem(file, otherUid)).toMatch(/dev issuer key directory .* is owned by another user/);
  });

  it('refuses a key file that is a symbolic link', async () => {
    const target = join(root, 'elsewhere.json');
    await loadOrCreateDevIssuer(target);
    mkdirSync(dir, { mode: 0o700 });
    symlinkSync(target, file);
    expect(await loadDevIssuer(file)).toMatchObject({ ok: false, reason: 'UNSAFE' });
    await expect(loadOrCreateDevIssuer(file)).rejects.toThrow('is a symbolic link');
  });
});
