// A stand-in for the platform's token issuer, for tests: mints RS256 or ES256
// relay JWTs, serves their JWKS on the fake platform, and can answer the
// validate endpoint by verifying the token and returning its claims.
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, jwtVerify, createLocalJWKSet, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { FakePlatform, FakeResponse } from './fake-platform.js';

export const JWKS_PATH = '/.well-known/jwks.json';
export const VALIDATE_PATH = '/api/runtime/internal/relay/validate';

export type IssuerAlg = 'RS256' | 'ES256';

interface SigningKey {
  readonly kid: string;
  readonly alg: IssuerAlg;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export interface MintOptions {
  readonly issuer?: string;
  readonly audience?: string;
  /** Token lifetime from now; an hour by default, so peers of a long test run outlive no token (connections close at exp). */
  readonly expiresInSeconds?: number;
  readonly notBeforeSeconds?: number;
  /** Shift `iat` from now by this many seconds (a future iat, say). */
  readonly issuedAtOffsetSeconds?: number;
  /** Sign with a key that is not published in the JWKS. */
  readonly unpublished?: boolean;
}

export interface FakeIssuer {
  readonly jwksUrl: string;
  mint(claims: Record<string, unknown>, options?: MintOptions): Promise<string>;
  /** rotate adds a new current key; the old one stays published unless dropOld. */
  rotate(options?: { dropOld?: boolean }): Promise<void>;
  /** serveValidate answers the validate endpoint from the token's own claims (remote mode). */
  serveValidate(options?: { internalKey?: string; override?: (body: Record<string, unknown>) => FakeResponse | undefined }): void;
}

async function newKey(alg: IssuerAlg): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomUUID();
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** startFakeIssuer publishes a JWKS on platform at /.well-known/jwks.json. */
export async function startFakeIssuer(platform: FakePlatform, alg: IssuerAlg = 'RS256'): Promise<FakeIssuer> {
  let keys: SigningKey[] = [await newKey(alg)];
  const stray = await newKey(alg);
  platform.route('GET', JWKS_PATH, () => ({ body: { keys: keys.map((k) => k.publicJwk) } }));
  const current = () => keys[keys.length - 1] as SigningKey;
  const issuer: FakeIssuer = {
    jwksUrl: `${platform.url}${JWKS_PATH}`,
    async mint(claims, options = {}) {
      const key = options.unpublished ? stray : current();
      const now = Math.floor(Date.now() / 1000);
      let jwt = new SignJWT(claims)
        .setProtectedHeader({ alg: key.alg, kid: key.kid })
        .setIssuer(options.issuer ?? 'viewport-server')
        .setAudience(options.audience ?? 'viewport-relay')
        .setIssuedAt(now + (options.issuedAtOffsetSeconds ?? 0))
        .setExpirationTime(now + (options.expiresInSeconds ?? 3600));
      if (options.notBeforeSeconds !== undefined) jwt = jwt.setNotBefore(now + options.notBeforeSeconds);
      return jwt.sign(key.privateKey);
    },
    async rotate(options = {}) {
      const next = await newKey(alg);
      keys = options.dropOld ? [next] : [...keys, next];
    },
    serveValidate(options = {}) {
      platform.route('POST', VALIDATE_PATH, async (req) => {
        if (options.internalKey !== undefined && req.headers['x-relay-internal-key'] !== options.internalKey) {
          return { status: 401, body: { ok: false, reason: 'BAD_INTERNAL_KEY' } };
        }
        const body = JSON.parse(req.body) as Record<string, unknown>;
        const overridden = options.override?.(body);
        if (overridden) return overridden;
        try {
          const { payload } = await jwtVerify(String(body.relayToken), createLocalJWKSet({ keys: keys.map((k) => k.publicJwk) }));
          const { sub: _sub, ...claims } = payload;
          return { body: { ok: true, claims } };
        } catch {
          return { status: 401, body: { ok: false, reason: 'INVALID_TOKEN' } };
        }
      });
    },
  };
  return issuer;
}
