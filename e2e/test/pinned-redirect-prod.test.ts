// Issue 23.8: in prod a relay sends RELAY_REDIRECT only to an allowed host, and
// the operator set neither RELAY_REDIRECT_ALLOWED_HOSTS nor RELAY_TLS_HOST, so
// pinned routing never redirected anyone in prod. Here the operator reconciles a
// pinned prod relay on the real API server; the relay pods' environment is
// read back from the StatefulSet it wrote and resolved as the kubelet would
// (Secrets, pod name), and two real relay processes run with it (only the
// listen address, the Redis address and the peer-link port are local
// shortcuts, as in the local pod runner). A client that lands on the wrong pod
// is redirected to the daemon pod's public host.
import { CoreV1Api, type V1Container, type V1Pod } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClientKube } from '../../operator/src/kube/client.js';
import { createOperator, type Operator } from '../../operator/src/main.js';
import { closeAll, connectPeer, type TestPeer } from '../../relay/test/relay-harness.js';
import { startRelayProcess, type RelayProcess } from '../../relay/test/multi-relay/relay-process.js';
import { freePort, startRedisServer, type TestRedisServer } from '../../relay/test/redis-server.js';
import { waitFor } from '../controlplane/index.js';
import { startPlatform, type E2ePlatform } from '../helpers/platform.js';
import type { Provider } from '../helpers/provider.js';
import { resolveContainerEnv } from '../local/env.js';
import { startExposureStandIns } from './exposure-stand-in.js';
import { memoryLogger, readyRelay, testOperatorConfig } from './operator-harness.js';
import { useSharedControlPlane } from './shared-control-plane.js';

const shared = useSharedControlPlane();
const core = shared.kc.makeApiClient(CoreV1Api);
const admin = new ClientKube(shared.kc);
const namespace = 'redirect-prod';
const domain = 'relay.example.com';

const logLines: string[] = [];
let operator: Operator | undefined;
let platform: E2ePlatform | undefined;
let redis: TestRedisServer | undefined;
const relays: RelayProcess[] = [];
const peers: TestPeer[] = [];
let standIns: { stop(): Promise<void> } | undefined;

/** decodedSecret reads a Secret's values through the API server. */
async function decodedSecret(name: string): Promise<Record<string, string>> {
  const secret = await core.readNamespacedSecret({ namespace, name });
  return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

/** podEnv resolves the relay container's env for one StatefulSet pod, as the kubelet would. */
async function podEnv(container: V1Container, pod: string): Promise<Record<string, string>> {
  const secrets = new Map<string, Record<string, string>>();
  for (const e of container.env ?? []) {
    const name = e.valueFrom?.secretKeyRef?.name;
    if (name !== undefined && !secrets.has(name)) secrets.set(name, await decodedSecret(name));
  }
  const podObject: V1Pod = { metadata: { name: pod, namespace } };
  const resolved = resolveContainerEnv(podObject, container, '127.0.0.1', {
    secretValue: (name, key) => secrets.get(name)?.[key],
    configMapValue: () => undefined,
  });
  if (!resolved.ok) throw new Error(resolved.error);
  return resolved.env;
}

beforeAll(async () => {
  // 127.0.0.2: a loopback address the relay does not take for "local development" (so prod rules hold).
  platform = await startPlatform({ platformHost: { listen: '127.0.0.2', url: '127.0.0.2' } } as unknown as Provider);
  redis = await startRedisServer();
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'platform' }, stringData: { 'internal-key': platform.internalKey } } });
  operator = createOperator({
    kube: admin,
    config: testOperatorConfig({ namespaces: [namespace], identity: 'e2e-redirect-prod', leaderElect: false, leaseNamespace: namespace }),
    log: memoryLogger(logLines, 'redirect'),
  });
  operator.start();
  // An ingress controller would give the relay's Ingress an address: Ready waits for it (Exposed).
  standIns = startExposureStandIns(shared.kc, [namespace]);
});

