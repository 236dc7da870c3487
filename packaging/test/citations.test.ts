// The project owns its contract: code, tests and docs cite anchors of
// docs/protocol.md and docs/e2ee-protocol.md, never section numbers or gap
// codes of a document the repository does not ship, and every cited
// docs/*.md#anchor exists. Anchors are explicit `<a id="…">` tags or
// GitHub's heading slugs.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../repo.js';

const SCANNED_DIRS = ['relay', 'operator', 'e2e', 'bench', 'packaging', 'docs', 'scripts', 'examples', 'charts', 'argocd'];
const SCANNED_ROOT_FILES = ['README.md'];
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'coverage']);
const TEXT_FILE = /\.(ts|mts|cts|js|mjs|cjs|md)$/;

// Written with escapes so this file does not match its own rules.
const SECTION_SIGN = /\u00a7/;
const GAP_CODE = /(?<![\w-])G-\d+\b/;
const EXTERNAL_DOC = /(?<![\w/-])(relay-protocol|noise-v3)\.md|\.\.\/shared\//;

function* walk(dir: string): Generator<string> {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || SKIPPED_DIRS.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (TEXT_FILE.test(entry.name)) yield full;
  }
}

const rel = (file: string) => path.relative(repoRoot, file).split(path.sep).join('/');

const files = [
  ...SCANNED_DIRS.flatMap((d) => [...walk(path.join(repoRoot, d))]),
  ...SCANNED_ROOT_FILES.map((f) => path.join(repoRoot, f)),
].map((file) => ({ file, name: rel(file), text: fs.readFileSync(file, 'utf8') }));

/** githubSlug is the id GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens. */
export function githubSlug(heading: string): string {
  return heading
    .replace(/<[^>]*>/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** anchorsOf lists the explicit ids and heading slugs of a markdown document (repeated slugs get -1, -2, …). */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const m of markdown.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]!);
  const seen = new Map<string, number>();
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) inFence = !inFence;
    const h = inFence ? null : /^#{1,6}\s+(.*)$/.exec(line);
    if (!h) continue;
    const slug = githubSlug(h[1]!);
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

interface Citation {
  readonly from: string;
  readonly line: number;
  readonly target: string;
  readonly anchor: string | undefined;
}

/**
 * citationsOf finds links into docs/*.md: `docs/<file>.md#<anchor>` anywhere
 * (relative to the repository root) and, in markdown, `](<file>.md#<anchor>)`
 * links relative to the file.
 */
export function citationsOf(name: string, text: string): Citation[] {
  const out: Citation[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    for (const m of line.matchAll(/(?<![\w./-])docs\/([\w.-]+\.md)(?:#([\w-]+))?/g)) {
      out.push({ from: name, line: i + 1, target: `docs/${m[1]!}`, anchor: m[2] });
    }
    if (!name.endsWith('.md')) return;
    for (const m of line.matchAll(/\]\(([^)\s#]+\.md)(?:#([^)\s]+))?\)/g)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(name), m[1]!));
      if (target.startsWith('docs/') && !m[1]!.startsWith('docs/')) out.push({ from: name, line: i + 1, target, anchor: m[2] });
    }
  });
  return out;
}

function offending(pattern: RegExp): string[] {
  return files
    .flatMap((f) => f.text.split('\n').flatMap((line, i) => (pattern.test(line) ? [`${f.name}:${i + 1}: ${line.trim()}`] : [])));
}

describe('citations of the protocol', () => {
  it('scans the repository', () => {
    expect(files.some((f) => f.name === 'docs/protocol.md')).toBe(true);
    expect(files.some((f) => f.name === 'relay/src/frames/close-codes.ts')).toBe(true);
  });

  it('never cite a section number (cite an anchor of docs/protocol.md instead)', () => {
    expect(offending(SECTION_SIGN)).toEqual([]);
  });

  it('never cite a gap code of the old specification (cite a weak-… anchor of docs/protocol.md instead)', () => {
    expect(offending(GAP_CODE)).toEqual([]);
  });

  it('never name a protocol document the repository does not ship', () => {
    expect(offending(EXTERNAL_DOC)).toEqual([]);
  });

  it('link only docs and anchors that exist', () => {
    const anchors = new Map<string, Set<string> | null>();
    const anchorsFor = (target: string) => {
      if (!anchors.has(target)) {
        const file = path.join(repoRoot, target);
        anchors.set(target, fs.existsSync(file) ? anchorsOf(fs.readFileSync(file, 'utf8')) : null);
      }
      return anchors.get(target);
    };
    const citations = files.flatMap((f) => citationsOf(f.name, f.text));
    expect(citations.filter((c) => c.target === 'docs/protocol.md' && c.anchor !== undefined).length).toBeGreaterThan(50);
    const broken = citations.flatMap((c) => {
      const known = anchorsFor(c.target);
      if (known === null) return [`${c.from}:${c.line}: ${c.target} does not exist`];
      if (c.anchor !== undefined && !known!.has(c.anchor)) return [`${c.from}:${c.line}: ${c.target}#${c.anchor} has no such anchor`];
      return [];
    });
    expect(broken).toEqual([]);
  });

  it.each(['docs/protocol.md', 'docs/e2ee-protocol.md'])('%s defines each explicit anchor once', (doc) => {
    const ids = [...fs.readFileSync(path.join(repoRoot, doc), 'utf8').matchAll(/<a id="([^"]+)"><\/a>/g)].map((m) => m[1]!);
    expect(ids.length).toBeGreaterThan(20);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });
});

describe('anchor helpers', () => {
  it('slug headings the way GitHub does', () => {
    expect(githubSlug('Peer links (redis mode)')).toBe('peer-links-redis-mode');
    expect(githubSlug('When a relay falls behind: refuse, never trim unread frames')).toBe('when-a-relay-falls-behind-refuse-never-trim-unread-frames');
    expect(githubSlug('<a id="close-codes"></a>Close codes')).toBe('close-codes');
    expect([...anchorsOf('## A\n## A\n<a id="x"></a>\n```\n## not a heading\n```')]).toEqual(['x', 'a', 'a-1']);
  });

  it('find citations in code and relative links in docs', () => {
    expect(citationsOf('relay/src/x.ts', '// see docs/protocol.md#close-codes.')).toEqual([
      { from: 'relay/src/x.ts', line: 1, target: 'docs/protocol.md', anchor: 'close-codes' },
    ]);
    expect(citationsOf('docs/relay.md', 'see [codes](protocol.md#close-codes) and [e2ee](e2ee.md)')).toEqual([
      { from: 'docs/relay.md', line: 1, target: 'docs/protocol.md', anchor: 'close-codes' },
      { from: 'docs/relay.md', line: 1, target: 'docs/e2ee.md', anchor: undefined },
    ]);
  });
});
