// Relay tokens for the harness's own peers: the fake platform hands its
// signing key to each peer process once (init), and the process mints RS256
// tokens the relay admits through JWKS.
import { importJWK, SignJWT, type JWK } from 'jose';

/** TokenKey is what the harness passes so a peer process can mint tokens the relay accepts. */
export interface TokenKey {
  privateJwk: JWK;
  kid: string;
  issuer: string;
  audience: string;
}

/** Minter signs claims into an hour-long relay token. */
export type Minter = (claims: Record<string, unknown>) => Promise<string>;

/** tokenMinter imports the platform's key once and returns the minter. */
export async function tokenMinter(k: TokenKey): Promise<Minter> {
  const key = await importJWK(k.privateJwk, 'RS256');
  return (claims) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: k.kid }).setIssuer(k.issuer).setAudience(k.audience).setIssuedAt().setExpirationTime('1h').sign(key);
}
