// The packaged artefacts against a real API server: the rendered operator
// chart (cluster-wide and namespace-scoped), every example in examples/, and
// the ViewportRelay in docs/install.md pass server-side dry-run; the chart's
// RBAC, applied for real, grants the operator's ServiceAccount what it needs
// and nothing cluster-wide it does not.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { waitFor } from '../controlplane/wait.js';
import { useSharedControlPlane } from './shared-control-plane.js';

const repo = resolve(import.meta.dirname, '../..');
const chart = join(repo, 'charts/viewport-relay-operator');
const shared = useSharedControlPlane();
const helmBin = inject('toolchain').helm;

const RELEASE_NS = 'pkg-operator';
const WATCHED = ['pkg-team-a', 'pkg-team-b'];
// examples/ and docs/install.md put their relays in this namespace.
const EXAMPLES_NS = 'viewport';

function helmTemplate(release: string, sets: string[]): string {
  const args = ['template', release, chart, '--namespace', RELEASE_NS, ...sets.flatMap((s) => ['--set', s])];
  const run = spawnSync(helmBin, args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`helm ${args.join(' ')}: ${run.stderr}`);
  return run.stdout;
}

async function ensureNamespace(name: string): Promise<void> {
  const yaml = `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`;
  const res = await shared.kubectl(['apply', '--server-side', '-f', '-'], yaml);
  expect(res.code, res.stderr).toBe(0);
}

// dryRun applies YAML with server-side dry-run: the API server runs defaulting,
// schema, CEL and admission, and stores nothing. The CRD is already installed
// by the global setup under another field manager, hence --force-conflicts.
async function dryRun(yaml: string): Promise<{ code: number; output: string }> {
  const args = ['apply', '--server-side', '--dry-run=server', '--force-conflicts', '--field-manager=packaging-test', '-f', '-'];
  const res = await shared.kubectl(args, yaml);
  return { code: res.code, output: res.stdout + res.stderr };
}

const kindsIn = (yaml: string): string[] =>
  parseAllDocuments(yaml)
    .map((d) => (d.toJS() as { kind?: string } | null)?.kind)
    .filter((k): k is string => k !== undefined);

beforeAll(async () => {
  for (const ns of [RELEASE_NS, ...WATCHED, EXAMPLES_NS]) await ensureNamespace(ns);
});

describe('operator chart, server-side dry-run', () => {
  it.each([
    ['cluster-wide', []],
    ['namespace-scoped', [`watchNamespaces={${WATCHED.join(',')}}`]],
  ])('%s: every rendered object is accepted', async (_mode, sets) => {
    const yaml = helmTemplate('viewport-relay-operator', sets);
    const result = await dryRun(yaml);
    expect(result.code, result.output).toBe(0);
    // One line per object: "<kind>/<name> serverside-applied (server dry run)".
    expect(result.output.match(/\(server dry run\)/g)?.length).toBe(kindsIn(yaml).length);
  });

  it('the API server rejects a broken render (the dry-run really validates)', async () => {
    const yaml = helmTemplate('viewport-relay-operator', []).replace(/terminationGracePeriodSeconds: \d+/, 'terminationGracePeriodSeconds: soon');
    const result = await dryRun(yaml);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('terminationGracePeriodSeconds');
  });
});

