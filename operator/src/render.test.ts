import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { CHILD_KINDS, findKind } from './kinds.js';
import { ambiguous, formatObjects, GENERATED_PLACEHOLDER, renderRelays } from './render.js';

const root = join(import.meta.dirname, '..', '..');
const examplesDir = join(root, 'examples');
const examples = readdirSync(examplesDir).filter((f) => f.endsWith('.yaml'));
const cfg = { relayImage: 'ghcr.io/viewport/relay:test' };

// What each example must produce, by "Kind/name" (NetworkPolicies are on unless a spec turns them off).
const expected: Record<string, string[]> = {
  'minimal-single.yaml': ['ServiceAccount/minimal', 'Secret/minimal-generated', 'Service/minimal', 'Deployment/minimal', 'NetworkPolicy/minimal'],
  'managed-redis.yaml': [
    'ServiceAccount/managed-redis', 'Secret/managed-redis-generated', 'Service/managed-redis-redis', 'Deployment/managed-redis-redis', 'Service/managed-redis', 'Deployment/managed-redis',
    'PodDisruptionBudget/managed-redis', 'HorizontalPodAutoscaler/managed-redis', 'NetworkPolicy/managed-redis', 'NetworkPolicy/managed-redis-redis', 'Ingress/managed-redis', 'ServiceMonitor/managed-redis',
  ],
  'external-redis-tls.yaml': ['ServiceAccount/external-redis', 'Service/external-redis', 'Deployment/external-redis', 'PodDisruptionBudget/external-redis', 'NetworkPolicy/external-redis', 'Ingress/external-redis'],
  'server-backplane.yaml': ['ServiceAccount/server-backplane', 'Secret/server-backplane-generated', 'Service/server-backplane', 'Deployment/server-backplane', 'PodDisruptionBudget/server-backplane', 'NetworkPolicy/server-backplane', 'Ingress/server-backplane'],
  'pinned-redirect.yaml': [
    'ServiceAccount/pinned', 'Secret/pinned-generated', 'Service/pinned-redis', 'Deployment/pinned-redis', 'Service/pinned', 'Service/pinned-pods',
    'Service/pinned-0', 'Service/pinned-1', 'Service/pinned-2', 'StatefulSet/pinned', 'PodDisruptionBudget/pinned', 'NetworkPolicy/pinned',
    'NetworkPolicy/pinned-redis', 'Ingress/pinned',
  ],
  'gateway-api.yaml': [
    'ServiceAccount/gateway', 'Secret/gateway-generated', 'Service/gateway-redis', 'Deployment/gateway-redis', 'Service/gateway', 'Deployment/gateway',
    'PodDisruptionBudget/gateway', 'NetworkPolicy/gateway', 'NetworkPolicy/gateway-redis', 'HTTPRoute/gateway', 'Certificate/gateway',
  ],
};

