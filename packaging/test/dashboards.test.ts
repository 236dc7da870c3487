// The chart's Grafana dashboards (files/dashboards/): valid, laid out without
// overlaps, every query names a metric and only labels that metric has, and
// the chart ships them as ConfigMaps with the Grafana sidecar's label. That
// every metric name is really exported is prometheus-metrics.test.ts (a scrape).
import { describe, expect, it } from 'vitest';
import { backplaneMetrics } from '../../relay/src/backplane/metrics.js';
import { createRelayMetrics } from '../../relay/src/admin/metrics.js';
import { createMetrics } from '../../operator/src/metrics.js';
import { renderChart } from '../helm.js';
import { DASHBOARDS, dashboardQueries, MONITORING_VALUES, metricNames, readDashboard } from '../monitoring.js';

type Registry = ReturnType<typeof createMetrics>['registry'];

// Labels every series gets from the Prometheus scrape, not from the program.
const SCRAPE_LABELS = ['namespace', 'pod', 'instance', 'job', 'service', 'container', 'endpoint'];

/** declaredLabels maps each metric name (histograms as their _bucket, _sum, _count series) to the labels it can carry. */
async function declaredLabels(registry: Registry): Promise<Map<string, Set<string>>> {
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

async function everyDeclaredLabel(): Promise<Map<string, Set<string>>> {
  const relay = createRelayMetrics().registry;
  backplaneMetrics(relay);
  return new Map([...(await declaredLabels(relay)), ...(await declaredLabels(createMetrics(true).registry))]);
}

describe.each(DASHBOARDS)('files/dashboards/%s.json', (name) => {
  const dashboard = readDashboard(name);
  const queries = dashboardQueries(dashboard);

  it('has its uid, unique panel ids and a query on every graph', () => {
    expect(dashboard.uid).toBe(name === 'relay' ? 'viewport-relay' : 'viewport-relay-operator');
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

  it('queries only metrics the program registers, with labels they have', async () => {
    const metrics = await everyDeclaredLabel();
    expect(queries.length).toBeGreaterThan(10);
    for (const { where, expr } of queries) {
      const names = metricNames(expr);
      expect(names.length, `${where}: ${expr}`).toBeGreaterThan(0);
      for (const metric of names) {
        const labels = metrics.get(metric);
        expect(labels, `${where}: ${metric} is not registered`).toBeDefined();
        const used = [...expr.matchAll(/\bby \(([^)]*)\)/g), ...expr.matchAll(/, (\w+)\)$/g)].flatMap((m) => m[1]!.split(',').map((s) => s.trim()));
        for (const label of used) expect(labels!.has(label), `${where}: ${metric} has no label ${label}`).toBe(true);
      }
    }
  });
});

describe('grafanaDashboards in the chart', () => {
  it('is off by default', () => {
    expect(renderChart().filter((o) => o.kind === 'ConfigMap')).toEqual([]);
  });

  it('ships each dashboard unchanged in a ConfigMap with the sidecar label', () => {
    const maps = renderChart(MONITORING_VALUES).filter((o) => o.kind === 'ConfigMap');
    expect(maps.map((m) => m.metadata.name).sort()).toEqual(DASHBOARDS.map((d) => `viewport-viewport-relay-operator-dashboard-${d}`).sort());
    for (const name of DASHBOARDS) {
      const map = maps.find((m) => m.metadata.name.endsWith(`-${name}`))!;
      expect(map.metadata.labels?.grafana_dashboard).toBe('1');
      expect(JSON.parse((map.data as Record<string, string>)[`viewport-${name}.json`]!)).toEqual(readDashboard(name));
    }
  });

  it('goes to the namespace the sidecar watches when asked', () => {
    const maps = renderChart([...MONITORING_VALUES, 'grafanaDashboards.namespace=monitoring']).filter((o) => o.kind === 'ConfigMap');
    expect(maps.map((m) => m.metadata.namespace)).toEqual(['monitoring', 'monitoring']);
  });
});
