// Issue 23.7 on the real API-server tier: the chart's ValidatingAdmissionPolicy
// (off by default, `admissionPolicy.enabled`) lets a cluster admin narrow what
// creating a ViewportRelay allows. Each rule refuses a relay that breaks it,
// with a message naming the field, and admits one that keeps to it
// (docs/security.md#viewportrelay-authors).
import { parseAllDocuments, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../controlplane/index.js';
import { chartTemplate } from './operator-harness.js';
import { useSharedControlPlane } from './shared-control-plane.js';

const shared = useSharedControlPlane();
const namespace = 'vap-relays';
const POLICY_KINDS = new Set(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);

function relay(name: string, spec: Record<string, unknown>): string {
  return stringify({
    apiVersion: 'relay.getviewport.com/v1alpha1',
    kind: 'ViewportRelay',
    metadata: { name, namespace },
    spec: {
      platform: {
        validateUrl: 'https://api.example.com/api/runtime/internal/relay/validate',
        internalKeySecretRef: { name: 'viewport-platform', key: 'internal-key' },
      },
      ...spec,
    },
  });
}

/** admit asks the API server to create a relay (server-side dry run: every admission step runs, nothing is stored). */
async function admit(name: string, spec: Record<string, unknown>): Promise<{ code: number; stderr: string }> {
  const res = await shared.kubectl(['create', '--dry-run=server', '-f', '-'], relay(name, spec));
  return { code: res.code, stderr: res.stderr };
}

const redis = (image: string) => ({ mode: 'redis', redis: { managed: { image } } });

beforeAll(async () => {
  const rendered = chartTemplate(inject('toolchain').helm, 'vap', 'vap-system', [
    '--set', 'admissionPolicy.enabled=true',
    '--set', 'admissionPolicy.tolerations.allowedKeys={dedicated}',
    '--set', 'admissionPolicy.priorityClass.allowedNames={viewport-critical}',
    // Other test files share this API server: bind the policy to this file's namespace only.
    '--set-json', `admissionPolicy.namespaceSelector={"matchLabels":{"kubernetes.io/metadata.name":"${namespace}"}}`,
  ]);
  const policy = parseAllDocuments(rendered)
    .map((d) => d.toJS() as { kind?: string } | null)
    .filter((o) => o !== null && POLICY_KINDS.has(o.kind ?? ''));
  expect(policy.map((o) => o?.kind).sort()).toEqual([...POLICY_KINDS].sort());
  const applied = await shared.kubectl(['apply', '--server-side', '-f', '-'], policy.map((o) => stringify(o)).join('---\n'));
  expect(applied.stderr).toBe('');
  const ns = await shared.kubectl(['create', 'namespace', namespace]);
  expect(ns.stderr).toBe('');
  // The API server compiles a new policy asynchronously: wait until it refuses.
  await waitFor('the admission policy to be in force', async () => ((await admit('probe', { image: 'docker.io/evil/relay:1' })).code !== 0 ? true : undefined), {
    timeoutMs: 30_000,
  });
});

afterAll(async () => {
  await shared.kubectl(['delete', 'validatingadmissionpolicybinding,validatingadmissionpolicy', '-l', 'app.kubernetes.io/instance=vap', '--ignore-not-found']);
});

describe('the chart admission policy', () => {
  it('is off by default: the chart renders no policy', () => {
    const rendered = chartTemplate(inject('toolchain').helm, 'vap', 'vap-system');
    const kinds = parseAllDocuments(rendered).map((d) => (d.toJS() as { kind?: string } | null)?.kind);
    expect(kinds.filter((k) => POLICY_KINDS.has(k ?? ''))).toEqual([]);
  });

  it.each([
    ['an image outside the allowed prefixes', { image: 'docker.io/evil/relay:1' }, 'spec.image docker.io/evil/relay:1 is not allowed by the cluster admission policy: it must start with one of ghcr.io/viewport/'],
    [
      'a managed Redis image outside the allowed prefixes',
      { backplane: redis('docker.io/evil/redis:7') },
      'spec.backplane.redis.managed.image docker.io/evil/redis:7 is not allowed by the cluster admission policy',
    ],
    [
      'a Secret read into the pod env',
      { pod: { env: [{ name: 'STOLEN', valueFrom: { secretKeyRef: { name: 'someone-elses', key: 'password' } } }] } },
      'spec.pod.env[].valueFrom.secretKeyRef is not allowed by the cluster admission policy',
    ],
    [
      'a toleration outside the allowed keys',
      { pod: { tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }] } },
      'spec.pod.tolerations is not allowed by the cluster admission policy: only toleration keys [dedicated] may be used',
    ],
    [
      'a toleration of every taint (no key)',
      { pod: { tolerations: [{ operator: 'Exists' }] } },
      'spec.pod.tolerations is not allowed by the cluster admission policy',
    ],
    [
      'a priority class outside the allowed names',
      { pod: { priorityClassName: 'system-cluster-critical' } },
      'spec.pod.priorityClassName system-cluster-critical is not allowed by the cluster admission policy: allowed are [viewport-critical]',
    ],
  ])('refuses %s with a clear message', async (_what, spec, message) => {
    const res = await admit('refused', spec);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('ValidatingAdmissionPolicy');
    expect(res.stderr).toContain(message);
  });

  it('admits a relay that keeps to every rule', async () => {
    const res = await admit('allowed', {
      image: 'ghcr.io/viewport/relay:1.2.3',
      backplane: redis('docker.io/valkey/valkey:8.1-alpine'),
      pod: {
        env: [{ name: 'FROM_CONFIG', valueFrom: { configMapKeyRef: { name: 'settings', key: 'x' } } }, { name: 'PLAIN', value: '1' }],
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'relay', effect: 'NoSchedule' }],
        priorityClassName: 'viewport-critical',
      },
    });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
  });
});
