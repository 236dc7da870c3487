#!/usr/bin/env node
// viewport-relay-operator: `run` the controller, print the CRD (`crds`), or
// `render` the manifests for a ViewportRelay file.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { loadConfig, type RunFlags } from './config.js';
import { crdYaml } from './generate.js';
import { ClientKube, loadKubeConfig } from './kube/client.js';
import { runOperator } from './main.js';
import { formatObjects, renderRelays } from './render.js';
import { VERSION } from './version.js';
import { DEFAULT_RELAY_IMAGE } from './config.js';

const program = new Command('viewport-relay-operator')
  .description('Kubernetes operator for Viewport relays (ViewportRelay, relay.getviewport.com/v1alpha1)')
  .version(VERSION);

program
  .command('run')
  .description('run the controller')
  .option('--namespaces <csv>', 'namespaces to watch, comma-separated; empty = all (env VIEWPORT_OPERATOR_NAMESPACES)')
  .option('--leader-elect <bool>', 'campaign for a Lease before reconciling (env VIEWPORT_OPERATOR_LEADER_ELECT, default true)')
  .option('--lease-name <name>', 'leader election Lease name (default viewport-relay-operator)')
  .option('--lease-namespace <ns>', 'leader election Lease namespace (env POD_NAMESPACE)')
  .option('--metrics-port <port>', 'port serving /metrics (default 8080)')
  .option('--health-port <port>', 'port serving /healthz and /readyz (default 8081)')
  .option('--relay-image <image>', `relay image when spec.image is absent (env VIEWPORT_RELAY_IMAGE, default ${DEFAULT_RELAY_IMAGE})`)
  .option('--kubeconfig <path>', 'kubeconfig file (default: in-cluster, then ~/.kube/config)')
  .option('--resync-period <duration>', 'compare every relay and its children with the desired state this often (env VIEWPORT_OPERATOR_RESYNC_PERIOD, default 10m)')
  .option('--log-level <level>', 'lowest level logged: debug, info, warn or error (env VIEWPORT_OPERATOR_LOG_LEVEL, default info)')
  .action(async (flags: RunFlags) => {
    const loaded = loadConfig(flags, process.env);
    if (!loaded.ok) {
      for (const e of loaded.errors) process.stderr.write(`error: ${e}\n`);
      process.exit(2);
    }
    const kube = new ClientKube(loadKubeConfig(loaded.config.kubeconfig));
    await runOperator(loaded.config, kube, (code) => process.exit(code));
  });

program
  .command('crds')
  .description('print the ViewportRelay CustomResourceDefinition')
  .action(() => {
    process.stdout.write(crdYaml());
  });

program
  .command('render')
  .description('print every manifest the operator would apply for the ViewportRelay(s) in a file (no cluster needed)')
  .requiredOption('-f, --file <path>', 'ViewportRelay YAML file, "-" for stdin')
  .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
  .option('--relay-image <image>', 'relay image when spec.image is absent', DEFAULT_RELAY_IMAGE)
  .action((opts: { file: string; output: 'yaml' | 'json'; relayImage: string }) => {
    let text: string;
    try {
      text = readFileSync(opts.file === '-' ? 0 : opts.file, 'utf8');
    } catch (e) {
      process.stderr.write(`error: cannot read ${opts.file}: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(2);
    }
    const result = renderRelays(text, { relayImage: opts.relayImage });
    if (!result.ok) {
      for (const e of result.errors) process.stderr.write(`error: ${e}\n`);
      process.exit(1);
    }
    process.stdout.write(formatObjects(result.objects, opts.output));
  });

await program.parseAsync(process.argv);
