// The chart's PrometheusRule under `promtool test rules`: rendered with the
// default values, every alert fires on the series it is about (and not on
// healthy or unrelated ones) with the labels and text in
// fixtures/prometheus-rules.tests.yaml. promtool is built from the Go module
// proxy once and cached by version (scripts/go-tool.sh).
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { renderChart } from '../helm.js';
import { renderedRuleGroups } from '../monitoring.js';
import { repoRoot } from '../repo.js';

const run = promisify(execFile);
const fixture = path.join(import.meta.dirname, 'fixtures/prometheus-rules.tests.yaml');

describe('PrometheusRule', () => {
  let promtool = '';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prometheus-rules-'));

  // A cold promtool build takes minutes; .ci/run builds it before the tests.
  beforeAll(() => {
    promtool = execFileSync('bash', [path.join(repoRoot, 'scripts/go-tool.sh'), 'promtool'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    fs.writeFileSync(path.join(dir, 'rules.yaml'), stringify({ groups: renderedRuleGroups() }));
    fs.copyFileSync(fixture, path.join(dir, 'tests.yaml'));
  }, 30 * 60_000);

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is off by default', () => {
    expect(renderChart().filter((o) => o.kind === 'PrometheusRule')).toEqual([]);
  });

  it('passes promtool check rules', async () => {
    const { stdout } = await run(promtool, ['check', 'rules', 'rules.yaml'], { cwd: dir });
    expect(stdout).toContain('SUCCESS');
  });

  it('fires every alert as the unit tests expect (promtool test rules)', async () => {
    const result = await run(promtool, ['test', 'rules', 'tests.yaml'], { cwd: dir }).catch((e: { stdout: string; stderr: string }) => e);
    expect(`${result.stdout}${result.stderr}`).toContain('SUCCESS');
  });

  it('has a unit test for every alert', () => {
    const tested = new Set([...fs.readFileSync(fixture, 'utf8').matchAll(/alertname: (\w+)/g)].map((m) => m[1]));
    for (const { rules } of renderedRuleGroups()) for (const { alert } of rules) expect(tested, alert).toContain(alert);
  });

  it('renders the thresholds and the Stalled duration from values', () => {
    const rules = renderedRuleGroups(['prometheusRule.framesDroppedPerSecond=5', 'prometheusRule.stalledFor=30m']).flatMap((g) => g.rules);
    expect(rules.find((r) => r.alert === 'ViewportRelayFramesDropped')!.expr).toMatch(/> 5$/);
    expect(rules.find((r) => r.alert === 'ViewportRelayStalled')!.for).toBe('30m');
  });
});
