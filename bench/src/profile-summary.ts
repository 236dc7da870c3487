// node bench/dist/profile-summary.js <file.cpuprofile> [top]
// Prints where a V8 CPU profile (node --cpu-prof) spent its samples: self
// time per function, and per origin (relay code, ws, Node internals, GC, idle).
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

/** originOf groups a function by where its code lives. */
export function originOf(url: string, name: string): string {
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)' || name === '(program)' || name === '(root)') return name;
  if (url.includes('/node_modules/ws/')) return 'ws';
  if (url.includes('/relay/dist/')) return 'relay';
  if (url.includes('/node_modules/')) return 'other packages';
  if (url.startsWith('node:') || url === '') return 'node internals / native';
  return 'other';
}

function keyOf(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url ? `${url.replace(/^file:\/\/.*?\/(relay|node_modules)\//, '$1/')}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'} ${where}`.trim();
}

// inclusiveByFunction sums each node's subtree hits under its function, counting a function once per stack (recursion-safe).
function inclusiveByFunction(nodes: readonly ProfileNode[]): Map<string, number> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const childIds = new Set(nodes.flatMap((n) => n.children ?? []));
  const totals = new Map<string, number>();
  const walk = (node: ProfileNode, onStack: Set<string>): number => {
    const key = keyOf(node);
    let sum = node.hitCount ?? 0;
    const fresh = !onStack.has(key);
    if (fresh) onStack.add(key);
    for (const id of node.children ?? []) sum += walk(byId.get(id)!, onStack);
    if (fresh) {
      onStack.delete(key);
      totals.set(key, (totals.get(key) ?? 0) + sum);
    }
    return sum;
  };
  for (const root of nodes.filter((n) => !childIds.has(n.id))) walk(root, new Set());
  return totals;
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: profile-summary <file.cpuprofile> [top]');
  const top = Number(topArg ?? 30);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const total = profile.samples.length;
  const msPerSample = (profile.endTime - profile.startTime) / 1000 / Math.max(1, total);
  const byFn = new Map<string, number>();
  const byOrigin = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (!hits) continue;
    const { functionName, url } = node.callFrame;
    const key = keyOf(node);
    byFn.set(key, (byFn.get(key) ?? 0) + hits);
    const origin = originOf(url, functionName);
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + hits);
  }
  const busy = total - (byOrigin.get('(idle)') ?? 0);
  const pct = (n: number, of: number): string => `${((100 * n) / of).toFixed(1).padStart(5)}%`;
  process.stdout.write(`${file}: ${total} samples, ${(total * msPerSample).toFixed(0)} ms, ${busy} busy\n\nby origin (% of busy samples)\n`);
  for (const [origin, n] of [...byOrigin].sort((a, b) => b[1] - a[1])) {
    if (origin !== '(idle)') process.stdout.write(`  ${pct(n, busy)}  ${origin}\n`);
  }
  process.stdout.write(`\ntop ${top} functions by self time (% of busy samples)\n`);
  for (const [key, n] of [...byFn].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`  ${pct(n, busy)}  ${key}\n`);
  }
  process.stdout.write(`\nrelay functions by inclusive time (% of busy samples)\n`);
  const inclusive = [...inclusiveByFunction(profile.nodes)].filter(([k]) => k.includes('relay/dist/'));
  for (const [key, n] of inclusive.sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`  ${pct(n, busy)}  ${key}\n`);
  }
}

main();
