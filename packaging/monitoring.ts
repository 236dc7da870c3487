// What the chart's dashboards and alert rules query: the dashboards' JSON, the
// rendered PrometheusRule, and the metric names in a PromQL expression.
import fs from 'node:fs';
import path from 'node:path';
import { chartDir, renderChart } from './helm.js';

export interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { expr: string; refId: string }[];
}
export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; query: string | { query: string } }[] };
}

/** DASHBOARDS are the chart's dashboards by file name (files/dashboards/NAME.json). */
export const DASHBOARDS = ['relay', 'operator'] as const;

export function readDashboard(name: (typeof DASHBOARDS)[number]): Dashboard {
  return JSON.parse(fs.readFileSync(path.join(chartDir, 'files/dashboards', `${name}.json`), 'utf8')) as Dashboard;
}

/** Query is one PromQL expression and where it comes from (a panel, a variable or an alert). */
export interface Query {
  where: string;
  expr: string;
}

/** dashboardQueries lists every panel query and every query variable of a dashboard. */
export function dashboardQueries(d: Dashboard): Query[] {
  return [
    ...d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `${d.uid}: ${p.title}`, expr: t.expr }))),
    ...d.templating.list.flatMap((v) => (typeof v.query === 'object' ? [{ where: `${d.uid}: $${v.name}`, expr: v.query.query }] : [])),
  ];
}

export interface RuleGroup {
  name: string;
  rules: { alert: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }[];
}

/** MONITORING_VALUES turn on everything the chart has for Prometheus and Grafana. */
export const MONITORING_VALUES = ['prometheusRule.enabled=true', 'grafanaDashboards.enabled=true'];

/** renderedRuleGroups renders the chart's PrometheusRule with sets and returns its groups. */
export function renderedRuleGroups(sets: string[] = []): RuleGroup[] {
  const rule = renderChart([...MONITORING_VALUES, ...sets]).find((o) => o.kind === 'PrometheusRule');
  if (!rule) throw new Error('the chart rendered no PrometheusRule');
  return (rule.spec as { groups: RuleGroup[] }).groups;
}

/** ruleQueries lists every alert expression. */
export function ruleQueries(groups: RuleGroup[]): Query[] {
  return groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })));
}

/** metricNames lists the relay_* and viewport_operator_* series an expression reads (label names in by (...) and matchers are not series). */
export function metricNames(expr: string): string[] {
  const bare = expr.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ').replace(/\{[^}]*\}/g, ' ');
  return [...new Set([...bare.matchAll(/\b(?:relay|viewport_operator)_[a-z0-9_]+/g)].map((m) => m[0]))];
}
