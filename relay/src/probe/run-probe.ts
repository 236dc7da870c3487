// runProbe: act as a daemon and as a client of one relay, run the handshake
// through it, stream envelopes both ways and check every plaintext. Both
// ends live in this process, so a failure can be pinned to the hop that
// caused it (dropped, altered, refused) instead of a bare timeout.
import {
  ClientPeer,
  DaemonPeer,
  generateKeyPair,
  parseE2eeFrame,
  systemRandom,
  toBase64Url,
  type E2eeFrame,
  type RandomSource,
} from '../e2ee/index.js';
import { Conditions } from './conditions.js';
import { openLink, type Link, type LinkClose } from './link.js';
import type { ProbeOptions } from './options.js';
import { payloadIndex, probePayload } from './payload.js';
import { roundTripSummary, type ProbeReport } from './report.js';

/** ProbeDependencies lets tests inject randomness and observe progress. */
export interface ProbeDependencies {
  readonly random?: RandomSource;
  /** onFrameIntact is called after each frame that came back intact. */
  readonly onFrameIntact?: (index: number) => void;
}

/** Trouble is a connection-level event that interrupts the current step. */
interface Trouble {
  readonly retryable: boolean;
  readonly message: string;
  /** redirect marks a RELAY_REDIRECT, which is followed even without --reconnect. */
  readonly redirect?: boolean;
}

// Close codes after which reconnecting is the expected reaction (restart,
// shutdown, network loss), and the 4008 reasons that only mean "not yet".
const RETRYABLE_CLOSE_CODES = new Set([1001, 1006, 1011, 1012, 1013]);
const RETRYABLE_4008_REASONS = new Set(['daemon already connected', 'superseded']);
const MAX_REDIRECTS = 5;
// A relay that drops us right after every handshake must not keep the probe busy forever.
const MAX_RECOVERIES_PER_FRAME = 10;
// Statuses by which the relay refuses our frames; retrying the same frames cannot help.
const REFUSING_STATUSES = new Set(['INVALID_FRAME', 'RUNTIME_TARGET_REQUIRED', 'SESSION_EVENTS_SCOPE_ONLY']);
// Connection failures that retrying cannot fix: refused credentials, wrong path, untrusted TLS.
const FATAL_CONNECT = /HTTP (400|401|403|404)\b|certificate|self[- ]signed|unable to verify/i;

function describeClose(who: string, close: LinkClose): string {
  return `${who} connection closed by the relay (code ${String(close.code)}${close.reason ? `, "${close.reason}"` : ''})`;
}

function isRetryableClose(close: LinkClose): boolean {
  return RETRYABLE_CLOSE_CODES.has(close.code) || (close.code === 4008 && RETRYABLE_4008_REASONS.has(close.reason));
}