describe('operator chart RBAC, applied', () => {
  const sa = `system:serviceaccount:${RELEASE_NS}:viewport-relay-operator`;
  // resource may name a subresource as "<resource>/<subresource>".
  const canI = async (verb: string, resource: string, namespace?: string): Promise<string> => {
    const ns = namespace ? ['-n', namespace] : ['--all-namespaces'];
    const [kind, sub] = resource.split('/');
    const subresource = sub ? [`--subresource=${sub}`] : [];
    const res = await shared.kubectl(['auth', 'can-i', verb, kind!, ...subresource, '--as', sa, ...ns]);
    return res.stdout.trim();
  };

  beforeAll(async () => {
    const yaml = parseAllDocuments(helmTemplate('viewport-relay-operator', []))
      .map((d) => d.toJS() as { kind: string } | null)
      .filter((o) => o !== null && /^(ServiceAccount|ClusterRole|ClusterRoleBinding|Role|RoleBinding)$/.test(o.kind))
      .map((o) => JSON.stringify(o))
      .join('\n');
    const res = await shared.kubectl(['apply', '--server-side', '--field-manager=packaging-test', '-f', '-'], yaml);
    expect(res.code, res.stderr).toBe(0);
  });

  it.each([
    ['watch', 'viewportrelays.relay.getviewport.com', undefined],
    ['patch', 'viewportrelays.relay.getviewport.com/status', undefined],
    ['create', 'deployments.apps', undefined],
    ['create', 'leases.coordination.k8s.io', RELEASE_NS],
  ])('may %s %s', async (verb, resource, namespace) => {
    expect(await canI(verb, resource, namespace)).toBe('yes');
  });

  it.each([
    ['update', 'viewportrelays.relay.getviewport.com'],
    ['delete', 'nodes'],
    ['create', 'clusterroles.rbac.authorization.k8s.io'],
    ['get', 'customresourcedefinitions.apiextensions.k8s.io'],
    ['update', 'deployments.apps'],
    ['get', 'leases.coordination.k8s.io'],
  ])('may not %s %s', async (verb, resource) => {
    expect(await canI(verb, resource)).toBe('no');
  });

  it('may read and renew only its own Lease', async () => {
    const canLease = async (verb: string, name: string): Promise<string> =>
      (await shared.kubectl(['auth', 'can-i', verb, `leases.coordination.k8s.io/${name}`, '--as', sa, '-n', RELEASE_NS])).stdout.trim();
    expect(await canLease('update', 'viewport-relay-operator')).toBe('yes');
    expect(await canLease('get', 'viewport-relay-operator')).toBe('yes');
    expect(await canLease('update', 'someone-elses-lease')).toBe('no');
    expect(await canLease('get', 'someone-elses-lease')).toBe('no');
  });
});

describe('tenants through the built-in roles (the aggregated ClusterRoles of the chart, applied above)', () => {
  const TENANT_NS = 'pkg-tenant';
  const relays = 'viewportrelays.relay.getviewport.com';
  const canUser = async (user: string, verb: string, namespace: string): Promise<string> =>
    (await shared.kubectl(['auth', 'can-i', verb, relays, '--as', user, '-n', namespace])).stdout.trim();

  beforeAll(async () => {
    await ensureNamespace(TENANT_NS);
    const binding = (user: string, role: string) =>
      `apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: ${user}-${role}\n  namespace: ${TENANT_NS}\n` +
      `roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${role}}\nsubjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: ${user}}]\n`;
    const res = await shared.kubectl(['apply', '--server-side', '-f', '-'], `${binding('tenant-editor', 'edit')}---\n${binding('tenant-viewer', 'view')}`);
    expect(res.code, res.stderr).toBe(0);
  });

  it('edit may manage ViewportRelays in its namespace only; view may only read them', async () => {
    // The controller-manager aggregates the labelled rules into edit and view a moment after they appear.
    await waitFor('edit to include ViewportRelays', async () => ((await canUser('tenant-editor', 'create', TENANT_NS)) === 'yes' ? true : undefined));
    await waitFor('view to include ViewportRelays', async () => ((await canUser('tenant-viewer', 'list', TENANT_NS)) === 'yes' ? true : undefined));
    for (const verb of ['get', 'update', 'patch', 'delete']) expect(await canUser('tenant-editor', verb, TENANT_NS), verb).toBe('yes');
    expect(await canUser('tenant-editor', 'create', EXAMPLES_NS)).toBe('no');
    for (const verb of ['get', 'watch']) expect(await canUser('tenant-viewer', verb, TENANT_NS), verb).toBe('yes');
    for (const verb of ['create', 'update', 'delete']) expect(await canUser('tenant-viewer', verb, TENANT_NS), verb).toBe('no');
  });
});

describe('examples and docs, server-side dry-run', () => {
  const examplesDir = join(repo, 'examples');
  const examples = existsSync(examplesDir) ? readdirSync(examplesDir).filter((f) => /\.ya?ml$/.test(f)).sort() : [];

  it('there are examples to check', () => {
    expect(examples.length).toBeGreaterThan(0);
  });

  it.each(examples)('examples/%s is accepted', async (file) => {
    const yaml = readFileSync(join(examplesDir, file), 'utf8');
    expect(kindsIn(yaml)).toContain('ViewportRelay');
    const result = await dryRun(yaml);
    expect(result.code, result.output).toBe(0);
  });

  it('the first ViewportRelay of docs/install.md is accepted', async () => {
    const doc = readFileSync(join(repo, 'docs/install.md'), 'utf8');
    const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => /^kind: ViewportRelay$/m.test(b));
    expect(blocks).toHaveLength(1);
    const result = await dryRun(blocks[0]!);
    expect(result.code, result.output).toBe(0);
  });
});
