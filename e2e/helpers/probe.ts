// Running `viewport-relay probe` (the built CLI, as users run it) against a
// relay URL; tokens go through files so they stay out of the process list.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ProbeReport } from '../../relay/src/probe/report.js';
import { runCommand } from './command.js';
import type { PlatformTokens } from './platform.js';

const relayCli = resolve(import.meta.dirname, '../../relay/dist/cli.js');

/** ProbeRun is the probe's exit code and parsed JSON report. */
export interface ProbeRun {
  readonly code: number;
  readonly report: ProbeReport | undefined;
  readonly output: string;
}

/** runProbeCli runs the probe to completion. */
export async function runProbeCli(o: {
  url: string;
  workspace: string;
  target: string;
  tokens: PlatformTokens;
  frames?: number;
  reconnect?: boolean;
  timeoutMs?: number;
}): Promise<ProbeRun> {
  const dir = mkdtempSync(join(tmpdir(), 'viewport-probe-'));
  try {
    writeFileSync(join(dir, 'daemon'), o.tokens.daemon, { mode: 0o600 });
    writeFileSync(join(dir, 'client'), o.tokens.client, { mode: 0o600 });
    const args = [
      relayCli, 'probe', '--json',
      '--url', o.url,
      '--workspace', o.workspace,
      '--target', o.target,
      '--daemon-token-file', join(dir, 'daemon'),
      '--client-token-file', join(dir, 'client'),
      '--frames', String(o.frames ?? 20),
      '--timeout', String(o.timeoutMs ?? 15_000),
      ...(o.reconnect ? ['--reconnect', '--reconnect-window', '60000'] : []),
    ];
    const result = await runCommand(process.execPath, args);
    let report: ProbeReport | undefined;
    try {
      report = JSON.parse(result.stdout) as ProbeReport;
    } catch {
      report = undefined;
    }
    return { code: result.code, report, output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
