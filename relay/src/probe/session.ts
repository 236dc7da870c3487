// ProbeSession: the probe's daemon and client ends, their links to the relay
// and the state the socket handlers change (handshake, re-key, echo, trouble).
// Sequential steps read that state after waiting on it through waitUntil.
import {
  ClientPeer,
  DaemonPeer,
  generateKeyPair,
  parseE2eeFrame,
  toBase64Url,
  type RandomSource,
} from '../e2ee/index.js';
import { answerAsEchoDaemon } from '../e2ee/echo-responder.js';
import { isWsUrl } from '../e2ee/relay-endpoint.js';
import { Conditions } from './conditions.js';
import { openLink, type Link } from './link.js';
import type { ProbeOptions } from './options.js';
import { payloadIndex } from './payload.js';
import {
  describeClose,
  FATAL_CONNECT,
  isRelayStatus,
  isRetryableClose,
  MAX_REDIRECTS,
  REFUSING_STATUSES,
  type Trouble,
} from './trouble.js';

/** ProbeCounts are the report's counters. */
export interface ProbeCounts {
  handshakes: number;
  rotations: number;
  reconnects: number;
  redirects: number;
  sent: number;
  intact: number;
  failed: number;
}

/** HandshakeAttempt: finished ends establish with result (undefined = ready); otherwise retry, remembering lastError. */
type HandshakeAttempt = { finished: true; result: string | undefined } | { finished: false; lastError: string | undefined };

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** createPeers builds both ends of the channel; fresh keys and pairing secret for every run. */
function createPeers(options: ProbeOptions, random: RandomSource): { daemon: DaemonPeer; client: ClientPeer } {
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
  return { daemon, client };
}

/** ProbeSession owns the two ends and their links for one probe run. */
export class ProbeSession {
  readonly counts: ProbeCounts = { handshakes: 0, rotations: 0, reconnects: 0, redirects: 0, sent: 0, intact: 0, failed: 0 };
  handshakeMs: number | null = null;
  readonly client: ClientPeer;
  private readonly daemon: DaemonPeer;
  private daemonLink: Link | undefined;
  private clientLink: Link | undefined;
  private clientUrl: string;
  trouble: Trouble | undefined;
  fatal: string | undefined;
  handshakeFailure: string | undefined;
  rekeyInFlight = false;
  /** currentIndex is the payload index the client waits to see echoed. */
  currentIndex = 0;
  echo: string | undefined;
  frameFailure: string | undefined;
  private readonly retired = new WeakSet<Link>();
  private readonly conditions = new Conditions();

  constructor(
    private readonly options: ProbeOptions,
    random: RandomSource,
  ) {
    const peers = createPeers(options, random);
    this.daemon = peers.daemon;
    this.client = peers.client;
    this.clientUrl = options.clientUrl ?? options.url;
  }

  // Handlers change state behind the compiler's back; steps read it after a wait through these calls.
  troubleNow(): Trouble | undefined {
    return this.trouble;
  }
  fatalNow(): string | undefined {
    return this.fatal;
  }
  handshakeFailureNow(): string | undefined {
    return this.handshakeFailure;
  }

  waitUntil<T>(check: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
    return this.conditions.waitUntil(check, timeoutMs);
  }

  /** sendFromClient sends a frame on the client link; false when there is none or it is not open. */
  sendFromClient(frame: object): boolean {
    return this.clientLink?.send(frame) ?? false;
  }

  /** close ends both links (the end of the run). */
  close(): void {
    this.retire(this.daemonLink);
    this.retire(this.clientLink);
  }

