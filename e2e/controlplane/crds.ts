// Installing the repository's CustomResourceDefinitions into a control plane.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubectlResult } from './kubectl.js';
import { waitFor } from './wait.js';

/** KubectlRunner is anything that runs kubectl as an admin (a ControlPlane, the shared one). */
export interface KubectlRunner {
  kubectl(args: readonly string[]): Promise<KubectlResult>;
}

/** crdFiles lists the *.yaml / *.yml files in dir (none when dir is absent), sorted. */
export function crdFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => join(dir, f));
}

/** crdNames returns the metadata.name of every CustomResourceDefinition in a YAML stream. */
export function crdNames(yamlText: string): string[] {
  const names: string[] = [];
  for (const doc of parseAllDocuments(yamlText)) {
    const value = doc.toJS() as { kind?: unknown; metadata?: { name?: unknown } } | null;
    if (value?.kind === 'CustomResourceDefinition' && typeof value.metadata?.name === 'string') {
      names.push(value.metadata.name);
    }
  }
  return names;
}

/** installCrds server-side-applies every YAML file in dir with kubectl, exactly
 * as a user would, and waits until each CRD is Established; returns the CRD
 * names. An empty or missing dir installs nothing. */
export async function installCrds(cp: KubectlRunner, dir: string): Promise<string[]> {
  const installed: string[] = [];
  for (const file of crdFiles(dir)) {
    const names = crdNames(readFileSync(file, 'utf8'));
    if (names.length === 0) continue;
    const applied = await cp.kubectl(['apply', '--server-side', '--field-manager=e2e', '-f', file]);
    if (applied.code !== 0) throw new Error(`kubectl apply -f ${file} failed: ${applied.stderr.trim()}`);
    // `kubectl wait` errors out while status.conditions is still absent, so poll.
    for (const name of names) {
      await waitFor(`CRD ${name} Established`, async () => {
        const res = await cp.kubectl(['get', `crd/${name}`, '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}']);
        if (res.code !== 0) throw new Error(res.stderr.trim());
        return res.stdout.trim() === 'True' ? true : undefined;
      });
    }
    installed.push(...names);
  }
  return installed;
}