afterAll(async () => {
  await standIns?.stop();
  await closeAll(peers);
  for (const r of relays) await r.stop();
  await operator?.stop();
  await redis?.close();
  await platform?.close();
});

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') {
    process.stderr.write(`operator log:\n${logLines.slice(-40).join('\n')}\n`);
    for (const r of relays) process.stderr.write(`relay ${r.id}:\n${r.output().slice(-4000)}\n`);
  }
});

describe('pinned routing in prod (issue 23.8)', () => {
  it('redirects a client that landed on the wrong pod to the daemon pod’s public host', async () => {
    const p = platform as E2ePlatform;
    const applied = await shared.kubectl(['apply', '-f', '-'], stringify({
      apiVersion: 'relay.getviewport.com/v1alpha1',
      kind: 'ViewportRelay',
      metadata: { name: 'relay', namespace },
      spec: {
        replicas: 2,
        platform: { validateUrl: p.validateUrl, internalKeySecretRef: { name: 'platform', key: 'internal-key' } },
        backplane: { mode: 'redis', redis: { managed: {} } },
        exposure: { host: domain, tls: { secretName: 'relay-tls' }, ingress: {} },
        routing: { mode: 'pinned', podHostPattern: `{pod}.${domain}` },
      },
    }));
    expect(applied.stderr).toBe('');
    await waitFor('the pinned relay Ready', () => readyRelay(admin, namespace), { timeoutMs: 90_000 });

    const sts = await admin.get({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace, name: 'relay' });
    if (!sts.ok || sts.value === undefined) throw new Error('no StatefulSet');
    const container = (sts.value.spec as { template: { spec: { containers: V1Container[] } } }).template.spec.containers[0];
    if (container === undefined) throw new Error('no relay container');

    for (const pod of ['relay-0', 'relay-1']) {
      const env = await podEnv(container, pod);
      expect(env).toMatchObject({
        RELAY_MODE: 'prod',
        RELAY_PUBLIC_WS_BASE_URL: `wss://${pod}.${domain}/ws`,
        RELAY_REDIRECT_ALLOWED_HOSTS: `${domain},relay-0.${domain},relay-1.${domain}`,
        RELAY_TLS_HOST: domain,
      });
      // Local shortcuts: this machine's listener (startRelayProcess picks HOST and PORT),
      // Redis and peer-link port; everything else is what the operator wrote.
      const { HOST: _host, RELAY_LISTEN_PORT: _port, ...rest } = env;
      const local = { ...rest, RELAY_REDIS_URL: (redis as TestRedisServer).url, RELAY_PEER_LINK_HOST: '127.0.0.1', RELAY_PEER_LINK_PORT: String(await freePort()) };
      relays.push(await startRelayProcess(pod, local, env.RELAY_PUBLIC_WS_BASE_URL));
    }
    const [daemonRelay, wrongRelay] = relays as [RelayProcess, RelayProcess];
    const tokens = await p.tokens('ws-prod-redirect', 'target-1');
    const daemon = await connectPeer(daemonRelay.wsUrl, { role: 'workspace-daemon', workspaceId: 'ws-prod-redirect', runtimeTargetId: 'target-1', token: tokens.daemon });
    peers.push(daemon);

    // The daemon's presence reaches the other relay through Redis: retry until it is seen.
    const redirect = await waitFor('a RELAY_REDIRECT for the client on the wrong pod', async () => {
      const client = await connectPeer(wrongRelay.wsUrl, { role: 'client', workspaceId: 'ws-prod-redirect', runtimeTargetId: 'target-1', token: tokens.client });
      peers.push(client);
      try {
        return await client.next((m) => m.code === 'RELAY_REDIRECT', 1500);
      } catch {
        client.ws.close();
        return undefined;
      }
    }, { timeoutMs: 30_000 });
    expect(redirect).toMatchObject({ type: 'relay_status', code: 'RELAY_REDIRECT', relayWsBaseUrl: `wss://relay-0.${domain}/ws` });
  });
});
