// docs/install.md and docs/operations.md stay true to the repository: the
// paths they mention exist, and the Helm settings they show render.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderChart } from '../helm.js';
import { repoRoot } from '../repo.js';

const docs = ['docs/install.md', 'docs/operations.md'] as const;
const TOP_LEVEL = ['argocd', 'charts', 'crds', 'docs', 'e2e', 'examples', 'operator', 'packaging', 'relay', 'scripts'];

describe.each(docs)('%s', (doc) => {
  const text = fs.readFileSync(path.join(repoRoot, doc), 'utf8');

  it('mentions only repository paths that exist', () => {
    const paths = [...text.matchAll(/`([\w.-]+\/[\w./-]*)`/g)]
      .map((m) => m[1]!)
      .filter((p) => TOP_LEVEL.includes(p.split('/')[0]!) || p.startsWith('Dockerfile'));
    expect(paths.length).toBeGreaterThan(0);
    for (const p of new Set(paths)) expect(fs.existsSync(path.join(repoRoot, p)), `${doc} mentions ${p}`).toBe(true);
  });

  it('shows only Helm settings the chart accepts', () => {
    const sets = [...text.matchAll(/--set '?([\w.]+=[^\s'\\]+)'?/g)].map((m) => m[1]!);
    if (doc === 'docs/install.md') expect(sets.length).toBeGreaterThan(0);
    if (sets.length > 0) expect(renderChart(sets).map((o) => o.kind)).toContain('Deployment');
  });
});

describe('CLI options shown in docs/operations.md', () => {
  const text = fs.readFileSync(path.join(repoRoot, 'docs/operations.md'), 'utf8');
  const clis = [
    { command: 'viewport-relay probe', entry: 'relay/dist/cli.js', sub: 'probe' },
    { command: 'viewport-relay-operator render', entry: 'operator/dist/cli.js', sub: 'render' },
  ];

  it.each(clis)('$command takes every option the guide uses', ({ command, entry, sub }) => {
    const help = execFileSync(process.execPath, [path.join(repoRoot, entry), sub, '--help'], { encoding: 'utf8' });
    // The command's arguments, up to a pipe, a closing backtick or the end of
    // the line (backslash continuations included).
    const uses = [...text.matchAll(new RegExp(`${command}((?:\\\\\\n|[^\\n\`|])*)`, 'g'))].flatMap((m) =>
      [...m[1]!.matchAll(/(?:^|\s)(--?[a-z][\w-]*)/g)].map((f) => f[1]!),
    );
    expect(uses.length).toBeGreaterThan(0);
    // Whole options only: --token-fil must not pass because --token-file exists.
    for (const flag of new Set(uses)) expect(help, `${command} ${flag}`).toMatch(new RegExp(`(^|[\\s,])${flag}(?![\\w-])`, 'm'));
  });
});
