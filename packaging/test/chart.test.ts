// The operator chart: lints, renders the expected objects in cluster-wide and
// namespace-scoped mode, grants exactly the generated RBAC rules, ships the
// generated CRD as an upgradable template, and runs the operator restricted.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { chartDir, helm, renderChart, type Manifest } from '../helm.js';
import { repoRoot } from '../repo.js';

const generatedRules = parse(fs.readFileSync(path.join(chartDir, 'files/rbac-rules.yaml'), 'utf8')) as unknown;
const generatedCrd = parse(fs.readFileSync(path.join(chartDir, 'files/crd.yaml'), 'utf8')) as Manifest;

const kindsOf = (objects: Manifest[]): string[] => objects.map((o) => o.kind).sort();
const only = (objects: Manifest[], kind: string): Manifest[] => objects.filter((o) => o.kind === kind);

interface Container {
  args: string[];
  env: { name: string; value?: string }[];
  securityContext: Record<string, unknown>;
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  ports: { name: string; containerPort: number }[];
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface PodSpec {
  securityContext: Record<string, unknown>;
  serviceAccountName: string;
  containers: Container[];
}
const podOf = (deployment: Manifest): PodSpec => (deployment.spec as { template: { spec: PodSpec } }).template.spec;
const envOf = (c: Container, name: string): string | undefined => c.env.find((e) => e.name === name)?.value;

describe('helm lint', () => {
  it('passes in strict mode, cluster-wide and namespace-scoped', () => {
    for (const sets of [[], ['watchNamespaces={team-a,team-b}'], ['serviceMonitor.enabled=true']]) {
      const result = helm(['lint', chartDir, '--strict', ...sets.flatMap((s) => ['--set', s])]);
      expect(result.ok, result.ok ? '' : result.output).toBe(true);
    }
  });

  it.each([
    ['unknown top-level key', 'replicaCont=2', "additional properties 'replicaCont' not allowed"],
    ['negative replicas', 'replicaCount=-1', '/replicaCount'],
    ['bad namespace name', 'watchNamespaces={Team_A}', '/watchNamespaces/0'],
    ['bad pull policy', 'image.pullPolicy=Sometimes', '/image/pullPolicy'],
    ['bad log level', 'logLevel=verbose', '/logLevel'],
    ['two replicas without leader election', 'replicaCount=2,leaderElection.enabled=false', '/leaderElection/enabled'],
  ])('values.schema.json rejects %s', (_name, set, message) => {
    const result = helm(['template', 'viewport', chartDir, '--set', set]);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.output).toContain(message);
  });
});

describe('helm template, cluster-wide (default values)', () => {
  const objects = renderChart();

  it('renders the operator, its RBAC, the CRD and the metrics Service', () => {
    expect(kindsOf(objects)).toEqual(
      [
        'ClusterRole',
        'ClusterRole',
        'ClusterRole',
        'ClusterRoleBinding',
        'CustomResourceDefinition',
        'Deployment',
        'Role',
        'RoleBinding',
        'Service',
        'ServiceAccount',
      ].sort(),
    );
  });

  it('grants exactly the generated operator rules, cluster-wide, to the operator ServiceAccount', () => {
    const role = only(objects, 'ClusterRole').find((r) => r.metadata.name === 'viewport-viewport-relay-operator');
    expect(role!.rules).toEqual(generatedRules);
    const [binding] = only(objects, 'ClusterRoleBinding');
    const [sa] = only(objects, 'ServiceAccount');
    expect(binding!.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role!.metadata.name });
    expect(binding!.subjects).toEqual([{ kind: 'ServiceAccount', name: sa!.metadata.name, namespace: 'viewport-system' }]);
  });

  it('grants Lease access for leader election in the release namespace only', () => {
    const [role] = only(objects, 'Role');
    expect(role!.metadata.namespace).toBe('viewport-system');
    // get/update only on the operator's own Lease; create cannot be narrowed by name.
    expect(role!.rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['viewport-viewport-relay-operator'], verbs: ['get', 'update'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    ]);
  });

  it('ships the generated CRD unchanged, kept on uninstall', () => {
    const [crd] = only(objects, 'CustomResourceDefinition');
    expect(crd!.spec).toEqual(generatedCrd.spec);
    expect(crd!.metadata.name).toBe(generatedCrd.metadata.name);
    expect(crd!.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    expect(crd!.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('Helm');
  });

  it('runs the operator with leader election, probes, resources and the restricted security profile', () => {
    const [deployment] = only(objects, 'Deployment');
    const pod = podOf(deployment!);
    const [c] = pod.containers;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(c!.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c!.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'health' });
    expect(c!.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'health' });
    expect(c!.ports).toEqual([
      { name: 'metrics', containerPort: 8080, protocol: 'TCP' },
      { name: 'health', containerPort: 8081, protocol: 'TCP' },
    ]);
    expect(c!.resources.requests).toBeDefined();
    expect(c!.resources.limits?.memory).toBeDefined();
    expect(envOf(c!, 'VIEWPORT_OPERATOR_LEADER_ELECT')).toBe('true');
    expect(envOf(c!, 'VIEWPORT_OPERATOR_NAMESPACES')).toBe('');
    expect(envOf(c!, 'VIEWPORT_RELAY_IMAGE')).toBe('ghcr.io/viewport/relay:0.1.0');
    expect(envOf(c!, 'VIEWPORT_OPERATOR_LOG_LEVEL')).toBe('info');
    expect(c!.args[0]).toBe('run');
  });

  it('names only flags the operator CLI accepts', () => {
    const [deployment] = only(objects, 'Deployment');
    const [c] = podOf(deployment!).containers;
    const help = execFileSync(process.execPath, [path.join(repoRoot, 'operator/dist/cli.js'), 'run', '--help'], {
      encoding: 'utf8',
    });
    for (const arg of c!.args.slice(1)) expect(help).toContain(arg.split('=')[0]);
  });

  it('sets only environment variables the operator reads', () => {
    const [c] = podOf(only(objects, 'Deployment')[0]!).containers;
    // operator/src/config.ts is the one module that reads the environment.
    const config = fs.readFileSync(path.join(repoRoot, 'operator/src/config.ts'), 'utf8');
    for (const { name } of c!.env) expect(config, name).toMatch(new RegExp(`\\benv\\.${name}\\b`));
  });
});