  /** establish (re)opens missing links and completes a fresh handshake before `deadline`; an error, or undefined when ready. */
  async establish(deadline: number): Promise<string | undefined> {
    let backoff = 100;
    let lastError = 'no attempt made';
    while (performance.now() < deadline) {
      this.trouble = undefined;
      this.handshakeFailure = undefined;
      lastError = (await this.openMissingLinks()) ?? lastError;
      if (FATAL_CONNECT.test(lastError) && (!this.daemonLink || !this.clientLink)) return lastError;
      if (this.daemonLink && this.clientLink && !this.fatal) {
        const attempt = await this.handshake(this.clientLink, deadline);
        if (attempt.finished) return attempt.result;
        lastError = attempt.lastError ?? lastError;
      }
      const fatalError = this.fatalNow();
      if (fatalError) return fatalError;
      await delay(Math.min(backoff, Math.max(0, deadline - performance.now())));
      backoff = Math.min(backoff * 2, 2000);
    }
    return lastError;
  }

  /** openMissingLinks connects the daemon, then the client; the connection error, if any. */
  private async openMissingLinks(): Promise<string | undefined> {
    if (!this.daemonLink) {
      const link = await this.connect('workspace-daemon');
      if (typeof link === 'string') return link;
      this.daemonLink = link;
      this.daemon.clear(); // a reconnecting daemon starts with no sessions, like the real one
    }
    if (!this.clientLink) {
      const link = await this.connect('client');
      if (typeof link === 'string') return link;
      this.clientLink = link;
    }
    return undefined;
  }

  /** handshake runs one key exchange over clientLink and waits for its outcome. */
  private async handshake(clientLink: Link, deadline: number): Promise<HandshakeAttempt> {
    this.client.forget();
    this.rekeyInFlight = false; // a fresh handshake supersedes any re-key lost with the old connection
    const init = this.client.startHandshake();
    if (!init.ok) return { finished: true, result: `could not start the handshake (${init.error.code})` };
    const before = this.counts.handshakes;
    const t0 = performance.now();
    clientLink.send(init.frame);
    const outcome = await this.waitUntil(
      () =>
        this.counts.handshakes > before
          ? 'done'
          : this.handshakeFailure
            ? 'failed'
            : this.fatal
              ? 'fatal'
              : this.trouble
                ? 'trouble'
                : undefined,
      Math.max(1, Math.min(this.options.timeoutMs, deadline - performance.now())),
    );
    if (outcome === 'done') {
      this.handshakeMs ??= performance.now() - t0;
      return { finished: true, result: undefined };
    }
    const interrupted = this.troubleNow();
    if (outcome === 'failed') return { finished: true, result: this.handshakeFailureNow() ?? 'handshake failed' };
    if (interrupted && !interrupted.retryable) return { finished: true, result: interrupted.message };
    if (outcome === undefined) return { finished: false, lastError: `no key exchange response within ${String(this.options.timeoutMs)} ms` };
    return { finished: false, lastError: interrupted?.message };
  }

  private async connect(role: 'workspace-daemon' | 'client'): Promise<Link | string> {
    const { options } = this;
    const opened = await openLink({
      url: role === 'client' ? this.clientUrl : options.url,
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
      if (this.retired.has(link)) return; // we closed it ourselves (redirect or end of run)
      if (role === 'client') {
        if (this.clientLink !== link) return;
        this.clientLink = undefined;
      } else {
        if (this.daemonLink !== link) return;
        this.daemonLink = undefined;
      }
      this.trouble = { retryable: isRetryableClose(close), message: describeClose(who, close) };
      this.notify();
    });
    link.onFrame((value) => this.handleFrame(who, value));
    return link;
  }

  private retire(link: Link | undefined): void {
    if (!link) return;
    this.retired.add(link);
    link.close();
  }

  private notify(): void {
    this.conditions.notify();
  }

  /** handleFrame routes a frame a link received, then lets waiting steps re-check. */
  private handleFrame(role: 'daemon' | 'client', value: unknown): void {
    if (isRelayStatus(value)) this.handleRelayStatus(role, value);
    else if (role === 'client') this.handleClientFrame(value);
    else this.handleDaemonFrame(value);
    this.notify();
  }

