// The probe page's HTTP routes (`/`, /probe/page.js, /probe/viewport-client.js,
// /probe/session), on when config.admin.probePage is (default: dev only).
//
// What the page may learn, by mode:
// - `serve --dev` (a dev issuer in process): the relay runs its own echo daemon
//   for the scope probe/probe-echo, and /probe/session hands the page a fresh
//   client token for that scope only, valid 5 minutes, plus the daemon's
//   public key. Such a token reaches nothing but the echo daemon, so handing
//   it to whoever can load the page of a local dev relay gives nothing away.
// - any other mode: no issuer, no daemon. /probe/session needs the admin token
//   (Authorization: Bearer, typed into the page and kept in it) and returns
//   only the relay's public URL and frame limit; the person supplies their own
//   client token and daemon key. The admin token is never echoed back.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../admin/log.js';
import { BROWSER_BUNDLE_FILE } from '../browser/bundle.js';
import type { Config } from '../config/index.js';
import type { DevIssuer } from '../devissuer/issuer.js';
import { devClaims } from '../devissuer/issuer.js';
import { constantTimeEqual, utf8 } from '../e2ee/bytes.js';
import type { EchoDaemon } from './echo-daemon.js';
import { PROBE_PAGE_HTML, PROBE_PAGE_SCRIPT } from './page-ui.js';

/** PROBE_SCOPE is the scope of the dev relay's echo daemon. */
export const PROBE_SCOPE = { workspaceId: 'probe', runtimeTargetId: 'probe-echo' } as const;
const PAGE_TOKEN_TTL_SECONDS = 300;
// Frequent enough that a person watching sees re-keys within a minute.
const ECHO_ROTATE_AFTER_MESSAGES = 25;

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; script-src 'self'; connect-src 'self' ws: wss:; style-src 'unsafe-inline'",
};

/** ProbePageOptions are the relay's config (with its bound port) and, in `serve --dev`, its issuer. */
export interface ProbePageOptions {
  readonly config: Config;
  readonly log: Logger;
  readonly devIssuer?: DevIssuer;
  /** bundleFile overrides where the browser bundle is read from (tests). */
  readonly bundleFile?: string;
}

/** ProbePage answers its routes and owns the dev echo daemon. */
export interface ProbePage {
  /** handle answers the request when it is one of the page's routes; false leaves it to the relay. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  readonly daemon: EchoDaemon | undefined;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type });
  res.end(body);
}

function readBundle(file: string, log: Logger): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    log.warn('probe_page_bundle_missing', { hint: 'run npm run build -w relay' });
    return undefined;
  }
}

/**
 * createProbePage starts the page (and, with a dev issuer, its echo daemon).
 * The echo daemon's E2EE stack is imported only with a dev issuer, and the
 * bundle is read at its first request, so a relay that merely has the page on
 * pays for neither at start-up (about 6 MB of RSS).
 */
export async function createProbePage(options: ProbePageOptions): Promise<ProbePage> {
  const { config, log, devIssuer } = options;
  let bundle: Buffer | undefined | null = null;
  const daemon = devIssuer
    ? (await import('./echo-daemon.js')).startEchoDaemon({
        url: config.publicWsBaseUrl,
        ...PROBE_SCOPE,
        token: () => devIssuer.mint(devClaims({ role: 'workspace-daemon', ...PROBE_SCOPE })),
        rotateAfterMessages: ECHO_ROTATE_AFTER_MESSAGES,
        onEvent: (event, details) => log.debug(event, details),
      })
    : undefined;
  const adminToken = config.admin.token;

  const adminAllowed = (req: IncomingMessage): boolean => {
    if (config.mode === 'dev') return true;
    const header = req.headers.authorization ?? '';
    return adminToken !== undefined && header.startsWith('Bearer ') && constantTimeEqual(utf8(header.slice(7)), utf8(adminToken));
  };

  async function session(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!adminAllowed(req)) return send(res, 401, 'application/json', JSON.stringify({ error: 'admin token required' }));
    const where = { url: config.publicWsBaseUrl, frameLimit: config.limits.maxFrameBytes };
    if (!devIssuer || !daemon) return send(res, 200, 'application/json', JSON.stringify({ ...where, profile: 'noise-ik' }));
    const token = await devIssuer.mint(devClaims({ role: 'client', ...PROBE_SCOPE }), PAGE_TOKEN_TTL_SECONDS);
    send(res, 200, 'application/json', JSON.stringify({ ...where, ...PROBE_SCOPE, token, daemonPublicKey: daemon.identity, profile: 'noise-ik' }));
  }

  return {
    daemon,
    handle(req, res) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const path = new URL(req.url ?? '/', 'http://relay.invalid').pathname;
      if (path === '/') send(res, 200, 'text/html; charset=utf-8', PROBE_PAGE_HTML);
      else if (path === '/probe/page.js') send(res, 200, 'text/javascript; charset=utf-8', PROBE_PAGE_SCRIPT);
      else if (path === '/probe/viewport-client.js') {
        if (bundle === null) bundle = readBundle(options.bundleFile ?? BROWSER_BUNDLE_FILE, log);
        if (bundle) send(res, 200, 'text/javascript; charset=utf-8', bundle);
        else send(res, 404, 'text/plain', 'the browser bundle was not built\n');
      } else if (path === '/probe/session') {
        session(req, res).catch((err: unknown) => {
          log.error('probe_page_session_failed', { error: (err as Error)?.name ?? 'unknown' });
          if (!res.headersSent) send(res, 500, 'application/json', JSON.stringify({ error: 'could not start a probe session' }));
        });
      } else return false;
      return true;
    },
    close: async () => {
      await daemon?.stop();
    },
  };
}
