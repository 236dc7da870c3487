// argocd/health.lua under the real Lua 5.4 interpreter, on the status fixtures
// in argocd/test/cases, run the way Argo CD runs it (global `obj`).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { toLua } from '../lua.js';
import { repoRoot } from '../repo.js';

const argocdDir = path.join(repoRoot, 'argocd');
const healthScript = path.join(argocdDir, 'health.lua');
const casesDir = path.join(argocdDir, 'test/cases');

interface HealthCase {
  expect: { status: string; message: string };
  object: unknown;
}

const cases = fs
  .readdirSync(casesDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((file) => ({ name: file.replace(/\.yaml$/, ''), ...(parse(fs.readFileSync(path.join(casesDir, file), 'utf8')) as HealthCase) }));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'viewport-argocd-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Outcome {
  status: string;
  message: string;
}

// runHealth runs a health script on named objects with the Lua runner and
// returns each case's outcome and the runner's exit code.
function runHealth(script: string, objects: { name: string; object: unknown }[]): { code: number | null; outcomes: Map<string, Outcome> } {
  const casesFile = path.join(tmp, `cases-${objects.length}-${path.basename(script)}.lua`);
  fs.writeFileSync(casesFile, `return ${toLua(objects.map((c) => ({ name: c.name, object: c.object })))}\n`);
  const run = spawnSync('lua5.4', [path.join(argocdDir, 'test/run.lua'), script, casesFile], { encoding: 'utf8' });
  if (run.error) throw run.error;
  expect(run.stderr).toBe('');
  const outcomes = new Map<string, Outcome>();
  for (const line of run.stdout.split('\n').filter(Boolean)) {
    const [name, status, message] = line.split('\t');
    outcomes.set(name!, { status: status!, message: message ?? '' });
  }
  return { code: run.status, outcomes };
}

describe('argocd/health.lua', () => {
  const { code, outcomes } = runHealth(healthScript, cases);

  it('has a case for every health status it can return', () => {
    expect(new Set(cases.map((c) => c.expect.status))).toEqual(new Set(['Healthy', 'Progressing', 'Degraded', 'Suspended']));
    expect(code).toBe(0);
  });

  it.each(cases)('$name → $expect.status', (c) => {
    expect(outcomes.get(c.name)).toEqual(c.expect);
  });

  it('never errors on malformed objects', () => {
    const malformed = [
      { name: 'empty', object: {} },
      { name: 'conditions-empty', object: { metadata: { generation: 1 }, status: { observedGeneration: 1, conditions: [] } } },
      { name: 'no-generation', object: { metadata: {}, status: { conditions: [{ type: 'Ready', status: 'True' }] } } },
    ];
    const result = runHealth(healthScript, malformed);
    expect(result.code).toBe(0);
    expect(result.outcomes.get('empty')?.status).toBe('Progressing');
    expect(result.outcomes.get('conditions-empty')?.status).toBe('Progressing');
    expect(result.outcomes.get('no-generation')).toEqual({ status: 'Healthy', message: 'Ready' });
  });

  it('the runner fails a script that returns an invalid status', () => {
    const broken = path.join(tmp, 'broken.lua');
    fs.writeFileSync(broken, 'return { status = "Fine", message = "x" }\n');
    const result = runHealth(broken, [{ name: 'any', object: {} }]);
    expect(result.code).toBe(1);
    expect(result.outcomes.get('any')?.status).toBe('INVALID');
  });
});

describe('argocd/argocd-cm.yaml', () => {
  it('embeds health.lua verbatim under the ViewportRelay health key', () => {
    const cm = parse(fs.readFileSync(path.join(argocdDir, 'argocd-cm.yaml'), 'utf8')) as { data: Record<string, string> };
    expect(Object.keys(cm.data)).toEqual(['resource.customizations.health.relay.getviewport.com_ViewportRelay']);
    expect(cm.data['resource.customizations.health.relay.getviewport.com_ViewportRelay']).toBe(fs.readFileSync(healthScript, 'utf8'));
  });
});
