// The fake platform for admission, run as its own process: a JWKS endpoint
// for local JWT admission and the validate endpoint for remote admission
// (docs/protocol.md#admission-validate). It makes a fresh RS256 key pair and hands the private JWK to
// the harness over IPC, so the load generator can mint tokens the relay will
// accept in either mode.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair, jwtVerify, type JWK } from 'jose';
import { serveRpc } from './rpc.js';

/** TOKEN_ISSUER and TOKEN_AUDIENCE are the iss/aud of platform relay tokens (docs/protocol.md#peer-behaviour). */
export const TOKEN_ISSUER = 'viewport-server';
export const TOKEN_AUDIENCE = 'viewport-relay';
const VALIDATE_PATH = '/api/runtime/internal/relay/validate';
const JWKS_PATH = '/.well-known/jwks.json';

const kid = randomUUID();
const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid, alg: 'RS256' };
const jwksBody = JSON.stringify({ keys: [publicJwk] });
const counts = { validate: 0, validateDenied: 0, jwks: 0 };

async function validate(body: string): Promise<{ status: number; body: object }> {
  counts.validate++;
  try {
    const { relayToken } = JSON.parse(body) as { relayToken: string };
    const { payload } = await jwtVerify(relayToken, publicKey, { issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE });
    const claims = {
      role: payload.role,
      workspaceId: payload.workspaceId,
      runtimeTargetId: payload.runtimeTargetId,
      scope: payload.scope,
      clientId: payload.clientId,
      e2eeProfile: payload.e2eeProfile,
    };
    return { status: 200, body: { ok: true, claims } };
  } catch (err) {
    counts.validateDenied++;
    return { status: 401, body: { ok: false, reason: err instanceof Error ? err.name : 'INVALID_TOKEN' } };
  }
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const path = new URL(req.url ?? '/', 'http://platform').pathname;
  let answer: { status: number; body: object | string };
  if (req.method === 'GET' && path === JWKS_PATH) {
    counts.jwks++;
    answer = { status: 200, body: jwksBody };
  } else if (req.method === 'POST' && path === VALIDATE_PATH) {
    answer = await validate(Buffer.concat(chunks).toString('utf8'));
  } else {
    answer = { status: 404, body: { ok: false, reason: 'NOT_FOUND' } };
  }
  const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
  res.writeHead(answer.status, { 'content-type': 'application/json' });
  res.end(text);
}

const server = createServer((req, res) => {
  handle(req, res).catch((err: unknown) => {
    res.writeHead(500);
    res.end(err instanceof Error ? err.message : 'error');
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();
const port = typeof address === 'object' && address ? address.port : 0;
const url = `http://127.0.0.1:${port}`;

serveRpc(
  { counts: () => ({ ...counts }) },
  { url, validateUrl: url + VALIDATE_PATH, jwksUrl: url + JWKS_PATH, privateJwk, kid, issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE },
);