describe('render every example', () => {
  it('has an expectation for every example file', () => {
    expect(examples.sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(examples)('%s', (file) => {
    const res = renderRelays(readFileSync(join(examplesDir, file), 'utf8'), cfg);
    if (!res.ok) throw new Error(res.errors.join('\n'));
    expect(res.objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(expected[file]);
    for (const o of res.objects) {
      // Every object is a known child kind, namespaced, labelled and hashed.
      expect(findKind(o.apiVersion, o.kind)?.child, `${o.kind}`).toBe(true);
      expect(o.metadata.namespace).toBe('viewport');
      expect(o.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('viewport-relay-operator');
      expect(o.metadata.annotations?.['relay.getviewport.com/spec-hash']).toMatch(/^[0-9a-f]{16}$/);
    }
    const secret = res.objects.find((o) => o.kind === 'Secret');
    for (const v of Object.values((secret?.data ?? {}) as Record<string, string>)) {
      expect(Buffer.from(v, 'base64').toString()).toBe(GENERATED_PLACEHOLDER);
    }
    // The YAML stream parses back to the same objects.
    const docs = YAML.parseAllDocuments(formatObjects(res.objects, 'yaml')).map((d) => d.toJS() as unknown);
    expect(docs).toEqual(res.objects);
  });

  it('only produces kinds the operator watches and RBAC grants', () => {
    const childKinds = new Set(CHILD_KINDS.map((k) => k.kind));
    for (const file of examples) {
      const res = renderRelays(readFileSync(join(examplesDir, file), 'utf8'), cfg);
      if (res.ok) for (const o of res.objects) expect(childKinds.has(o.kind)).toBe(true);
    }
  });
});

describe('render output for YAML 1.1 readers (kubectl)', () => {
  it.each(['no', 'yes', 'on', 'off', 'y', 'n', 'N', 'True', '~', 'null', '', '0755', '010', '1_000', '12:30', '1e3', '0x1f', '0o17', '.inf', '-.5', '42'])('quotes %j', (text) => {
    expect(ambiguous(text)).toBe(true);
    const out = formatObjects([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { [text === '' ? 'empty' : text]: text } }], 'yaml');
    // Read back by a YAML 1.1 reader, the value (and the key) are still that string.
    const read = YAML.parse(out.replace(/^---\n/, ''), { version: '1.1' }) as { data: Record<string, unknown> };
    expect(read.data[text === '' ? 'empty' : text]).toBe(text);
  });

  it.each(['relay', 'viewport:relay', 'ghcr.io/viewport/relay:0.1.0', '7781x', 'noeviction'])('leaves %j plain', (text) => {
    expect(ambiguous(text)).toBe(false);
  });

  it('keeps the managed Redis args strings for YAML 1.1 and 1.2 readers', () => {
    const res = renderRelays(readFileSync(join(examplesDir, 'managed-redis.yaml'), 'utf8'), cfg);
    if (!res.ok) throw new Error(res.errors.join('\n'));
    const text = formatObjects(res.objects, 'yaml');
    for (const version of ['1.1', '1.2'] as const) {
      const redis = YAML.parseAllDocuments(text, { version })
        .map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec?: { template: { spec: { containers: { args: unknown[] }[] } } } })
        .find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-redis'));
      const args = redis?.spec?.template.spec.containers[0]?.args ?? [];
      expect(args.length).toBeGreaterThan(0);
      for (const a of args) expect(typeof a, `${version} ${String(a)}`).toBe('string');
    }
    expect(text).not.toMatch(/^%YAML/m);
  });

  it('leaves out what only a live cluster knows: owner references, generated Secret data, the Secret checksum', () => {
    const res = renderRelays(readFileSync(join(examplesDir, 'managed-redis.yaml'), 'utf8'), cfg);
    if (!res.ok) throw new Error(res.errors.join('\n'));
    const text = formatObjects(res.objects, 'yaml');
    expect(text).not.toContain('ownerReferences');
    expect(text).not.toContain('secrets-checksum');
    expect(text).not.toContain(GENERATED_PLACEHOLDER);
    expect(res.objects.find((o) => o.kind === 'Secret')?.data).toBeUndefined();
  });
});

describe('render errors', () => {
  it.each([
    ['invalid spec', 'apiVersion: relay.getviewport.com/v1alpha1\nkind: ViewportRelay\nmetadata: {name: r}\nspec: {replicas: 2, platform: {validateUrl: "https://a.example.com/v", internalKeySecretRef: {name: p, key: k}}}\n', /document 1: spec.backplane: more than one replica/],
    ['broken YAML', 'a: [1,\n', /document 1:/],
    ['empty input', '', /no ViewportRelay found/],
  ])('%s', (_name, text, message) => {
    const res = renderRelays(text, cfg);
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.errors.join('\n')).toMatch(message);
  });
});

const cli = join(root, 'operator', 'dist', 'cli.js');
const run = promisify(execFile);

describe('viewport-relay-operator CLI (built dist/, `npm test` builds first)', () => {
  it('dist/cli.js exists', () => {
    expect(existsSync(cli), 'run `npm run build -w operator` first').toBe(true);
  });

  it('render -o json prints a List', async () => {
    const { stdout } = await run(process.execPath, [cli, 'render', '-f', join(examplesDir, 'minimal-single.yaml'), '-o', 'json']);
    const list = JSON.parse(stdout) as { kind: string; items: { kind: string }[] };
    expect(list.kind).toBe('List');
    expect(list.items.map((i) => i.kind)).toEqual(['ServiceAccount', 'Secret', 'Service', 'Deployment', 'NetworkPolicy']);
  });

  it('render exits 1 with the problem on an invalid file', async () => {
    const err = await run(process.execPath, [cli, 'render', '-f', join(root, 'operator', 'package.json')]).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err?.stderr).toMatch(/^error: document 1:/);
  });

  it('crds prints the generated CRD', async () => {
    const { stdout } = await run(process.execPath, [cli, 'crds']);
    expect(stdout).toBe(readFileSync(join(root, 'crds', 'viewportrelays.yaml'), 'utf8'));
  });
});
