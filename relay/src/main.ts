// Process wiring only: config in, HTTP(S) server, backplane, relay core,
// signals. Everything with logic lives in the modules it imports.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { createSingleBackplane } from './backplane/single.js';
import { bindPort, type Config } from './config/index.js';
import { backplaneOptions, validateBackplaneOptions } from './backplane/options.js';
import { createLogger } from './admin/log.js';
import type { DevIssuer } from './devissuer/issuer.js';
import type { ProbePage } from './probe-page/handler.js';
import { createRelay, type Relay } from './server/relay.js';
import { listen } from './net/listen.js';

/** RunningRelay is a started relay process: its core, server and bound address. */
export interface RunningRelay {
  readonly relay: Relay;
  /** The configuration in effect: as requested, with the bound port filled in when PORT was 0. */
  readonly config: Config;
  readonly server: Server;
  readonly port: number;
  /** shutdown drains and closes the listener; resolves when done (bounded by the drain grace). */
  shutdown(): Promise<void>;
}

export interface RunOptions {
  readonly devIssuer?: DevIssuer;
  /** Install SIGTERM/SIGINT handlers that drain and exit (the CLI does; tests do not). */
  readonly handleSignals?: boolean;
}

const JWKS_PATH = '/.well-known/jwks.json';

/**
 * runRelay starts a relay from a parsed config and listens on HOST:PORT.
 * Long because it is the process's wiring, read top to bottom: the backplane
 * options, the relay, the HTTP server and its routes, signals and shutdown.
 */
export async function runRelay(requested: Config, options: RunOptions = {}): Promise<RunningRelay> {
  const log = createLogger({ maxEntries: requested.maxLogs });
  const dev = options.devIssuer;
  // The relay core is built after listen, so a PORT=0 relay knows its real port (bindPort);
  // until then (one synchronous stretch) nothing can reach these handlers.
  const wired: { relay?: Relay; probePage?: ProbePage } = {};
  const onRequest = (req: Parameters<Relay['handleAdminRequest']>[0], res: Parameters<Relay['handleAdminRequest']>[1]) => {
    if (dev && req.method === 'GET' && req.url === JWKS_PATH) {
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
      res.end(JSON.stringify(dev.jwks));
      return;
    }
    if (wired.probePage?.handle(req, res)) return;
    if (wired.relay === undefined) {
      res.writeHead(503).end();
      return;
    }
    wired.relay.handleAdminRequest(req, res);
  };
  // Node checks the header and request deadlines only every connectionsCheckingInterval
  // (default 30 s), so a half-sent request could hold its socket for 40 s, not 10.
  const httpOptions = { connectionsCheckingInterval: 1000 };
  const server = requested.tls.enabled
    ? createHttpsServer({ ...httpOptions, cert: readFileSync(requested.tls.certPath), key: readFileSync(requested.tls.keyPath) }, onRequest)
    : createHttpServer(httpOptions, onRequest);
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  server.on('clientError', (_err, socket) => socket.destroy());
  const boundHost = await listen(server, requested.port, requested.host);
  if (boundHost !== requested.host) log.warn('listening_ipv4_only', { host: boundHost, reason: 'no IPv6 in this kernel' });
  // After listen, a server error (e.g. out of file descriptors) is logged, never fatal.
  server.on('error', (err: Error & { code?: string }) => log.error('server_error', { code: err.code ?? err.name }));
  const port = (server.address() as AddressInfo).port;
  const config = bindPort(requested, port);

  const registry = new Registry();
  const bpOptions = backplaneOptions(config);
  const bpErrors = validateBackplaneOptions(bpOptions);
  if (bpErrors.length > 0) {
    server.close();
    throw new Error(`invalid backplane settings: ${bpErrors.map((e) => e.code).join(', ')}`);
  }
  // The other adapters (and ioredis, several MB of RSS) load only when configured.
  const backplane =
    bpOptions.mode === 'single'
      ? createSingleBackplane()
      : (await import('./backplane/index.js')).createBackplane(bpOptions, {
          registry,
          log,
          now: Date.now,
        });
  const core = createRelay(config, {
    backplane,
    registry,
    log,
    ...(dev ? { admission: { keySource: dev.keySource } } : {}),
  });
  wired.relay = core;
  server.on('upgrade', core.handleUpgrade);
  // The probe page (dev by default, RELAY_PROBE_PAGE) loads only when on: it runs an echo daemon in dev.
  if (config.admin.probePage) wired.probePage = await (await import('./probe-page/handler.js')).createProbePage({ config, log, ...(dev ? { devIssuer: dev } : {}) });
  log.info('relay_listening', {
    host: config.host,
    port,
    mode: config.mode,
    relayId: config.relayId,
    admission: config.admission.mode,
    backplane: config.backplane.mode,
  });

  let shuttingDown: Promise<void> | undefined;
  const shutdown = () => {
    shuttingDown ??= (async () => {
      const pageClosed = wired.probePage?.close(); // stops its echo daemon reconnecting; no delay to the drain
      await core.drain();
      await pageClosed;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    })();
    return shuttingDown;
  };

  if (options.handleSignals) {
    const onSignal = (signal: NodeJS.Signals) => {
      if (shuttingDown) {
        log.warn('second_signal_exit', { signal });
        void core.close().finally(() => process.exit(1));
        return;
      }
      log.info('shutdown_signal', { signal, graceMs: config.timers.drainGraceMs });
      // A hard stop in case something refuses to finish: shutdown stays bounded.
      setTimeout(() => process.exit(1), config.timers.drainGraceMs + 2000).unref();
      shutdown().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
  return { relay: core, config, server, port, shutdown };
}
