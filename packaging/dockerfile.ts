// Reads the repository's Dockerfiles closely enough to check them without
// Docker: which files each stage copies from the build context, and which
// repository paths end up in the final image and where. Pure: text in, values
// out; the tests do the file system work.
import path from 'node:path/posix';

/** Instruction is one Dockerfile instruction with its continuation lines joined. */
export interface Instruction {
  line: number;
  keyword: string;
  args: string;
}

/** Stage is one FROM block: its name, base image and instructions. */
export interface Stage {
  name: string | undefined;
  base: string;
  instructions: Instruction[];
}

/** CopyInstruction is a parsed COPY: flags, sources and destination. */
export interface CopyInstruction {
  line: number;
  from: string | undefined;
  sources: string[];
  dest: string;
}

/** parseDockerfile splits text into instructions (comments dropped, `\` continuations joined). */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const start = i + 1;
    let joined = raw;
    while (joined.endsWith('\\') && i + 1 < lines.length) {
      i++;
      const next = lines[i]!.trim();
      if (next.startsWith('#')) continue;
      joined = joined.slice(0, -1).trimEnd() + ' ' + next;
    }
    const match = /^(\S+)\s*(.*)$/.exec(joined)!;
    out.push({ line: start, keyword: match[1]!.toUpperCase(), args: match[2]! });
  }
  return out;
}

/** stagesOf groups instructions by FROM, substituting global ARG defaults in base images. */
export function stagesOf(instructions: Instruction[]): Stage[] {
  const globals = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'ARG' && stages.length === 0) {
      const [key, value = ''] = ins.args.split('=', 2);
      globals.set(key!.trim(), unquote(value.trim()));
      continue;
    }
    if (ins.keyword === 'FROM') {
      const words = ins.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const base = words[0]!.replace(/\$\{?(\w+)\}?/g, (_, k: string) => globals.get(k) ?? '');
      const asIndex = words.findIndex((w) => w.toUpperCase() === 'AS');
      stages.push({ name: asIndex >= 0 ? words[asIndex + 1] : undefined, base, instructions: [] });
      continue;
    }
    stages.at(-1)?.instructions.push(ins);
  }
  return stages;
}

/** parseCopy reads a COPY's --from flag, sources and destination (shell form only). */
export function parseCopy(ins: Instruction): CopyInstruction {
  const words = ins.args.split(/\s+/).filter(Boolean);
  let from: string | undefined;
  const rest: string[] = [];
  for (const w of words) {
    if (w.startsWith('--from=')) from = w.slice('--from='.length);
    else if (!w.startsWith('--')) rest.push(w);
  }
  return { line: ins.line, from, sources: rest.slice(0, -1), dest: rest.at(-1) ?? '' };
}

/** execForm parses an exec-form ENTRYPOINT/CMD (a JSON array); undefined for shell form. */
export function execForm(args: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((x) => typeof x === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Placement says that a repository path (file or directory) sits at an absolute image path. */
export interface Placement {
  imagePath: string;
  repoPath: string;
  /** fromContext is true when it came through the build context (.dockerignore applies). */
  fromContext: boolean;
}

/** Layout is what the final stage holds, as far as the repository decides it. */
export interface Layout {
  workdir: string;
  user: string | undefined;
  entrypoint: string[] | undefined;
  cmd: string[] | undefined;
  placements: Placement[];
}

// RUN steps whose outputs come from the repository: `npm ci` yields the root
// node_modules (this checkout's install stands in for it), a workspace build
// yields <workspace>/dist. Other RUN steps add nothing the check needs.
function runOutputs(args: string, workdir: string): Placement[] {
  const out: Placement[] = [];
  if (/\bnpm ci\b/.test(args)) {
    out.push({ imagePath: path.join(workdir, 'node_modules'), repoPath: 'node_modules', fromContext: false });
    for (const m of args.matchAll(/(?:--workspace|-w)[ =](\S+)/g)) {
      out.push({ imagePath: path.join(workdir, m[1]!, 'node_modules'), repoPath: `${m[1]!}/node_modules`, fromContext: false });
    }
  }
  for (const m of args.matchAll(/npm run build (?:--workspace|-w)[ =](\S+)/g)) {
    out.push({ imagePath: path.join(workdir, m[1]!, 'dist'), repoPath: `${m[1]!}/dist`, fromContext: false });
  }
  return out;
}

/** finalLayout follows COPY (from the context and between stages) and known RUN outputs into the last stage. */
export function finalLayout(stages: Stage[]): Layout {
  const byName = new Map<string, Placement[]>();
  let layout: Layout | undefined;
  for (const stage of stages) {
    const placements: Placement[] = [];
    let workdir = '/';
    let user: string | undefined;
    let entrypoint: string[] | undefined;
    let cmd: string[] | undefined;
    for (const ins of stage.instructions) {
      switch (ins.keyword) {
        case 'WORKDIR':
          workdir = path.resolve(workdir, ins.args.trim());
          break;
        case 'USER':
          user = ins.args.trim();
          break;
        case 'ENTRYPOINT':
          entrypoint = execForm(ins.args);
          break;
        case 'CMD':
          cmd = execForm(ins.args);
          break;
        case 'RUN':
          placements.push(...runOutputs(ins.args, workdir));
          break;
        case 'COPY':
          placements.push(...copyPlacements(parseCopy(ins), workdir, byName));
          break;
      }
    }
    if (stage.name) byName.set(stage.name, placements);
    layout = { workdir, user, entrypoint, cmd, placements };
  }
  if (!layout) throw new Error('Dockerfile has no stage');
  return layout;
}

function copyPlacements(copy: CopyInstruction, workdir: string, stages: Map<string, Placement[]>): Placement[] {
  const destDir = path.resolve(workdir, copy.dest);
  const multiple = copy.sources.length > 1 || copy.dest.endsWith('/');
  if (copy.from === undefined) {
    // Convention checked by the tests: directory sources end with '/', and
    // Docker copies a directory's contents (not the directory) into dest.
    return copy.sources.map((src) => ({
      imagePath: multiple && !src.endsWith('/') ? path.join(destDir, path.basename(src)) : destDir,
      repoPath: path.normalize(src).replace(/\/$/, ''),
      fromContext: true,
    }));
  }
  const earlier = stages.get(copy.from) ?? [];
  const out: Placement[] = [];
  for (const src of copy.sources) {
    const srcAbs = path.resolve('/', src);
    for (const p of earlier) {
      if (p.imagePath === srcAbs || p.imagePath.startsWith(srcAbs + '/')) {
        out.push({ ...p, imagePath: path.join(destDir, path.relative(srcAbs, p.imagePath)) });
      }
    }
  }
  return out;
}

function unquote(s: string): string {
  return s.replace(/^"(.*)"$/, '$1');
}