describe('helm template, namespace-scoped', () => {
  const objects = renderChart(['watchNamespaces={team-a,team-b}']);

  it('uses a Role and RoleBinding per watched namespace and no ClusterRole', () => {
    expect(only(objects, 'ClusterRole')).toEqual([]);
    expect(only(objects, 'ClusterRoleBinding')).toEqual([]);
    const roles = only(objects, 'Role').filter((r) => r.metadata.namespace !== 'viewport-system');
    expect(roles.map((r) => r.metadata.namespace).sort()).toEqual(['team-a', 'team-b']);
    for (const role of roles) expect(role.rules).toEqual(generatedRules);
    const bindings = only(objects, 'RoleBinding').filter((r) => r.metadata.namespace !== 'viewport-system');
    expect(bindings.map((r) => r.metadata.namespace).sort()).toEqual(['team-a', 'team-b']);
  });

  it('tells the operator which namespaces to watch', () => {
    const [c] = podOf(only(objects, 'Deployment')[0]!).containers;
    expect(envOf(c!, 'VIEWPORT_OPERATOR_NAMESPACES')).toBe('team-a,team-b');
  });
});

describe('helm template, toggles', () => {
  it.each([
    ['crds.install=false drops the CRD', ['crds.install=false'], (o: Manifest[]) => expect(only(o, 'CustomResourceDefinition')).toEqual([])],
    [
      'crds.keep=false lets uninstall delete the CRD',
      ['crds.keep=false'],
      (o: Manifest[]) => expect(only(o, 'CustomResourceDefinition')[0]!.metadata.annotations?.['helm.sh/resource-policy']).toBeUndefined(),
    ],
    ['serviceMonitor.enabled adds a ServiceMonitor', ['serviceMonitor.enabled=true'], (o: Manifest[]) => expect(only(o, 'ServiceMonitor')).toHaveLength(1)],
    ['rbac.create=false drops every role', ['rbac.create=false'], (o: Manifest[]) => expect(kindsOf(o).filter((k) => k.includes('Role'))).toEqual([])],
    [
      'leaderElection.enabled=false turns it off',
      ['leaderElection.enabled=false'],
      (o: Manifest[]) => expect(envOf(podOf(only(o, 'Deployment')[0]!).containers[0]!, 'VIEWPORT_OPERATOR_LEADER_ELECT')).toBe('false'),
    ],
  ])('%s', (_name, sets, check) => {
    check(renderChart(sets));
  });
});

describe('tenants and the built-in roles', () => {
  const aggregated = (objects: Manifest[]) => only(objects, 'ClusterRole').filter((r) => /-(edit|view)$/.test(r.metadata.name));

  it('aggregates ViewportRelay access into admin and edit (manage) and view (read)', () => {
    const [edit, view] = aggregated(renderChart());
    expect(edit!.metadata.labels).toMatchObject({ 'rbac.authorization.k8s.io/aggregate-to-admin': 'true', 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' });
    expect(edit!.metadata.labels).not.toHaveProperty('rbac.authorization.k8s.io/aggregate-to-view');
    expect(edit!.rules).toContainEqual({
      apiGroups: ['relay.getviewport.com'],
      resources: ['viewportrelays'],
      verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'],
    });
    expect(view!.metadata.labels).toMatchObject({ 'rbac.authorization.k8s.io/aggregate-to-view': 'true' });
    expect(view!.metadata.labels).not.toHaveProperty('rbac.authorization.k8s.io/aggregate-to-edit');
    for (const rule of view!.rules as { verbs: string[] }[]) expect(rule.verbs).toEqual(['get', 'list', 'watch']);
  });

  it('rbac.aggregateToDefaultRoles=false drops them', () => {
    expect(aggregated(renderChart(['rbac.aggregateToDefaultRoles=false']))).toEqual([]);
  });
});

describe('several operator replicas', () => {
  it('are accepted with leader election', () => {
    const [deployment] = only(renderChart(['replicaCount=3']), 'Deployment');
    expect((deployment!.spec as { replicas: number }).replicas).toBe(3);
  });
});
