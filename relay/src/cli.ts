#!/usr/bin/env node
// viewport-relay command line: `serve` (env-driven, or --dev with an embedded
// dev issuer), `token` (mint a dev token). Other commands (probe) register in
// buildCli with program.addCommand(...).
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseConfig, processEnvironment } from './config/index.js';
import { DEFAULT_DEV_KEY_FILE, devClaims, loadDevIssuer, loadOrCreateDevIssuer } from './devissuer/issuer.js';
import { runRelay } from './main.js';
import { RELAY_VERSION } from './version.js';

type Env = Record<string, string | undefined>;

/** devEnvironment overlays the --dev defaults; variables the user set still win. */
export function devEnvironment(env: Env, adminToken: string): Env {
  const port = env.PORT ?? env.RELAY_LISTEN_PORT ?? '7781';
  return {
    HOST: '127.0.0.1',
    PORT: port,
    RELAY_MODE: 'dev',
    RELAY_BACKPLANE_MODE: 'single',
    RELAY_ADMISSION_MODE: 'jwks',
    RELAY_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    RELAY_ENABLE_ADMIN_HTTP: '1',
    RELAY_ADMIN_TOKEN: adminToken,
    ...Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== '')),
  };
}

function parseIntArg(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

interface ServeOptions {
  dev?: boolean;
  issuerKeyFile: string;
}

/** refuseDevKey ends `serve --dev` with the key path's problem (devKeyPathProblem) instead of a stack trace. */
function refuseDevKey(err: unknown): never {
  process.stderr.write(`viewport-relay: ${(err as Error).message}\n`);
  process.exit(2);
}

async function serve(opts: ServeOptions, env: Env): Promise<void> {
  const adminToken = randomBytes(16).toString('hex');
  const effective = opts.dev ? devEnvironment(env, adminToken) : env;
  const parsed = parseConfig(effective);
  if (!parsed.ok) {
    process.stderr.write(`viewport-relay: invalid configuration (${parsed.errors.length} problem(s)):\n`);
    for (const e of parsed.errors) process.stderr.write(`  - ${e}\n`);
    process.exit(2);
  }
  const config = parsed.config;
  const devIssuer = opts.dev ? await loadOrCreateDevIssuer(opts.issuerKeyFile).catch(refuseDevKey) : undefined;
  const running = await runRelay(config, { handleSignals: true, ...(devIssuer ? { devIssuer } : {}) });
  if (devIssuer) {
    const base = `ws://${config.host}:${running.port}/ws`;
    const client = await devIssuer.mint(devClaims({ role: 'client', workspaceId: 'w1', runtimeTargetId: 't1' }));
    const daemon = await devIssuer.mint(devClaims({ role: 'workspace-daemon', workspaceId: 'w1', runtimeTargetId: 't1' }));
    const admin = env.RELAY_ADMIN_TOKEN ?? adminToken;
    process.stderr.write(
      [
        '',
        `viewport-relay ${RELAY_VERSION} (dev) listening on ${base}`,
        ...(config.admin.probePage ? [`  probe page: ${config.tls.enabled ? 'https' : 'http'}://${config.host}:${running.port}/  (open it: an encrypted round trip through this relay)`] : []),
        `  daemon: ${base}?role=workspace-daemon&workspaceId=w1&runtimeTargetId=t1`,
        `  client: ${base}?role=client&workspaceId=w1&runtimeTargetId=t1`,
        '  send the token as "Authorization: Bearer <token>" or subprotocol "auth.<token>" (dev also accepts ?token=)',
        `  sample client token: ${client}`,
        `  sample daemon token: ${daemon}`,
        '  more tokens: npx viewport-relay token --role client --workspace w1 --target t1',
        `  admin: curl -H "Authorization: Bearer ${admin}" http://${config.host}:${running.port}/state`,
        '',
      ].join('\n'),
    );
  }
}

interface TokenOptions {
  role: 'workspace-daemon' | 'client' | 'worker';
  workspace: string;
  target?: string;
  scope?: string;
  clientId?: string;
  executor?: string;
  channel?: string[];
  generation?: number;
  ttl: number;
  issuerKeyFile: string;
}

async function token(opts: TokenOptions): Promise<void> {
  const loaded = await loadDevIssuer(opts.issuerKeyFile);
  if (!loaded.ok) {
    process.stderr.write(
      loaded.reason === 'MISSING'
        ? `viewport-relay: no dev issuer key at ${opts.issuerKeyFile}; start "viewport-relay serve --dev" once, or pass --issuer-key-file\n`
        : loaded.reason === 'UNSAFE'
          ? `viewport-relay: ${loaded.problem}\n`
          : `viewport-relay: the dev issuer key at ${opts.issuerKeyFile} is unreadable\n`,
    );
    process.exit(2);
  }
  const jwt = await loaded.issuer.mint(
    devClaims({
      role: opts.role,
      workspaceId: opts.workspace,
      runtimeTargetId: opts.target,
      scope: opts.scope,
      clientId: opts.clientId,
      managedExecutorId: opts.executor,
      sessionChannels: opts.channel,
      daemonIssueGeneration: opts.generation,
    }),
    opts.ttl,
  );
  process.stdout.write(`${jwt}\n`);
}

/** buildCli assembles the command tree (plus extraCommands, e.g. the lazily loaded probe); env is passed in so config stays the only env reader. */
export function buildCli(env: Env, extraCommands: readonly Command[] = []): Command {
  const program = new Command('viewport-relay')
    .description('Viewport relay: routes end-to-end encrypted frames between workspace daemons and their clients')
    .version(RELAY_VERSION, '-v, --version')
    .helpOption('-h, --help');

  program
    .command('serve')
    .description('run a relay configured from the environment (see docs/relay.md)')
    .option('--dev', 'dev mode on 127.0.0.1:7781 with an embedded dev token issuer')
    .option('--issuer-key-file <path>', 'dev issuer key file (with --dev)', DEFAULT_DEV_KEY_FILE)
    .action((opts: ServeOptions) => serve(opts, env));

  program
    .command('token')
    .description('print a dev token signed by the dev issuer of "serve --dev"')
    .addOption(new Option('--role <role>', 'peer role').choices(['workspace-daemon', 'client', 'worker']).makeOptionMandatory())
    .requiredOption('--workspace <id>', 'workspaceId claim')
    .option('--target <id>', 'runtimeTargetId claim')
    .addOption(new Option('--scope <scope>', 'client scope').choices(['runtime', 'pairing', 'session-events']))
    .option('--client-id <id>', 'clientId claim')
    .option('--executor <id>', 'managedExecutorId claim (workers)')
    .option('--channel <channel...>', 'sessionChannels claim (session-events clients)')
    .option('--generation <n>', 'daemonIssueGeneration claim', parseIntArg)
    .option('--ttl <seconds>', 'token lifetime', parseIntArg, 3600)
    .option('--issuer-key-file <path>', 'dev issuer key file', DEFAULT_DEV_KEY_FILE)
    .action((opts: TokenOptions) => token(opts));

  for (const command of extraCommands) program.addCommand(command);
  return program;
}

function isMain(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

// `serve` and `token` never need the probe (and its E2EE stack, several MB of RSS); every
// other invocation (probe, help, no command) loads it so it is listed and runs as before.
async function extraCommandsFor(args: readonly string[]): Promise<Command[]> {
  if (args[0] === 'serve' || args[0] === 'token') return [];
  return [(await import('./probe/index.js')).probeCommand()];
}

if (isMain()) {
  extraCommandsFor(process.argv.slice(2))
    .then((extra) => buildCli(processEnvironment(), extra).parseAsync(process.argv))
    .catch((err: unknown) => {
      process.stderr.write(`viewport-relay: ${(err as Error)?.message ?? 'failed'}\n`);
      process.exit(1);
    });
}
