// `viewport-relay probe`: parses flags, finds tokens (flags, files, or the dev
// issuer of `serve --dev`), runs the probe and prints the report. Exit code 0
// only when every frame came back intact; 1 when the probe ran and failed;
// 2 for unusable flags.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { DEFAULT_DEV_KEY_FILE, devClaims, loadDevIssuer } from '../devissuer/issuer.js';
import { PROBE_DEFAULTS, validateProbeSettings, type ProbeSettings, type ProbeTokens, type RawProbeOptions } from './options.js';
import { formatReport } from './report.js';
import { runProbe } from './run-probe.js';

/** ProbeIo is where the command writes and how it reports its exit code (injected by tests). */
export interface ProbeIo {
  stdout(text: string): void;
  stderr(text: string): void;
  setExitCode(code: number): void;
}

const processIo: ProbeIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  setExitCode: (code) => {
    process.exitCode = code;
  },
};

interface ProbeFlags extends RawProbeOptions {
  daemonToken?: string;
  clientToken?: string;
  daemonTokenFile?: string;
  clientTokenFile?: string;
  caFile?: string;
  issuerKeyFile: string;
  json?: boolean;
}

function readText(file: string, what: string): { ok: true; text: string } | { ok: false; error: string } {
  try {
    return { ok: true, text: readFileSync(file, 'utf8').trim() };
  } catch (err) {
    return { ok: false, error: `cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}` };
  }
}

async function resolveTokens(flags: ProbeFlags, settings: ProbeSettings): Promise<{ ok: true; tokens: ProbeTokens } | { ok: false; error: string }> {
  let daemon = flags.daemonToken;
  let client = flags.clientToken;
  for (const [file, what, assign] of [
    [flags.daemonTokenFile, 'daemon token file', (t: string) => (daemon = t)],
    [flags.clientTokenFile, 'client token file', (t: string) => (client = t)],
  ] as const) {
    if (file === undefined) continue;
    const read = readText(file, what);
    if (!read.ok) return read;
    assign(read.text);
  }
  if (daemon !== undefined && client !== undefined) return { ok: true, tokens: { daemon, client } };
  // Missing tokens: mint them with the dev issuer, which only a dev relay on this machine trusts.
  const loaded = await loadDevIssuer(flags.issuerKeyFile);
  if (!loaded.ok) {
    return {
      ok: false,
      error:
        loaded.reason === 'UNSAFE'
          ? `no --daemon-token/--client-token given, and ${loaded.problem}`
          : `no --daemon-token/--client-token given and no usable dev issuer key at ${flags.issuerKeyFile}; ` +
            'pass tokens for a deployed relay, or start "viewport-relay serve --dev" on this machine',
    };
  }
  const scope = { workspaceId: settings.workspaceId, runtimeTargetId: settings.runtimeTargetId };
  daemon ??= await loaded.issuer.mint(devClaims({ role: 'workspace-daemon', ...scope }));
  client ??= await loaded.issuer.mint(devClaims({ role: 'client', ...scope }));
  return { ok: true, tokens: { daemon, client } };
}

async function probeAction(flags: ProbeFlags, io: ProbeIo): Promise<void> {
  const validated = validateProbeSettings(flags);
  if (!validated.ok) {
    io.stderr(`viewport-relay probe: invalid options:\n${validated.errors.map((e) => `  - ${e}\n`).join('')}`);
    io.setExitCode(2);
    return;
  }
  const { settings } = validated;
  let ca: string | undefined;
  if (flags.caFile !== undefined) {
    const read = readText(flags.caFile, 'CA file');
    if (!read.ok) {
      io.stderr(`viewport-relay probe: ${read.error}\n`);
      io.setExitCode(2);
      return;
    }
    ca = read.text;
  }
  const tokens = await resolveTokens(flags, settings);
  if (!tokens.ok) {
    io.stderr(`viewport-relay probe: ${tokens.error}\n`);
    io.setExitCode(2);
    return;
  }
  const report = await runProbe({ ...settings, tokens: tokens.tokens, ...(ca !== undefined ? { ca } : {}) });
  io.stdout(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
  io.setExitCode(report.ok ? 0 : 1);
}

/** probeCommand builds `viewport-relay probe`; add it with program.addCommand(probeCommand()). */
export function probeCommand(io: ProbeIo = processIo): Command {
  const d = PROBE_DEFAULTS;
  return new Command('probe')
    .description('smoke-test a relay end to end: act as daemon and client, handshake, stream envelopes both ways, verify every plaintext')
    .option('--url <url>', 'relay WebSocket endpoint (ws:// or wss://)', d.url)
    .option('--client-url <url>', 'connect the client half here instead (another relay instance); default --url')
    .option('--workspace <id>', 'workspaceId to use (must match the tokens)', d.workspaceId)
    .option('--target <id>', 'runtimeTargetId to use (must match the tokens)', d.runtimeTargetId)
    .addOption(new Option('--profile <profile>', 'handshake profile').choices(['noise-ik', 'noise-ikpsk2']).default(d.profile))
    .addOption(new Option('--kex <version>', 'key exchange: 3 (Noise handshake) or 2 (legacy)').choices(['2', '3']).default(String(d.kexVersion)))
    .option('--frames <n>', 'envelopes to send client → daemon (each echoed back)', String(d.frames))
    .option('--bytes <n>', 'plaintext size of each envelope', String(d.bytes))
    .option('--timeout <ms>', 'limit for connecting, the handshake and each echo', String(d.timeoutMs))
    .option('--daemon-token <jwt>', 'token for the daemon connection')
    .option('--client-token <jwt>', 'token for the client connection')
    .option('--daemon-token-file <path>', 'read the daemon token from a file (keeps it out of the process list)')
    .option('--client-token-file <path>', 'read the client token from a file')
    .option('--issuer-key-file <path>', 'dev issuer key used to mint missing tokens', DEFAULT_DEV_KEY_FILE)
    .option('--ca-file <path>', 'extra CA certificate(s), PEM, to trust for wss://')
    .option('--reconnect', 'keep streaming across relay restarts, re-doing the handshake')
    .option('--reconnect-window <ms>', 'how long one outage may last with --reconnect', String(d.reconnectWindowMs))
    .option('--rotate-after <n>', 'daemon asks for a re-key after this many envelopes', String(d.rotateAfterMessages))
    .option('--json', 'print the report as JSON')
    .action((flags: ProbeFlags) => probeAction(flags, io));
}
