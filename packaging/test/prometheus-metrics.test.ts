// Every metric the chart's alert rules and dashboards read is one the real
// programs export: a relay process in redis mode with peer links (against a
// real redis-server) and an operator process are started and their /metrics
// scraped. The operator runs against an API server that is not there: its
// metrics endpoint serves all the same (watches retrying count there too).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../relay/test/backplane/wait-for.js';
import { ADMIN_TOKEN, startRelayProcess, type RelayProcess } from '../../relay/test/multi-relay/relay-process.js';
import { freePort, startRedisServer, type TestRedisServer } from '../../relay/test/redis-server.js';
import { DASHBOARDS, dashboardQueries, metricNames, readDashboard, renderedRuleGroups, ruleQueries } from '../monitoring.js';
import { repoRoot } from '../repo.js';

/** exportedNames reads the metric names of a Prometheus text exposition (histograms as their three series). */
function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name! + suffix);
    else names.add(name!);
  }
  return names;
}

async function scrape(url: string, token?: string): Promise<string> {
  const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  expect(res.status, url).toBe(200);
  return res.text();
}

describe('metrics the alerts and dashboards read', () => {
  let redis: TestRedisServer | undefined;
  let relay: RelayProcess | undefined;
  let operator: ChildProcess | undefined;
  let operatorOutput = '';
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'prometheus-metrics-'));
  const exported = new Set<string>();

  beforeAll(async () => {
    redis = await startRedisServer();
    relay = await startRelayProcess('metrics-relay', {
      RELAY_BACKPLANE_MODE: 'redis',
      RELAY_REDIS_URL: redis.url,
      RELAY_BUS_HMAC_KEY: 'prometheus-metrics-bus-key-0123456789',
      RELAY_INTERNAL_KEY: 'prometheus-metrics-internal-key-0123456789',
      RELAY_ADMISSION_MODE: 'jwks',
      RELAY_JWKS_URL: 'http://127.0.0.1:9/jwks.json',
      RELAY_PEER_LINK_PORT: String(await freePort()),
      RELAY_PEER_LINK_HOST: '127.0.0.1',
    });

    // A kubeconfig naming a closed port: the operator starts, serves /metrics and retries its watches.
    const kubeconfig = path.join(tmp, 'kubeconfig');
    fs.writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: absent, cluster: {server: "https://127.0.0.1:9", insecure-skip-tls-verify: true}}]',
        'users: [{name: absent, user: {token: not-a-token}}]',
        'contexts: [{name: absent, context: {cluster: absent, user: absent}}]',
        'current-context: absent',
      ].join('\n'),
    );
    const metricsPort = await freePort();
    const args = ['run', '--leader-elect=false', `--metrics-port=${metricsPort}`, `--health-port=${await freePort()}`, `--kubeconfig=${kubeconfig}`];
    operator = spawn(process.execPath, [path.join(repoRoot, 'operator/dist/cli.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [operator.stdout!, operator.stderr!]) stream.on('data', (chunk: Buffer) => (operatorOutput += chunk.toString()));
    const operatorMetrics = `http://127.0.0.1:${metricsPort}/metrics`;
    await waitFor(async () => {
      if (operator!.exitCode !== null) throw new Error(`the operator exited ${operator!.exitCode}:\n${operatorOutput}`);
      return (await fetch(operatorMetrics).catch(() => undefined))?.status === 200;
    }, 'the operator to serve /metrics', 20_000);

    for (const name of exportedNames(await scrape(`${relay.httpUrl}/metrics`, ADMIN_TOKEN))) exported.add(name);
    for (const name of exportedNames(await scrape(operatorMetrics))) exported.add(name);
  }, 60_000);

  afterAll(async () => {
    if (operator && operator.exitCode === null) {
      const exited = new Promise((resolve) => operator!.once('exit', resolve));
      operator.kill('SIGKILL');
      await exited;
    }
    await relay?.stop();
    await redis?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const queries = [...ruleQueries(renderedRuleGroups()), ...DASHBOARDS.flatMap((d) => dashboardQueries(readDashboard(d)))];

  it('finds the series both programs are known for in the scrapes', () => {
    for (const name of ['relay_frames_total', 'relay_bus_peer_links', 'viewport_operator_reconciles_total', 'viewport_operator_process_cpu_seconds_total']) {
      expect(exported, name).toContain(name);
    }
  });

  it.each(queries)('$where reads only exported metrics', ({ expr }) => {
    const names = metricNames(expr);
    for (const name of names) expect(exported, `${name} in ${expr}`).toContain(name);
  });
});
