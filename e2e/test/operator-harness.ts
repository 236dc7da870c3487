// Shared pieces of the operator test files (and the operator benchmark): an
// operator configuration for tests, the chart's RBAC objects, the
// Ready-at-generation check, and a log kept in memory.
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { API_GROUP, API_VERSION } from '../../operator/src/api/v1alpha1/group.js';
import type { OperatorConfig } from '../../operator/src/config.js';
import type { KubeAdapter } from '../../operator/src/kube/adapter.js';
import type { Logger } from '../../operator/src/log.js';
import type { KubeObject } from '../../operator/src/object.js';

/** testRelayImage is the relay image the test operators deploy (never pulled: kwok runs no containers). */
export const testRelayImage = 'example.invalid/viewport-relay:e2e';

/** Relay is a ViewportRelay as the tests read it. */
export interface Relay extends KubeObject {
  spec: Record<string, unknown>;
  status?: {
    observedGeneration?: number;
    paused?: boolean;
    conditions?: { type: string; status: string; reason: string; observedGeneration?: number }[];
  };
}

/** testOperatorConfig is a production-like configuration: no HTTP ports, no periodic resync during a test. */
export function testOperatorConfig(o: {
  namespaces: readonly string[];
  identity: string;
  leaderElect: boolean;
  leaseNamespace: string;
}): OperatorConfig {
  return {
    namespaces: o.namespaces,
    leaderElect: o.leaderElect,
    leaseName: 'viewport-relay-operator',
    leaseNamespace: o.leaseNamespace,
    identity: o.identity,
    metricsPort: 0,
    healthPort: 0,
    relayImage: testRelayImage,
    kubeconfig: undefined,
    resyncMs: 600_000,
    concurrency: 2,
  };
}

/** readRelay reads namespace/name, undefined when absent. */
export async function readRelay(kube: KubeAdapter, namespace: string, name = 'relay'): Promise<Relay | undefined> {
  const res = await kube.get({ apiVersion: `${API_GROUP}/${API_VERSION}`, kind: 'ViewportRelay', namespace, name });
  if (!res.ok) throw new Error(res.error.message);
  return res.value as Relay | undefined;
}

/** conditionOf finds a status condition by type. */
export const conditionOf = (r: Relay | undefined, type: string) => r?.status?.conditions?.find((c) => c.type === type);

/** readyRelay is a waitFor check: the relay once Ready=True, not paused, with
 * status and condition at its generation (at least `atLeast`); until then it
 * throws the current status, which a timeout reports. */
export async function readyRelay(kube: KubeAdapter, namespace: string, atLeast = 1, name = 'relay'): Promise<Relay> {
  const r = await readRelay(kube, namespace, name);
  const generation = r?.metadata.generation ?? 0;
  const ready = conditionOf(r, 'Ready');
  if (
    r !== undefined &&
    generation >= atLeast &&
    r.status?.paused !== true &&
    ready?.status === 'True' &&
    ready.observedGeneration === generation &&
    r.status?.observedGeneration === generation
  ) {
    return r;
  }
  throw new Error(`generation ${generation}, status ${JSON.stringify(r?.status)}`);
}

/** memoryLogger appends "who level message fields" lines to `lines`, for printing on failure. */
export function memoryLogger(lines: string[], who: string): Logger {
  const write = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push(`${who} ${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

const chartDir = resolve(import.meta.dirname, '../../charts/viewport-relay-operator');

/** chartRbac renders the operator chart with helm (and any extra helm args) and returns its RBAC objects (ServiceAccount, roles, bindings). */
export function chartRbac(helm: string, release: string, namespace: string, extraArgs: readonly string[] = []): KubeObject[] {
  const rendered = chartTemplate(helm, release, namespace, extraArgs);
  const kinds = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
  return parseAllDocuments(rendered)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && kinds.has(o.kind));
}

/** chartTemplate is `helm template` of the operator chart, as text. */
export function chartTemplate(helm: string, release: string, namespace: string, extraArgs: readonly string[] = []): string {
  return execFileSync(helm, ['template', release, join(chartDir), '--namespace', namespace, ...extraArgs], { encoding: 'utf8' });
}

/** chartIdentity is the ServiceAccount the chart runs the operator as and the one Lease its leader-election Role names. */
export function chartIdentity(objects: readonly KubeObject[]): { serviceAccount: string; leaseName: string } {
  const serviceAccount = objects.find((o) => o.kind === 'ServiceAccount')?.metadata.name;
  const leaseRole = objects.find((o) => o.kind === 'Role' && o.metadata.name.endsWith('-leader-election')) as
    | { rules?: { resourceNames?: string[] }[] }
    | undefined;
  const leaseName = leaseRole?.rules?.find((r) => r.resourceNames !== undefined)?.resourceNames?.[0];
  if (serviceAccount === undefined || leaseName === undefined) throw new Error('the chart renders no ServiceAccount or no leader-election Role naming its Lease');
  return { serviceAccount, leaseName };
}
