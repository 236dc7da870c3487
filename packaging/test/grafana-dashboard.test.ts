// docs/grafana-dashboard.json: valid, laid out without overlaps, and every
// query names a metric (and label) that the relay really exports.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRelayMetrics } from '../../relay/src/admin/metrics.js';
import { repoRoot } from '../repo.js';

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { expr: string; refId: string }[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; query: string | { query: string } }[] };
}

const dashboard = JSON.parse(fs.readFileSync(path.join(repoRoot, 'docs/grafana-dashboard.json'), 'utf8')) as Dashboard;

// Labels every series gets from the Prometheus scrape, not from the relay.
const SCRAPE_LABELS = ['namespace', 'pod', 'instance', 'job', 'service', 'container', 'endpoint'];

async function exportedMetrics(): Promise<Map<string, Set<string>>> {
  const registry = createRelayMetrics().registry;
  const metrics = new Map<string, Set<string>>();
  for (const m of await registry.getMetricsAsJSON()) {
    // prom-client keeps the declared label names on the metric object.
    const declared = (registry.getSingleMetric(m.name) as unknown as { labelNames?: string[] }).labelNames ?? [];
    const labels = new Set<string>([...declared, ...SCRAPE_LABELS]);
    if (String(m.type) === 'histogram') {
      labels.add('le');
      for (const suffix of ['_bucket', '_sum', '_count']) metrics.set(m.name + suffix, labels);
    } else {
      metrics.set(m.name, labels);
    }
  }
  return metrics;
}

const exprs = [
  ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr }))),
  ...dashboard.templating.list.flatMap((v) => (typeof v.query === 'object' ? [{ panel: `$${v.name}`, expr: v.query.query }] : [])),
];

describe('docs/grafana-dashboard.json', () => {
  it('has a uid, unique panel ids and a query on every graph', () => {
    expect(dashboard.uid).toBe('viewport-relay');
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels.filter((p) => p.type !== 'row')) expect(p.targets?.length, p.title).toBeGreaterThan(0);
  });

  it('lays panels out on the 24-column grid without overlaps', () => {
    const cells = new Set<string>();
    for (const { gridPos: g, title } of dashboard.panels) {
      expect(g.x + g.w, title).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`), `${title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it('queries only metrics and labels the relay exports', async () => {
    const metrics = await exportedMetrics();
    expect(exprs.length).toBeGreaterThan(10);
    for (const { panel, expr } of exprs) {
      const names = [...expr.matchAll(/\brelay_[a-z0-9_]+/g)].map((m) => m[0]);
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) {
        const labels = metrics.get(name);
        expect(labels, `${panel}: ${name} is not exported by the relay`).toBeDefined();
        const used = [...expr.matchAll(/\bby \(([^)]*)\)/g), ...expr.matchAll(/, (\w+)\)$/g)].flatMap((m) => m[1]!.split(',').map((s) => s.trim()));
        for (const label of used) expect(labels!.has(label), `${panel}: ${name} has no label ${label}`).toBe(true);
      }
    }
  });
});
