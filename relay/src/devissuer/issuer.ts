// The dev issuer: a local signing key whose public half is served as a JWKS,
// so `viewport-relay serve --dev` admits tokens that `viewport-relay token`
// mints. For local development only; the key file lives in the temp dir, which
// other users share: a key file or directory they could have planted or can
// change is refused, never used (whoever holds the key can sign tokens).
import { lstatSync, mkdirSync, readFileSync, writeFileSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  SignJWT,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
} from 'jose';

/** DEFAULT_DEV_KEY_FILE is where serve --dev keeps its key so the token command can find it. */
export const DEFAULT_DEV_KEY_FILE = join(tmpdir(), 'viewport-relay-dev', 'issuer-key.json');
export const DEV_ISSUER = 'viewport-server';
export const DEV_AUDIENCE = 'viewport-relay';
const ALG = 'ES256';

/** DevIssuer signs dev tokens and publishes the matching JWKS. */
export interface DevIssuer {
  readonly jwks: JSONWebKeySet;
  readonly keySource: JWTVerifyGetKey;
  mint(claims: Record<string, unknown>, ttlSeconds?: number): Promise<string>;
}

interface StoredKey {
  readonly privateJwk: JWK;
}

async function fromPrivateJwk(privateJwk: JWK): Promise<DevIssuer> {
  const key = (await importJWK(privateJwk, ALG)) as CryptoKey;
  const { d: _d, ...publicJwk } = privateJwk;
  const jwks: JSONWebKeySet = { keys: [{ ...publicJwk, alg: ALG, use: 'sig' }] };
  const kid = privateJwk.kid as string;
  return {
    jwks,
    keySource: createLocalJWKSet(jwks),
    mint: (claims, ttlSeconds = 3600) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: ALG, kid })
        .setIssuer(DEV_ISSUER)
        .setAudience(DEV_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .setJti(randomUUID())
        .sign(key),
  };
}

/** createDevIssuer generates a fresh key in memory. */
export async function createDevIssuer(): Promise<DevIssuer> {
  const { privateKey } = await generateKeyPair(ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return fromPrivateJwk({ ...jwk, kid: randomUUID() });
}

/**
 * devKeyPathProblem says why the key file or its directory must not be trusted: a symbolic link,
 * owned by another user than uid, or writable by group or others. Undefined when both are safe
 * or do not exist yet. The message names the path and what to do, never the key.
 */
export function devKeyPathProblem(file: string, uid: number | undefined = process.getuid?.()): string | undefined {
  for (const [what, path] of [['directory', dirname(file)], ['file', file]] as const) {
    let st: Stats;
    try {
      st = lstatSync(path);
    } catch {
      continue; // not there yet: nothing to trust
    }
    const fix = `remove it or pass --issuer-key-file with a path of your own`;
    if (st.isSymbolicLink()) return `the dev issuer key ${what} ${path} is a symbolic link; ${fix}`;
    if (uid !== undefined && st.uid !== uid) return `the dev issuer key ${what} ${path} is owned by another user (uid ${st.uid}); ${fix}`;
    if ((st.mode & 0o022) !== 0) {
      return `the dev issuer key ${what} ${path} is writable by group or others (mode ${(st.mode & 0o777).toString(8)}); ${fix}`;
    }
  }
  return undefined;
}

function pathExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** loadOrCreateDevIssuer reuses the key in file, or creates one and stores it (mode 0600); throws on an unsafe path. */
export async function loadOrCreateDevIssuer(file: string = DEFAULT_DEV_KEY_FILE): Promise<DevIssuer> {
  const loaded = await loadDevIssuer(file);
  if (loaded.ok) return loaded.issuer;
  if (loaded.reason === 'UNSAFE') throw new Error(loaded.problem);
  // Not there yet: a directory someone else controls must not receive our key either.
  const problem = devKeyPathProblem(file);
  if (problem !== undefined) throw new Error(problem);
  const { privateKey } = await generateKeyPair(ALG, { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid: randomUUID() };
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const stored: StoredKey = { privateJwk };
  writeFileSync(file, JSON.stringify(stored), { mode: 0o600 });
  return fromPrivateJwk(privateJwk);
}

/** DevIssuerLoad is a loaded key, or why there is none; UNSAFE carries the problem to show. */
export type DevIssuerLoad = { ok: true; issuer: DevIssuer } | { ok: false; reason: 'MISSING' | 'INVALID' } | { ok: false; reason: 'UNSAFE'; problem: string };

/** loadDevIssuer reads a stored key, reporting a missing, unreadable or unsafe (devKeyPathProblem) file as a value. */
export async function loadDevIssuer(file: string): Promise<DevIssuerLoad> {
  if (!pathExists(file)) return { ok: false, reason: 'MISSING' };
  const problem = devKeyPathProblem(file);
  if (problem !== undefined) return { ok: false, reason: 'UNSAFE', problem };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { ok: false, reason: 'MISSING' };
  }
  try {
    const stored = JSON.parse(text) as StoredKey;
    if (!stored.privateJwk || typeof stored.privateJwk.kid !== 'string') return { ok: false, reason: 'INVALID' };
    return { ok: true, issuer: await fromPrivateJwk(stored.privateJwk) };
  } catch {
    return { ok: false, reason: 'INVALID' };
  }
}

/** DevTokenRequest names the peer a dev token is for. */
export interface DevTokenRequest {
  readonly role: 'workspace-daemon' | 'client' | 'worker';
  readonly workspaceId: string;
  readonly runtimeTargetId?: string | undefined;
  readonly scope?: string | undefined;
  readonly clientId?: string | undefined;
  readonly managedExecutorId?: string | undefined;
  readonly sessionChannels?: readonly string[] | undefined;
  readonly daemonIssueGeneration?: number | undefined;
}

/** devClaims builds the claims of a dev token; only the fields the relay reads. */
export function devClaims(req: DevTokenRequest): Record<string, unknown> {
  const claims: Record<string, unknown> = { role: req.role, workspaceId: req.workspaceId };
  if (req.runtimeTargetId !== undefined) claims.runtimeTargetId = req.runtimeTargetId;
  if (req.role === 'client') {
    claims.scope = req.scope ?? 'runtime';
    claims.clientId = req.clientId ?? `dev-client-${randomUUID().slice(0, 8)}`;
  }
  if (req.managedExecutorId !== undefined) claims.managedExecutorId = req.managedExecutorId;
  if (req.sessionChannels !== undefined) claims.sessionChannels = [...req.sessionChannels];
  if (req.daemonIssueGeneration !== undefined) claims.daemonIssueGeneration = req.daemonIssueGeneration;
  return claims;
}
