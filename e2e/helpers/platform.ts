// The suite's fake Viewport platform: the relay tests' fake platform and
// issuer (JWKS, validate endpoint checking the internal key), reachable from
// pods through a TCP forwarder on the provider's platform address.
import { randomBytes } from 'node:crypto';
import { devClaims } from '../../relay/src/devissuer/issuer.js';
import { startFakeIssuer, JWKS_PATH, VALIDATE_PATH } from '../../relay/test/fake-issuer.js';
import { startFakePlatform, type FakePlatform } from '../../relay/test/fake-platform.js';
import type { Provider } from './provider.js';
import { startTcpRouter, type TcpRouter } from './tcp-router.js';

/** PlatformTokens are a daemon and a client token for one workspace and target. */
export interface PlatformTokens {
  readonly daemon: string;
  readonly client: string;
}

/** E2ePlatform is a running fake platform. */
export interface E2ePlatform {
  /** url is the platform's base URL as pods see it. */
  readonly url: string;
  readonly validateUrl: string;
  readonly jwksUrl: string;
  /** internalKey is the shared secret relays must send (RELAY_INTERNAL_KEY). */
  readonly internalKey: string;
  /** validations counts validate calls that carried the right internal key. */
  validations(): number;
  tokens(workspaceId: string, runtimeTargetId: string): Promise<PlatformTokens>;
  close(): Promise<void>;
}

/** startPlatform starts the fake platform for one suite file. */
export async function startPlatform(provider: Provider): Promise<E2ePlatform> {
  const platform: FakePlatform = await startFakePlatform();
  const issuer = await startFakeIssuer(platform, 'ES256');
  const internalKey = randomBytes(24).toString('base64url');
  issuer.serveValidate({ internalKey });
  const backend = new URL(platform.url);
  let forwarder: TcpRouter;
  try {
    forwarder = await startTcpRouter({
      host: provider.platformHost.listen,
      pick: () => ({ host: backend.hostname, port: Number(backend.port) }),
    });
  } catch (error) {
    await platform.close();
    throw error;
  }
  const url = `http://${provider.platformHost.url}:${String(forwarder.port)}`;
  return {
    url,
    validateUrl: `${url}${VALIDATE_PATH}`,
    jwksUrl: `${url}${JWKS_PATH}`,
    internalKey,
    validations: () =>
      platform.requests.filter((r) => r.path === VALIDATE_PATH && r.headers['x-relay-internal-key'] === internalKey).length,
    async tokens(workspaceId, runtimeTargetId) {
      const scope = { workspaceId, runtimeTargetId };
      return {
        daemon: await issuer.mint(devClaims({ role: 'workspace-daemon', ...scope })),
        client: await issuer.mint(devClaims({ role: 'client', ...scope })),
      };
    },
    async close() {
      await forwarder.close();
      await platform.close();
    },
  };
}
