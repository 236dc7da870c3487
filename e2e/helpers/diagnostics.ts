// Failure reports: events, pods and logs of a namespace plus the operator's
// log, printed after a failed test so a CI log alone explains the failure.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { logTail } from '../controlplane/process.js';
import type { E2eContext } from './context.js';
import { runCommand } from './command.js';

function summarisePod(p: import('@kubernetes/client-node').V1Pod): string {
  const ready = p.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? '?';
  const states = (p.status?.containerStatuses ?? [])
    .map((c) => `${c.name}:${Object.keys(c.state ?? {})[0] ?? '?'}${c.state?.waiting ? `(${c.state.waiting.reason ?? ''}: ${c.state.waiting.message ?? ''})` : ''} restarts=${String(c.restartCount)}`)
    .join(' ');
  const deleting = p.metadata?.deletionTimestamp ? ' deleting' : '';
  return `${p.metadata?.name ?? ''} ${p.status?.phase ?? ''} ready=${ready} ip=${p.status?.podIP ?? '-'} node=${p.spec?.nodeName ?? '-'}${deleting} ${states}`;
}

/** namespaceReport lists events and pods of a namespace, and the logs the provider can reach. */
export async function namespaceReport(ctx: E2eContext, kc: KubeConfig, namespace: string): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const out: string[] = [`===== e2e diagnostics for namespace ${namespace} (${ctx.provider}) =====`];
  try {
    const events = await core.listNamespacedEvent({ namespace });
    out.push('----- events -----');
    for (const e of events.items) {
      out.push(`${e.type ?? ''} ${e.reason ?? ''} ${e.involvedObject.kind ?? ''}/${e.involvedObject.name ?? ''}: ${e.message ?? ''}`);
    }
    const pods = await core.listNamespacedPod({ namespace });
    out.push('----- pods -----', ...pods.items.map(summarisePod));
    if (ctx.provider === 'kind') {
      for (const p of pods.items) {
        const name = p.metadata?.name ?? '';
        const logs = await runCommand(ctx.kubectl, ['--kubeconfig', ctx.kubeconfigPath, 'logs', '-n', namespace, name, '--all-containers', '--tail=80']);
        out.push(`----- logs ${name} -----`, logs.stdout + logs.stderr);
      }
    }
  } catch (error) {
    out.push(`(could not read the namespace: ${error instanceof Error ? error.message : String(error)})`);
  }
  if (ctx.local) {
    const dir = ctx.local.runnerDir;
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith(`${namespace}_`) && f.endsWith('.log')) : [];
    for (const f of files) out.push(`----- container log ${f} -----`, logTail(join(dir, f), 60));
    out.push('----- pod runner -----', logTail(ctx.local.runnerLogPath, 40));
    out.push('----- operator -----', logTail(ctx.local.operatorLogPath, 80));
  } else {
    const logs = await runCommand(ctx.kubectl, [
      '--kubeconfig', ctx.kubeconfigPath, 'logs', '-n', ctx.operatorNamespace, '-l', 'app.kubernetes.io/name=viewport-relay-operator', '--tail=120',
    ]);
    out.push('----- operator -----', logs.stdout + logs.stderr);
  }
  return out.join('\n');
}

/** dumpOnFailure prints the namespace report after every failed test of the calling file. */
export function dumpOnFailure(ctx: E2eContext, kc: KubeConfig, namespace: () => string): void {
  afterEach(async (test) => {
    if (test.task.result?.state !== 'fail') return;
    process.stderr.write(`${await namespaceReport(ctx, kc, namespace())}\n`);
  });
}
