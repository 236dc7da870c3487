// The generated ViewportRelay CRD against a real API server: accepted, every
// CEL rule rejects its bad case with its own message, the examples pass, and
// the printer columns, status and scale subresources behave.
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { API_GROUP, API_VERSION, RELAY_KIND, RELAY_PLURAL } from '../../operator/src/api/v1alpha1/group.js';
import { SPEC_RULES } from '../../operator/src/api/v1alpha1/rules.js';
import type { ViewportRelaySpec } from '../../operator/src/api/v1alpha1/spec.js';
import { useSharedControlPlane } from './shared-control-plane.js';

const shared = useSharedControlPlane();
const custom = shared.kc.makeApiClient(CustomObjectsApi);
const core = shared.kc.makeApiClient(CoreV1Api);
const namespace = 'crd-checks';
const examplesDir = resolve(import.meta.dirname, '../../examples');

const platform = {
  validateUrl: 'https://api.example.com/api/runtime/internal/relay/validate',
  internalKeySecretRef: { name: 'viewport-platform', key: 'internal-key' },
};
const redis = { mode: 'redis', redis: { managed: {} } };
const host = 'relay.example.com';
const cpuAutoscaling = { minReplicas: 1, maxReplicas: 3, targetCPUUtilizationPercentage: 70 };

// One spec per CEL rule that breaks that rule. A rule added to SPEC_RULES
// without a case here fails the completeness test below.
const badSpecs: Record<string, Record<string, unknown>> = {
  replicasWithAutoscaling: { backplane: redis, replicas: 2, autoscaling: cpuAutoscaling },
  redisConfig: { backplane: { mode: 'redis' } },
  redisOnlyInRedisMode: { backplane: { mode: 'server', redis: { managed: {} } } },
  serverOnlyInServerMode: { backplane: { ...redis, server: {} } },
  peerLinksOnlyInRedisMode: { backplane: { mode: 'server', peerLinks: { enabled: true } } },
  peerLinkPortFree: { backplane: { ...redis, peerLinks: { port: 7781 } } },
  multiReplicaNeedsBackplane: { replicas: 2 },
  redirectNeedsBackplane: { clientRedirect: { enabled: true } },
  tlsNeedsHost: { exposure: { tls: { secretName: 'relay-tls' } } },
  tlsSource: { exposure: { host, tls: {} } },
  oneExposure: { exposure: { host, ingress: {}, httpRoute: { parentRefs: [{ name: 'gateway' }] } } },
  exposureNeedsHost: { exposure: { ingress: {} } },
  pinnedNeedsHostPattern: { backplane: redis, routing: { mode: 'pinned' }, exposure: { host, ingress: {} } },
  hostPatternHasPod: { routing: { mode: 'shared', podHostPattern: 'relay.example.com' } },
  pinnedNeedsExposure: { backplane: redis, routing: { mode: 'pinned', podHostPattern: '{pod}.relay.example.com' } },
  pinnedNeedsBackplane: { routing: { mode: 'pinned', podHostPattern: '{pod}.relay.example.com' }, exposure: { host, ingress: {} } },
  autoscalingBounds: { backplane: redis, autoscaling: { ...cpuAutoscaling, minReplicas: 5, maxReplicas: 2 } },
  autoscalingMetric: { backplane: redis, autoscaling: { minReplicas: 1, maxReplicas: 2 } },
  pdbOneOf: { podDisruptionBudget: { minAvailable: 1, maxUnavailable: 1 } },
  mtlsNeedsSecret: { platform: { ...platform, authMode: 'mtls' } },
  serviceMonitorNeedsAdmin: { admin: { enabled: false }, serviceMonitor: { enabled: true } },
  reservedEnv: { pod: { env: [{ name: 'RELAY_INTERNAL_KEY', value: 'x' }] } },
};

function relay(name: string, spec: Record<string, unknown>): object {
  return {
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    kind: RELAY_KIND,
    metadata: { name, namespace },
    spec: { platform, ...spec },
  };
}

const coords = { group: API_GROUP, version: API_VERSION, namespace, plural: RELAY_PLURAL };

async function createRelay(name: string, spec: Record<string, unknown>): Promise<{ code: number; message: string }> {
  try {
    await custom.createNamespacedCustomObject({ ...coords, body: relay(name, spec) });
    return { code: 201, message: '' };
  } catch (error) {
    const e = error as { code?: number; body?: unknown };
    const body = typeof e.body === 'string' ? (JSON.parse(e.body) as { message?: string }) : (e.body as { message?: string });
    return { code: e.code ?? -1, message: body?.message ?? String(error) };
  }
}

beforeAll(async () => {
  await core.createNamespace({ body: { metadata: { name: namespace } } });
});

