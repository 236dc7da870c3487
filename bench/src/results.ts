// Result records and the table printer. A scenario that failed or could not
// run carries its reason and no numbers, so nothing prints a figure for a
// broken run.
import { type Spread, spreadOf } from './stats.js';

/** Target is an acceptance bound from issue 10: on the first variant's median, or on its ratio to the second variant's. */
export interface Target {
  kind: 'ratio' | 'absolute';
  op: '<=' | '>=' | '<';
  value: number;
}

/** Metric is one measured quantity with its samples per variant (one sample per round). */
export interface Metric {
  name: string;
  unit: string;
  digits: number;
  samples: Record<string, number[]>;
  target?: Target;
}

/** ScenarioResult gathers a scenario's metrics, or the reason it has none. */
export interface ScenarioResult {
  name: string;
  variants: string[];
  status: 'ok' | 'failed' | 'unavailable';
  reason?: string;
  metrics: Metric[];
}

/** newScenario starts an empty result for the named variants (the first is the one under test). */
export function newScenario(name: string, variants: string[]): ScenarioResult {
  return { name, variants, status: 'ok', metrics: [] };
}

/** addSample appends one round's value of a metric, creating the metric on first use. */
export function addSample(s: ScenarioResult, variant: string, name: string, unit: string, value: number, digits = 0, target?: Target): void {
  let m = s.metrics.find((x) => x.name === name && x.unit === unit);
  if (!m) {
    m = { name, unit, digits, samples: {}, ...(target ? { target } : {}) };
    s.metrics.push(m);
  }
  (m.samples[variant] ??= []).push(value);
}

/** fail marks the scenario failed, keeping the first reason; its numbers are never printed. */
export function fail(s: ScenarioResult, reason: string): void {
  if (s.status !== 'failed') {
    s.status = 'failed';
    s.reason = reason;
  }
}

/** markUnavailable records that the scenario could not run on this build, and why. */
export function markUnavailable(s: ScenarioResult, reason: string): void {
  if (s.status === 'ok') {
    s.status = 'unavailable';
    s.reason = reason;
  }
}

/** TargetCheck is a target evaluated against the medians. */
export interface TargetCheck {
  text: string;
  met: boolean;
  value: number;
}

/** checkTarget evaluates a metric's target; undefined when there is no target or too few variants measured. */
export function checkTarget(m: Metric, variants: string[]): TargetCheck | undefined {
  if (!m.target) return undefined;
  const first = m.samples[variants[0]!];
  if (!first?.length) return undefined;
  let value = spreadOf(first).median;
  if (m.target.kind === 'ratio') {
    const second = m.samples[variants[1]!];
    if (!second?.length) return undefined;
    value = value / spreadOf(second).median;
  }
  const { op, value: bound } = m.target;
  const met = op === '<=' ? value <= bound : op === '<' ? value < bound : value >= bound;
  const text = `${m.target.kind === 'ratio' ? 'ratio' : 'value'} ${op} ${bound}`;
  return { text, met, value };
}

function fmt(n: number, digits: number): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function cell(spread: Spread | undefined, digits: number): string {
  if (!spread) return '-';
  if (spread.min === spread.max) return fmt(spread.median, digits);
  return `${fmt(spread.median, digits)} (${fmt(spread.min, digits)}–${fmt(spread.max, digits)})`;
}

/** formatTable renders every scenario: medians with min–max per variant, the ratio of the first two variants and the target. */
export function formatTable(results: readonly ScenarioResult[]): string {
  const out: string[] = [];
  for (const s of results) {
    out.push('');
    if (s.status !== 'ok') {
      out.push(`## ${s.name}: ${s.status === 'failed' ? 'FAILED' : 'unavailable'}: ${s.reason ?? ''}`);
      continue;
    }
    out.push(`## ${s.name}`);
    const header = ['metric', ...s.variants, s.variants.length > 1 ? `${s.variants[0]}/${s.variants[1]}` : '', 'target'];
    const rows: string[][] = [header];
    for (const m of s.metrics) {
      const spreads = s.variants.map((v) => (m.samples[v]?.length ? spreadOf(m.samples[v]) : undefined));
      const ratio = spreads[0] && spreads[1] && spreads[1].median !== 0 ? fmt(spreads[0].median / spreads[1].median, 2) : '';
      const check = checkTarget(m, s.variants);
      const target = check ? `${check.text}: ${check.met ? 'met' : 'MISSED'}` : '';
      rows.push([`${m.name} (${m.unit})`, ...spreads.map((sp) => cell(sp, m.digits)), ratio, target]);
    }
    const widths = header.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
    for (const r of rows) out.push(r.map((c, i) => (c ?? '').padEnd(widths[i]!)).join('  ').trimEnd());
  }
  return out.join('\n');
}

/** toJson gives the machine-readable form: spreads per variant, target checks, and failure reasons. */
export function toJson(results: readonly ScenarioResult[], meta: Record<string, unknown>): unknown {
  return {
    ...meta,
    scenarios: results.map((s) => ({
      name: s.name,
      status: s.status,
      ...(s.reason ? { reason: s.reason } : {}),
      metrics:
        s.status !== 'ok'
          ? []
          : s.metrics.map((m) => ({
              name: m.name,
              unit: m.unit,
              variants: Object.fromEntries(s.variants.filter((v) => m.samples[v]?.length).map((v) => [v, { ...spreadOf(m.samples[v]!), samples: m.samples[v] }])),
              ...(checkTarget(m, s.variants) ? { target: checkTarget(m, s.variants) } : {}),
            })),
    })),
  };
}