function isWsUrl(text: unknown): text is string {
  if (typeof text !== 'string') return false;
  try {
    const url = new URL(text);
    return url.protocol === 'ws:' || url.protocol === 'wss:';
  } catch {
    return false;
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** runProbe performs one probe run; it never throws for relay misbehaviour, it reports it. */
export async function runProbe(options: ProbeOptions, deps: ProbeDependencies = {}): Promise<ProbeReport> {
  const random = deps.random ?? systemRandom;
  const startedAt = performance.now();
  const errors: string[] = [];
  const rtts: number[] = [];
  const counts = { handshakes: 0, rotations: 0, reconnects: 0, redirects: 0, sent: 0, intact: 0, failed: 0 };
  let handshakeMs: number | null = null;

  // Both ends of the channel; fresh keys and pairing secret for every run.
  const pairingSecret = random(32);
  const pairingPeerId = `probe-${toBase64Url(random(9))}`;
  const daemon = new DaemonPeer({
    identity: generateKeyPair(random),
    pairingSecrets: new Map([[pairingPeerId, pairingSecret]]),
    rotateAfterMessages: options.rotateAfterMessages,
    random,
    now: () => Date.now(),
  });
  const client = new ClientPeer({
    profile: options.profile,
    version: options.kexVersion,
    clientStatic: generateKeyPair(random),
    daemonPublicKeyText: daemon.identityText(),
    random,
    ...(options.profile === 'noise-ikpsk2' ? { pairingSecret, pairingPeerId } : {}),
  });

  let daemonLink: Link | undefined;
  let clientLink: Link | undefined;
  let clientUrl = options.clientUrl ?? options.url;
  let trouble: Trouble | undefined;
  let fatal: string | undefined;
  let handshakeFailure: string | undefined;
  let rekeyInFlight = false;
  let currentIndex = 0;
  let echo: string | undefined;
  let frameFailure: string | undefined;

  const retired = new WeakSet<Link>();
  const retire = (link: Link | undefined) => {
    if (!link) return;
    retired.add(link);
    link.close();
  };
  // Handlers change `trouble` behind the compiler's back; read it through a call.
  const troubleNow = (): Trouble | undefined => trouble;
  const fatalNow = (): string | undefined => fatal;
  const handshakeFailureNow = (): string | undefined => handshakeFailure;

  const conditions = new Conditions();
  const notify = () => conditions.notify();
  const waitUntil = <T>(check: () => T | undefined, timeoutMs: number) => conditions.waitUntil(check, timeoutMs);

  function sendFrom(link: Link | undefined, frame: object): boolean {
    return link?.send(frame) ?? false;
  }

  function handleDaemonFrame(value: unknown): void {
    if (isRelayStatus(value)) {
      handleRelayStatus('daemon', value);
      notify();
      return;
    }
    const parsed = parseE2eeFrame(value);
    if (!parsed.ok) return; // relay_status and other control frames are not for the probe daemon
    const frame: E2eeFrame = parsed.frame;
    if (frame.type === 'relay_key_exchange_init') {
      const answered = daemon.handleInit(frame);
      if (!answered.ok) handshakeFailure = `daemon refused the key exchange init (${answered.error.code}): ${answered.error.message}`;
      else sendFrom(daemonLink, answered.response);
    } else if (frame.type === 'e2ee') {
      const opened = daemon.open(frame);
      if (!opened.ok) {
        frameFailure = `client→daemon envelope refused by the daemon (${opened.error.code}): ${opened.error.message}`;
      } else {
        const sealed = daemon.seal(frame.sessionId, opened.plaintext);
        if (!sealed.ok) frameFailure = `daemon could not seal the echo (${sealed.error.code})`;
        else {
          sendFrom(daemonLink, sealed.frame);
          if (sealed.keyUpdate) sendFrom(daemonLink, sealed.keyUpdate);
        }
      }
    }
    notify();
  }

  function handleRelayStatus(role: 'daemon' | 'client', value: Record<string, unknown>): void {
    const code = typeof value.code === 'string' ? value.code : 'UNKNOWN';
    if (code === 'RELAY_SHUTTING_DOWN') {
      // The relay is draining: leave now so it can finish, and come back (to a peer replica).
      trouble = { retryable: true, message: `relay status ${code} to the ${role}` };
      if (role === 'client') {
        retire(clientLink);
        clientLink = undefined;
      } else {
        retire(daemonLink);
        daemonLink = undefined;
      }
    } else if (role === 'daemon') {
      return; // other statuses to the daemon concern no frame of ours
    } else if (code === 'RELAY_REDIRECT') {
      const target = value.relayWsBaseUrl;
      // A redirect to where we already are would loop forever (spec G-8); ignore it.
      if (!isWsUrl(target) || target === clientUrl) return;
      if (counts.redirects >= MAX_REDIRECTS) {
        fatal = `too many RELAY_REDIRECT statuses (last to ${target})`;
        return;
      }
      counts.redirects += 1;
      clientUrl = target;
      trouble = { retryable: true, redirect: true, message: `relay redirected the client to ${target}` };
      retire(clientLink);
      clientLink = undefined;
    } else if (value.retryable === true) {
      trouble = { retryable: true, message: `relay status ${code}` };
    } else if (value.retryable === false || REFUSING_STATUSES.has(code)) {
      fatal = `relay answered a client frame with status ${code}`;
    }
    // Other, unknown statuses are informational: the frames themselves tell whether the run works.
  }

  function isRelayStatus(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'relay_status';
  }

  function handleClientFrame(value: unknown): void {
    if (isRelayStatus(value)) {
      handleRelayStatus('client', value);
      notify();
      return;
    }
    const parsed = parseE2eeFrame(value);
    if (!parsed.ok) {
      frameFailure = `client received a malformed frame from the relay (${parsed.error.code})`;
    } else if (parsed.frame.type === 'relay_key_exchange_response') {
      const finished = client.handleResponse(parsed.frame);
      if (finished.ok) {
        counts.handshakes += 1;
        if (rekeyInFlight) counts.rotations += 1;
        rekeyInFlight = false;
      } else if (finished.error.code !== 'request_id_mismatch') {
        // A response for an abandoned request is stale, not an attack; anything else is.
        handshakeFailure = `client refused the key exchange response (${finished.error.code}): ${finished.error.message}`;
      }
    } else if (parsed.frame.type === 'relay_key_update_required') {
      const rekey = client.handleKeyUpdate(parsed.frame);
      if (rekey.ok) {
        rekeyInFlight = true;
        sendFrom(clientLink, rekey.frame);
      }
    } else if (parsed.frame.type === 'e2ee') {
      const opened = client.open(parsed.frame);
      if (!opened.ok) {
        frameFailure = `daemon→client envelope refused by the client (${opened.error.code}): ${opened.error.message}`;
      } else {
        const index = payloadIndex(opened.plaintext);
        if (index === currentIndex) echo = opened.plaintext;
        else if (index === undefined || index > currentIndex) frameFailure = 'client received an envelope it never asked for';
      }
    }
    notify();
  }

  async function connect(role: 'workspace-daemon' | 'client'): Promise<Link | string> {
    const opened = await openLink({
      url: role === 'client' ? clientUrl : options.url,
      role,
      workspaceId: options.workspaceId,
      runtimeTargetId: options.runtimeTargetId,
      token: role === 'client' ? options.tokens.client : options.tokens.daemon,
      timeoutMs: options.timeoutMs,
      ...(options.ca !== undefined ? { ca: options.ca } : {}),
    });
    if (!opened.ok) return opened.error;
    const link = opened.link;
    const who = role === 'client' ? 'client' : 'daemon';
    link.onClose((close) => {
      if (retired.has(link)) return; // we closed it ourselves (redirect or end of run)
      if (role === 'client') {
        if (clientLink !== link) return;
        clientLink = undefined;
      } else {
        if (daemonLink !== link) return;
        daemonLink = undefined;
      }
      trouble = { retryable: isRetryableClose(close), message: describeClose(who, close) };
      notify();
    });
    link.onFrame(role === 'client' ? handleClientFrame : handleDaemonFrame);
    return link;
  }

  /** establish (re)opens missing links and completes a fresh handshake before `deadline`. */
  async function establish(deadline: number): Promise<string | undefined> {
    let backoff = 100;
    let lastError = 'no attempt made';
    while (performance.now() < deadline) {
      trouble = undefined;
      handshakeFailure = undefined;
      if (!daemonLink) {
        const link = await connect('workspace-daemon');
        if (typeof link === 'string') lastError = link;
        else {
          daemonLink = link;
          daemon.clear(); // a reconnecting daemon starts with no sessions, like the real one
        }
      }
      if (daemonLink && !clientLink) {
        const link = await connect('client');
        if (typeof link === 'string') lastError = link;
        else clientLink = link;
      }
      if (FATAL_CONNECT.test(lastError) && (!daemonLink || !clientLink)) return lastError;
      if (daemonLink && clientLink && !fatal) {
        client.forget();
        rekeyInFlight = false; // a fresh handshake supersedes any re-key lost with the old connection
        const init = client.startHandshake();
        if (!init.ok) return `could not start the handshake (${init.error.code})`;
        const before = counts.handshakes;
        const t0 = performance.now();
        clientLink.send(init.frame);
        const outcome = await waitUntil(
          () =>
            counts.handshakes > before ? 'done' : handshakeFailure ? 'failed' : fatal ? 'fatal' : trouble ? 'trouble' : undefined,
          Math.max(1, Math.min(options.timeoutMs, deadline - performance.now())),
        );
        if (outcome === 'done') {
          handshakeMs ??= performance.now() - t0;
          return undefined;
        }
        const interrupted = troubleNow();
        if (outcome === 'failed') return handshakeFailureNow() ?? 'handshake failed';
        if (outcome === undefined) lastError = `no key exchange response within ${String(options.timeoutMs)} ms`;
        else if (interrupted) lastError = interrupted.message;
        if (interrupted && !interrupted.retryable) return interrupted.message;
      }
      const fatalError = fatalNow();
      if (fatalError) return fatalError;
      await delay(Math.min(backoff, Math.max(0, deadline - performance.now())));
      backoff = Math.min(backoff * 2, 2000);
    }
    return lastError;
  }

  const firstError = await establish(performance.now() + options.timeoutMs);
  if (firstError) errors.push(`handshake: ${firstError}`);

  for (let index = 1; index <= options.frames && errors.length === 0; index++) {
    const text = probePayload(index, options.bytes, random);
    currentIndex = index;
    let counted = false;
    for (let recoveries = 0; ; recoveries++) {
      if (rekeyInFlight) {
        const rekeyed = await waitUntil(() => (!rekeyInFlight ? true : trouble || handshakeFailure ? false : undefined), options.timeoutMs);
        if (rekeyed !== true && !troubleNow()) {
          errors.push(`rotation: ${handshakeFailure ?? `no re-key response within ${String(options.timeoutMs)} ms`}`);
          break;
        }
      }
      echo = undefined;
      frameFailure = undefined;
      const sealed = client.seal(text);
      const t0 = performance.now();
      const sentOk = sealed.ok && !troubleNow() && sendFrom(clientLink, sealed.frame);
      if (sentOk && !counted) {
        counts.sent += 1;
        counted = true;
      }
      const outcome = sentOk
        ? await waitUntil(
            () => (echo !== undefined ? 'echo' : frameFailure ? 'failed' : fatal ? 'fatal' : trouble ? 'trouble' : undefined),
            options.timeoutMs,
          )
        : 'trouble';
      if (outcome === 'echo') {
        if (echo === text) {
          counts.intact += 1;
          rtts.push(performance.now() - t0);
          deps.onFrameIntact?.(index);
        } else {
          counts.failed += 1;
          errors.push(`frame ${String(index)}: the echoed plaintext differs from what was sent`);
        }
        break;
      }
      if (outcome === 'failed' || outcome === undefined) {
        counts.failed += 1;
        errors.push(
          `frame ${String(index)}: ${outcome === 'failed' ? frameFailure : `no echo within ${String(options.timeoutMs)} ms (dropped on the way)`}`,
        );
        break;
      }
      // Connection trouble: redirects are always followed; restarts only with --reconnect.
      const current = troubleNow();
      const fatalError = fatalNow();
      const reason = fatalError ?? current?.message ?? 'connection lost';
      const redirected = current?.redirect === true;
      if (fatalError || !(redirected || (options.reconnect && current?.retryable))) {
        counts.failed += 1;
        errors.push(`frame ${String(index)}: ${reason}`);
        break;
      }
      if (recoveries >= MAX_RECOVERIES_PER_FRAME) {
        counts.failed += 1;
        errors.push(`frame ${String(index)}: gave up after ${String(recoveries)} reconnects (last: ${reason})`);
        break;
      }
      if (!redirected) counts.reconnects += 1;
      const recovered = await establish(performance.now() + options.reconnectWindowMs);
      if (recovered) {
        counts.failed += 1;
        errors.push(`frame ${String(index)}: could not recover after "${reason}": ${recovered}`);
        break;
      }
    }
  }

  retire(daemonLink);
  retire(clientLink);
  const report: ProbeReport = {
    ok: errors.length === 0 && counts.intact === options.frames,
    url: options.url,
    workspaceId: options.workspaceId,
    runtimeTargetId: options.runtimeTargetId,
    profile: options.profile,
    kexVersion: options.kexVersion,
    handshakeMs,
    handshakes: counts.handshakes,
    rotations: counts.rotations,
    reconnects: counts.reconnects,
    redirects: counts.redirects,
    frames: { requested: options.frames, sent: counts.sent, intact: counts.intact, failed: counts.failed },
    bytes: options.bytes,
    roundTripMs: roundTripSummary(rtts),
    durationMs: performance.now() - startedAt,
    errors,
  };
  return report;
}