describe('ViewportRelay CRD', () => {
  it('is installed from crds/ and Established', () => {
    expect(inject('crds')).toContain(`${RELAY_PLURAL}.${API_GROUP}`);
  });

  it('has a bad case for every CEL rule', () => {
    expect(Object.keys(badSpecs).sort()).toEqual(SPEC_RULES.map((r) => r.id).sort());
  });

  it.each(SPEC_RULES.map((rule) => [rule.id, rule] as const))('rejects a spec breaking %s with its message', async (id, rule) => {
    const spec = badSpecs[id];
    expect(spec).toBeDefined();
    // The zod twin of the rule must agree with the API server.
    expect(rule.holds({ platform, ...spec } as unknown as ViewportRelaySpec)).toBe(false);
    const res = await createRelay(`bad-${id.toLowerCase()}`, spec ?? {});
    expect(res.code).toBe(422);
    expect(res.message).toContain(rule.message);
    // The API server reports the rule on its fieldPath, so kubectl points at the field.
    expect(res.message).toContain(`spec${rule.fieldPath}:`);
  });

  it.each([
    ['privileged', 80],
    ['past 65535', 65536],
  ])('rejects a %s peer-link port at the field', async (_name, port) => {
    const res = await createRelay(`bad-peer-port-${String(port)}`, { backplane: { ...redis, peerLinks: { port } } });
    expect(res.code).toBe(422);
    expect(res.message).toContain('spec.backplane.peerLinks.port:');
  });

  it('accepts every example (server-side dry run)', async () => {
    const files = readdirSync(examplesDir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const doc = parse(readFileSync(join(examplesDir, file), 'utf8')) as { metadata: { namespace?: string } };
      doc.metadata.namespace = namespace;
      const res = await shared.kubectl(['apply', '--dry-run=server', '-f', '-'], stringify(doc));
      expect(res.stderr, file).toBe('');
      expect(res.code, file).toBe(0);
    }
  });

  it('shows the printer columns from status', async () => {
    expect((await createRelay('columns', { backplane: redis, replicas: 2 })).code).toBe(201);
    await custom.patchNamespacedCustomObjectStatus({
      ...coords,
      name: 'columns',
      body: [
        {
          op: 'add',
          path: '/status',
          value: {
            replicas: 2,
            readyReplicas: 1,
            endpoint: 'wss://relay.example.com/ws',
            backplane: { mode: 'redis', ready: true },
            conditions: [{ type: 'Ready', status: 'False', reason: 'ImagePullFailed', message: 'pod columns-0: ImagePullBackOff', lastTransitionTime: '2026-01-01T00:00:00Z' }],
          },
        },
      ],
    });
    const res = await shared.kubectl(['get', 'vrelay', 'columns', '-n', namespace]);
    expect(res.code).toBe(0);
    const [header, row] = res.stdout.trim().split('\n').map((line) => line.trim().split(/\s+/));
    // A relay that is not ready says so, and why, before anything else.
    expect(header).toEqual(['NAME', 'READY', 'REASON', 'REPLICAS', 'ENDPOINT', 'AGE']);
    expect(row?.slice(0, 5)).toEqual(['columns', 'False', 'ImagePullFailed', '2', 'wss://relay.example.com/ws']);
    const wide = await shared.kubectl(['get', 'vrelay', 'columns', '-n', namespace, '-o', 'wide']);
    expect(wide.stdout.split('\n')[0]?.trim().split(/\s+/)).toEqual(['NAME', 'READY', 'REASON', 'REPLICAS', 'ENDPOINT', 'AGE', 'MODE']);
  });

  it('keeps status and spec apart (status subresource)', async () => {
    expect((await createRelay('subresource', {})).code).toBe(201);
    const before = (await custom.getNamespacedCustomObject({ ...coords, name: 'subresource' })) as {
      metadata: { generation: number };
    };
    await custom.patchNamespacedCustomObjectStatus({
      ...coords,
      name: 'subresource',
      body: [{ op: 'add', path: '/status', value: { replicas: 1, observedGeneration: before.metadata.generation } }],
    });
    // A status write through the main resource is ignored.
    await custom.patchNamespacedCustomObject({
      ...coords,
      name: 'subresource',
      body: [{ op: 'replace', path: '/status/replicas', value: 7 }],
    });
    const after = (await custom.getNamespacedCustomObject({ ...coords, name: 'subresource' })) as {
      metadata: { generation: number };
      status: { replicas: number };
    };
    expect(after.status.replicas).toBe(1);
    expect(after.metadata.generation).toBe(before.metadata.generation);
  });

  it('scales through the scale subresource, within the CEL rules', async () => {
    expect((await createRelay('scalable', { backplane: redis, replicas: 1 })).code).toBe(201);
    const scaled = await shared.kubectl(['scale', 'vrelay/scalable', '-n', namespace, '--replicas=3']);
    expect(scaled.stderr).toBe('');
    const spec = (await custom.getNamespacedCustomObject({ ...coords, name: 'scalable' })) as { spec: { replicas: number } };
    expect(spec.spec.replicas).toBe(3);

    // Scaling a single-mode relay past one replica breaks multiReplicaNeedsBackplane.
    expect((await createRelay('single', {})).code).toBe(201);
    const refused = await shared.kubectl(['scale', 'vrelay/single', '-n', namespace, '--replicas=2']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('needs backplane.mode redis or server');
  });
});
