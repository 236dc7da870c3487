// Checks the Dockerfiles without Docker: they lint clean, build on Node 22,
// copy only files that exist and survive .dockerignore, run as a numeric
// non-root user, and the entry point they name starts from the file layout the
// image would have (rebuilt here from this checkout's build output).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { finalLayout, parseCopy, parseDockerfile, stagesOf, type Layout } from '../dockerfile.js';
import { entryPointNodeFlags } from '../../bench/src/image-flags.js';
import { repoRoot } from '../repo.js';

// smoke: a command beyond --version that must work from the image layout alone.
const images = [
  { dockerfile: 'Dockerfile.relay', workspace: 'relay', smoke: { args: ['serve', '--help'], expect: 'serve' } },
  { dockerfile: 'Dockerfile.operator', workspace: 'operator', smoke: { args: ['crds'], expect: 'kind: CustomResourceDefinition' } },
] as const;

const ignorePatterns = fs
  .readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));

// isIgnored understands the two forms .dockerignore uses here: `**/name`
// (any path segment) and a top-level path prefix.
function isIgnored(rel: string): boolean {
  const segments = rel.split('/');
  return ignorePatterns.some((p) =>
    p.startsWith('**/') ? segments.includes(p.slice(3)) : rel === p || rel.startsWith(p + '/'),
  );
}

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

// materialize lays out the final image's files under a temp root: sources are
// copied through the .dockerignore filter, node_modules is this checkout's.
function materialize(layout: Layout): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'viewport-image-'));
  tempDirs.push(root);
  for (const p of layout.placements) {
    const target = path.join(root, p.imagePath);
    const source = path.join(repoRoot, p.repoPath);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (path.basename(p.repoPath) === 'node_modules') {
      if (fs.existsSync(source)) fs.symlinkSync(source, target, 'dir');
      continue;
    }
    fs.cpSync(source, target, {
      recursive: true,
      filter: (src) => !p.fromContext || !isIgnored(path.relative(repoRoot, src)),
    });
  }
  return root;
}

describe.each(images)('$dockerfile', ({ dockerfile, workspace, smoke }) => {
  const text = fs.readFileSync(path.join(repoRoot, dockerfile), 'utf8');
  const stages = stagesOf(parseDockerfile(text));
  const layout = finalLayout(stages);

  it('passes the Dockerfile linter', () => {
    const lint = spawnSync(path.join(repoRoot, 'node_modules/.bin/dockerfile-utils'), ['lint', dockerfile], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
  });

  it('builds every stage on Node 22', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage.base).toMatch(/^(node:22[-.]|gcr\.io\/distroless\/nodejs22)/);
  });

  it('copies only files that exist and are not excluded by .dockerignore', () => {
    const copies = stages.flatMap((s) => s.instructions.filter((i) => i.keyword === 'COPY').map(parseCopy));
    const fromContext = copies.filter((c) => c.from === undefined);
    expect(fromContext.length).toBeGreaterThan(0);
    for (const copy of fromContext) {
      for (const src of copy.sources) {
        const abs = path.join(repoRoot, src);
        expect(fs.existsSync(abs), `${dockerfile}:${copy.line} copies missing ${src}`).toBe(true);
        expect(isIgnored(path.normalize(src).replace(/\/$/, '')), `${src} is excluded by .dockerignore`).toBe(false);
        // The layout reader relies on this to know a directory from a file.
        expect(src.endsWith('/'), `${dockerfile}:${copy.line} ${src}: directories end with /`).toBe(
          fs.statSync(abs).isDirectory(),
        );
      }
    }
    const stageNames = new Set(stages.map((s) => s.name));
    for (const copy of copies.filter((c) => c.from !== undefined)) expect(stageNames.has(copy.from)).toBe(true);
  });

  it('runs as a numeric non-root user with an exec-form node entry point', () => {
    expect(layout.user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(layout.entrypoint?.[0]).toBe('node');
    // Node flags may stand between node and the script; the smoke test below runs with them.
    expect(layout.entrypoint?.at(-1)).toBe(`${workspace}/dist/cli.js`);
    expect(layout.entrypoint?.slice(1, -1).every((flag) => /^--[a-z][a-z0-9-]*(=\S+)?$/.test(flag))).toBe(true);
    expect(layout.cmd).toBeDefined();
  });

  it('ships production dependencies only', () => {
    const deps = stages.find((s) => s.name === 'deps');
    const installs = deps?.instructions.filter((i) => i.keyword === 'RUN' && /npm ci/.test(i.args)) ?? [];
    expect(installs.length).toBe(1);
    expect(installs[0]!.args).toContain('--omit=dev');
    expect(installs[0]!.args).toContain(`--workspace ${workspace}`);
  });

  it('starts its entry point from the image layout (--version and a smoke command)', () => {
    const entry = path.join(repoRoot, workspace, 'dist/cli.js');
    expect(fs.existsSync(entry), `${entry} is missing: run npm run build first`).toBe(true);
    const root = materialize(layout);
    const cwd = path.join(root, layout.workdir);
    const [, ...entryArgs] = layout.entrypoint!;
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, workspace, 'package.json'), 'utf8')) as { version: string };
    const run = (args: readonly string[]): string =>
      execFileSync(process.execPath, [...entryArgs, ...args], { cwd, encoding: 'utf8', timeout: 30_000 });
    expect(run(['--version'])).toContain(pkg.version);
    expect(run(smoke.args)).toContain(smoke.expect);
  });
});

// The benchmark harness reads the relay's Node flags with a one-line reader of its own
// (bench cannot import this package's parser); both must see the same entry point.
describe('the benchmark harness', () => {
  it('reads the same Node flags from Dockerfile.relay as the image layout has', () => {
    const text = fs.readFileSync(path.join(repoRoot, 'Dockerfile.relay'), 'utf8');
    const entrypoint = finalLayout(stagesOf(parseDockerfile(text))).entrypoint ?? [];
    expect(entryPointNodeFlags(text)).toEqual(entrypoint.slice(1, -1));
    expect(entrypoint.length).toBeGreaterThan(2);
  });
});
