import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseVersionsEnv, resolveToolchain, toolchainVersions } from './toolchain.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(files: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'assets-'));
  dirs.push(dir);
  for (const f of files) writeFileSync(join(dir, f), '');
  return dir;
}

describe('parseVersionsEnv', () => {
  it('reads KEY=value lines and skips comments', () => {
    expect(parseVersionsEnv('# pins\nK8S_VERSION=v1.2.3\n\nETCD_VERSION=v3.4.5\nKWOK_VERSION=v0.1.0\n')).toEqual({
      kubernetes: 'v1.2.3',
      etcd: 'v3.4.5',
      kwok: 'v0.1.0',
    });
  });
  it.each([
    ['missing key', 'K8S_VERSION=v1\nETCD_VERSION=v3\n', 'KWOK_VERSION'],
    ['empty value', 'K8S_VERSION=\nETCD_VERSION=v3\nKWOK_VERSION=v0\n', 'K8S_VERSION'],
  ])('rejects a %s', (_name, text, key) => {
    expect(() => parseVersionsEnv(text)).toThrow(key);
  });
});

describe('resolveToolchain', () => {
  const { kubernetes, etcd, kwok } = toolchainVersions();
  const cacheBin = `/home/u/.cache/viewport-relay/k8s-${kubernetes}-${etcd}-${kwok}/bin`;

  it('uses the versioned cache directory under HOME', () => {
    const t = resolveToolchain({ HOME: '/home/u' });
    expect(t['kube-apiserver']).toBe(`${cacheBin}/kube-apiserver`);
    expect(t.kwok).toBe(`${cacheBin}/kwok`);
  });

  it('honours VIEWPORT_K8S_TOOLCHAIN', () => {
    expect(resolveToolchain({ HOME: '/home/u', VIEWPORT_K8S_TOOLCHAIN: '/opt/k8s' }).etcd).toBe('/opt/k8s/bin/etcd');
  });

  it('takes etcd, kube-apiserver and kubectl from KUBEBUILDER_ASSETS when it has the first two', () => {
    const assets = tempDir(['etcd', 'kube-apiserver', 'kubectl']);
    const t = resolveToolchain({ HOME: '/home/u', KUBEBUILDER_ASSETS: assets });
    expect([t.etcd, t['kube-apiserver'], t.kubectl]).toEqual([join(assets, 'etcd'), join(assets, 'kube-apiserver'), join(assets, 'kubectl')]);
    expect(t['kube-controller-manager']).toBe(`${cacheBin}/kube-controller-manager`);
  });

  it('ignores KUBEBUILDER_ASSETS without kube-apiserver', () => {
    const assets = tempDir(['etcd']);
    expect(resolveToolchain({ HOME: '/home/u', KUBEBUILDER_ASSETS: assets }).etcd).toBe(`${cacheBin}/etcd`);
  });
});
