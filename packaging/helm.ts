// Runs the Helm binary unpacked by packaging/tools.sh and parses what it renders.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from './repo.js';

/** chartDir is the operator chart inside the repository. */
export const chartDir = path.join(repoRoot, 'charts/viewport-relay-operator');

/** Manifest is one rendered Kubernetes object, loosely typed for assertions. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  [field: string]: unknown;
}

let toolsDir: string | undefined;

/** tool returns the absolute path of `helm` or `kubectl`, unpacking them on first use. */
export function tool(name: 'helm' | 'kubectl'): string {
  toolsDir ??= execFileSync('bash', [path.join(repoRoot, 'packaging/tools.sh')], { encoding: 'utf8' }).trim();
  return path.join(toolsDir, name);
}

/** HelmResult is helm's exit status and output; failures are values so tests can assert on them. */
export type HelmResult = { ok: true; stdout: string } | { ok: false; output: string };

/** helm runs the Helm CLI with args and returns its output. */
export function helm(args: string[]): HelmResult {
  try {
    return { ok: true, stdout: execFileSync(tool('helm'), args, { encoding: 'utf8', stdio: 'pipe' }) };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message };
  }
}

/** renderChart runs `helm template` with --set pairs and returns the parsed objects. */
export function renderChart(sets: string[] = [], namespace = 'viewport-system'): Manifest[] {
  const args = ['template', 'viewport', chartDir, '--namespace', namespace, ...sets.flatMap((s) => ['--set', s])];
  const result = helm(args);
  if (!result.ok) throw new Error(`helm ${args.join(' ')} failed:\n${result.output}`);
  return parseAllDocuments(result.stdout)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}
