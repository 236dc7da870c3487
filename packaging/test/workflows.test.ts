// The GitHub Actions workflows parse, pass actionlint (built from the Go
// module proxy, scripts/go-tool.sh), and every npm script, file and script
// they name exists, so a rename cannot silently break CI that only runs there.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../repo.js';

const workflowsDir = path.join(repoRoot, '.github/workflows');
const rootScripts = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
  .scripts;

interface Workflow {
  on: unknown;
  jobs: Record<string, { 'runs-on': string; 'timeout-minutes': number; steps: { run?: string; uses?: string }[] }>;
}

const workflows = fs
  .readdirSync(workflowsDir)
  .filter((f) => f.endsWith('.yml'))
  .sort()
  .map((file) => ({ file, workflow: parse(fs.readFileSync(path.join(workflowsDir, file), 'utf8')) as Workflow }));

describe.each(workflows)('.github/workflows/$file', ({ workflow }) => {
  const steps = Object.values(workflow.jobs).flatMap((j) => j.steps);
  const runs = steps.flatMap((s) => (s.run ? [s.run] : []));

  it('bounds every job in time', () => {
    for (const job of Object.values(workflow.jobs)) expect(job['timeout-minutes']).toBeGreaterThan(0);
  });

  it('runs only npm scripts that exist in the root package.json', () => {
    for (const m of runs.join('\n').matchAll(/npm run ([\w:-]+)/g)) expect(Object.keys(rootScripts)).toContain(m[1]);
  });

  it('names only files that exist', () => {
    const named = [...runs.join('\n').matchAll(/(?:-f |bash )([\w./-]+)/g)].map((m) => m[1]!);
    for (const file of named) expect(fs.existsSync(path.join(repoRoot, file)), file).toBe(true);
  });

  it('pins every action to a version', () => {
    for (const uses of steps.flatMap((s) => (s.uses ? [s.uses] : []))) expect(uses).toMatch(/^[\w-]+\/[\w-]+@v\d+$/);
  });
});

describe('actionlint', () => {
  it('passes on every workflow', () => {
    const actionlint = execFileSync('bash', [path.join(repoRoot, 'scripts/go-tool.sh'), 'actionlint'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    const result = spawnSync(actionlint, ['-no-color'], { cwd: repoRoot, encoding: 'utf8' });
    expect(`${result.stdout}${result.stderr}`).toBe('');
    expect(result.status).toBe(0);
  }, 10 * 60_000);
});
