// Starts a real dev relay in this process on 127.0.0.1:0 with an in-memory dev
// issuer, for probe tests; mints tokens the relay admits.
import { devEnvironment } from '../../src/cli.js';
import { createDevIssuer, devClaims, type DevIssuer } from '../../src/devissuer/issuer.js';
import { parseConfig, runRelay, type RunningRelay } from '../../src/index.js';
import type { ProbeTokens } from '../../src/probe/index.js';

export interface LiveRelay {
  readonly url: string;
  readonly port: number;
  readonly running: RunningRelay;
  readonly issuer: DevIssuer;
  tokens(workspaceId: string, runtimeTargetId: string): Promise<ProbeTokens>;
  stop(): Promise<void>;
}

/** startLiveRelay runs a dev relay; pass `issuer` and `env.PORT` to restart one in place. */
export async function startLiveRelay(env: Record<string, string> = {}, issuer?: DevIssuer): Promise<LiveRelay> {
  issuer ??= await createDevIssuer();
  const parsed = parseConfig(devEnvironment({ PORT: '0', ...env }, 'probe-test-admin-token'));
  if (!parsed.ok) throw new Error(`dev config rejected: ${parsed.errors.join('; ')}`);
  const running = await runRelay(parsed.config, { devIssuer: issuer });
  return {
    url: `ws://127.0.0.1:${String(running.port)}/ws`,
    port: running.port,
    running,
    issuer,
    tokens: async (workspaceId, runtimeTargetId) => ({
      daemon: await issuer.mint(devClaims({ role: 'workspace-daemon', workspaceId, runtimeTargetId })),
      client: await issuer.mint(devClaims({ role: 'client', workspaceId, runtimeTargetId })),
    }),
    stop: () => running.shutdown(),
  };
}