  // The probe's daemon is the echo daemon every other client of ours talks to;
  // only the wording of its failures is the probe's own.
  private handleDaemonFrame(value: unknown): void {
    const answer = answerAsEchoDaemon(this.daemon, value);
    for (const frame of answer.send) this.daemonLink?.send(frame);
    const error = answer.error;
    if (error === undefined) return;
    if (error.step === 'init') this.handshakeFailure = `daemon refused the key exchange init (${error.code}): ${error.message}`;
    else if (error.step === 'open') this.frameFailure = `client→daemon envelope refused by the daemon (${error.code}): ${error.message}`;
    else this.frameFailure = `daemon could not seal the echo (${error.code})`;
  }

  private handleRelayStatus(role: 'daemon' | 'client', value: Record<string, unknown>): void {
    const code = typeof value.code === 'string' ? value.code : 'UNKNOWN';
    if (code === 'RELAY_SHUTTING_DOWN') {
      // The relay is draining: leave now so it can finish, and come back (to a peer replica).
      this.trouble = { retryable: true, message: `relay status ${code} to the ${role}` };
      if (role === 'client') {
        this.retire(this.clientLink);
        this.clientLink = undefined;
      } else {
        this.retire(this.daemonLink);
        this.daemonLink = undefined;
      }
    } else if (role === 'daemon') {
      return; // other statuses to the daemon concern no frame of ours
    } else if (code === 'RELAY_REDIRECT') {
      this.followRedirect(value.relayWsBaseUrl);
    } else if (value.retryable === true) {
      this.trouble = { retryable: true, message: `relay status ${code}` };
    } else if (value.retryable === false || REFUSING_STATUSES.has(code)) {
      this.fatal = `relay answered a client frame with status ${code}`;
    }
    // Other, unknown statuses are informational: the frames themselves tell whether the run works.
  }

  private followRedirect(target: unknown): void {
    // A redirect to where we already are would loop forever (docs/protocol.md#weak-redirect-loop); ignore it.
    if (!isWsUrl(target) || target === this.clientUrl) return;
    if (this.counts.redirects >= MAX_REDIRECTS) {
      this.fatal = `too many RELAY_REDIRECT statuses (last to ${target})`;
      return;
    }
    this.counts.redirects += 1;
    this.clientUrl = target;
    this.trouble = { retryable: true, redirect: true, message: `relay redirected the client to ${target}` };
    this.retire(this.clientLink);
    this.clientLink = undefined;
  }

  private handleClientFrame(value: unknown): void {
    const parsed = parseE2eeFrame(value);
    if (!parsed.ok) {
      this.frameFailure = `client received a malformed frame from the relay (${parsed.error.code})`;
    } else if (parsed.frame.type === 'relay_key_exchange_response') {
      const finished = this.client.handleResponse(parsed.frame);
      if (finished.ok) {
        this.counts.handshakes += 1;
        if (this.rekeyInFlight) this.counts.rotations += 1;
        this.rekeyInFlight = false;
      } else if (finished.error.code !== 'request_id_mismatch') {
        // A response for an abandoned request is stale, not an attack; anything else is.
        this.handshakeFailure = `client refused the key exchange response (${finished.error.code}): ${finished.error.message}`;
      }
    } else if (parsed.frame.type === 'relay_key_update_required') {
      const rekey = this.client.handleKeyUpdate(parsed.frame);
      if (rekey.ok) {
        this.rekeyInFlight = true;
        this.sendFromClient(rekey.frame);
      }
    } else if (parsed.frame.type === 'e2ee') {
      const opened = this.client.open(parsed.frame);
      if (!opened.ok) {
        this.frameFailure = `daemon→client envelope refused by the client (${opened.error.code}): ${opened.error.message}`;
      } else {
        const index = payloadIndex(opened.plaintext);
        if (index === this.currentIndex) this.echo = opened.plaintext;
        else if (index === undefined || index > this.currentIndex) this.frameFailure = 'client received an envelope it never asked for';
      }
    }
  }
}
