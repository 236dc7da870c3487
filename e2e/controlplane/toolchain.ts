// Where the control-plane binaries live. This is the harness's config module:
// the only place that reads the environment.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const toolchainDir = resolve(dirname(fileURLToPath(import.meta.url)), '../toolchain');

/** BinaryName is every executable the harness may start. */
export type BinaryName =
  | 'etcd'
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kwok'
  | 'kubectl'
  | 'helm';

/** Toolchain maps each binary to an absolute path. */
export type Toolchain = Readonly<Record<BinaryName, string>>;

/** ToolchainVersions are the pins in e2e/toolchain/versions.env. */
export interface ToolchainVersions {
  readonly kubernetes: string;
  readonly etcd: string;
  readonly kwok: string;
}

/** parseVersionsEnv reads KEY=value lines, ignoring comments and blanks. */
export function parseVersionsEnv(text: string): ToolchainVersions {
  const values = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const need = (key: string): string => {
    const value = values.get(key);
    if (value === undefined || value === '') throw new Error(`versions.env lacks ${key}`);
    return value;
  };
  return { kubernetes: need('K8S_VERSION'), etcd: need('ETCD_VERSION'), kwok: need('KWOK_VERSION') };
}

/** toolchainVersions returns the pinned versions. */
export function toolchainVersions(): ToolchainVersions {
  return parseVersionsEnv(readFileSync(join(toolchainDir, 'versions.env'), 'utf8'));
}

/** resolveToolchain computes binary paths the same way build.sh does:
 * $VIEWPORT_K8S_TOOLCHAIN/bin (or the versioned cache dir), with etcd,
 * kube-apiserver and kubectl taken from $KUBEBUILDER_ASSETS when present. */
export function resolveToolchain(env: NodeJS.ProcessEnv = process.env): Toolchain {
  const v = toolchainVersions();
  const cache =
    env.VIEWPORT_K8S_TOOLCHAIN ??
    join(env.HOME ?? homedir(), '.cache/viewport-relay', `k8s-${v.kubernetes}-${v.etcd}-${v.kwok}`);
  const bin = join(cache, 'bin');
  const assets = env.KUBEBUILDER_ASSETS;
  const hasAssets =
    assets !== undefined &&
    assets !== '' &&
    existsSync(join(assets, 'etcd')) &&
    existsSync(join(assets, 'kube-apiserver'));
  const pick = (name: BinaryName): string =>
    hasAssets && existsSync(join(assets, name)) ? join(assets, name) : join(bin, name);
  return {
    etcd: pick('etcd'),
    'kube-apiserver': pick('kube-apiserver'),
    'kube-controller-manager': join(bin, 'kube-controller-manager'),
    'kube-scheduler': join(bin, 'kube-scheduler'),
    kwok: join(bin, 'kwok'),
    kubectl: pick('kubectl'),
    helm: join(bin, 'helm'),
  };
}

/** ensureToolchain runs e2e/toolchain/build.sh (seconds when warm, a long cold
 * build otherwise; its progress goes to this process's stderr) and returns the
 * binary paths. */
export async function ensureToolchain(): Promise<Toolchain> {
  const script = join(toolchainDir, 'build.sh');
  const code = await new Promise<number | null>((done, fail) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('error', fail);
    child.once('exit', done);
  });
  if (code !== 0) throw new Error(`e2e/toolchain/build.sh failed with exit code ${String(code)}`);
  return resolveToolchain();
}
