// BrowserClient joins a relay the way a browser must: a WHATWG WebSocket, the
// token in the `auth.<token>` subprotocol (no headers), JSON text frames. On
// top it runs the project's own ClientPeer (Noise v3, envelopes, re-keys) and
// follows RELAY_REDIRECT. The same code runs in Node 22 (global WebSocket) for tests.
import { ClientPeer } from '../e2ee/client-peer.js';
import { parseE2eeFrame, type E2eeFrame } from '../e2ee/frames.js';
import { fromBase64Url } from '../e2ee/base64url.js';
import { generateKeyPair } from '../e2ee/keys.js';
import type { Profile } from '../e2ee/profiles.js';
import { systemRandom, type RandomSource } from '../e2ee/random.js';
import { asRelayStatus, redirectTarget, relayPeerUrl, tokenSubprotocols, type RelayStatus } from '../e2ee/relay-endpoint.js';
import { Conditions } from '../probe/conditions.js';
import { openSocket, type SocketFactory, type SocketLike } from './socket.js';

/** BrowserClientOptions says where to connect, as whom, and to which daemon identity. */
export interface BrowserClientOptions {
  /** url is the relay's WebSocket endpoint, e.g. ws://127.0.0.1:7781/ws. */
  readonly url: string;
  readonly workspaceId: string;
  readonly runtimeTargetId: string;
  /** token is the client JWT; it travels only in the subprotocol list. */
  readonly token: string;
  /** daemonPublicKey is the daemon's identity (base64url), learned out of band. */
  readonly daemonPublicKey: string;
  readonly profile?: Profile;
  /** pairingPeerId and pairingSecret (base64url, 32 bytes) select noise-ikpsk2. */
  readonly pairingPeerId?: string;
  readonly pairingSecret?: string;
  readonly timeoutMs?: number;
  readonly socket?: SocketFactory;
  readonly random?: RandomSource;
  readonly onEvent?: (event: ClientEvent) => void;
}

/** ClientEvent is what a page can show: every step on the wire, no key material. */
export type ClientEvent =
  | { kind: 'open'; url: string; protocol: string; extensions: string }
  | { kind: 'handshake'; profile: Profile; sessionId: string; epoch: number; ms: number; rekey: boolean }
  | { kind: 'sent'; seq: number; bytes: number }
  | { kind: 'received'; seq: number; bytes: number }
  | { kind: 'redirect'; from: string; to: string }
  | { kind: 'status'; code: string }
  | { kind: 'close'; code: number; reason: string };

/** ClientStats counts what happened over the client's life. */
export interface ClientStats {
  handshakes: number;
  rotations: number;
  redirects: number;
}

const MAX_REDIRECTS = 5;

/** BrowserClient is one client channel to one daemon through the relay. */
export class BrowserClient {
  readonly stats: ClientStats = { handshakes: 0, rotations: 0, redirects: 0 };
  private readonly peer: ClientPeer;
  private readonly conditions = new Conditions();
  private readonly timeoutMs: number;
  // The plaintext a roundTrip waits to see again, and whether it came back.
  private awaiting: string | undefined;
  private echoed = false;
  private socket: SocketLike | undefined;
  private currentUrl: string;
  private moving = false;
  private rekeyStartedAt: number | undefined;
  private failure: string | undefined;
  private listeners: ((plaintext: string) => void)[] = [];

  constructor(private readonly options: BrowserClientOptions) {
    const random = options.random ?? systemRandom;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.currentUrl = options.url;
    const pairing = pairingOf(options);
    this.peer = new ClientPeer({
      profile: options.profile ?? 'noise-ik',
      clientStatic: generateKeyPair(random),
      daemonPublicKeyText: options.daemonPublicKey,
      random,
      ...pairing,
    });
  }

  /** url is the relay endpoint the client is on now (changes on a redirect). */
  get url(): string {
    return this.currentUrl;
  }

  /** socketInfo is what the 101 settled: the echoed subprotocol and extensions. */
  get socketInfo(): { protocol: string; extensions: string } | undefined {
    return this.socket ? { protocol: this.socket.protocol, extensions: this.socket.extensions } : undefined;
  }

  /** session is the current session's public header fields. */
  get session(): { profile: Profile; sessionId: string; epoch: number } | undefined {
    const keys = this.peer.current?.keys;
    return keys ? { profile: keys.profile, sessionId: keys.sessionId, epoch: keys.epoch } : undefined;
  }

  /** onMessage registers a handler for every daemon plaintext. */
  onMessage(handler: (plaintext: string) => void): void {
    this.listeners.push(handler);
  }

  /** connect opens the socket and completes a fresh handshake; resolves with its duration. */
  async connect(): Promise<{ handshakeMs: number }> {
    this.socket = await this.open(this.currentUrl);
    return this.handshake();
  }

  /** send seals text on the current session and sends it; throws when that is impossible. */
  send(text: string): void {
    const sealed = this.peer.seal(text);
    if (!sealed.ok) throw new Error(`cannot seal: ${sealed.error.code}`);
    if (!this.socket || this.socket.readyState !== 1) throw new Error(this.failure ?? 'the connection is not open');
    this.socket.send(JSON.stringify(sealed.frame));
    this.emit({ kind: 'sent', seq: sealed.frame.seq, bytes: text.length });
  }

  /** roundTrip sends text and resolves when the daemon sent the same text back. */
  async roundTrip(text: string): Promise<{ ms: number }> {
    await this.settled();
    const t0 = performance.now();
    this.awaiting = text;
    this.echoed = false;
    this.send(text);
    const outcome = await this.conditions.waitUntil(
      () => (this.echoed ? 'echo' : this.failure ? 'failed' : undefined),
      this.timeoutMs,
    );
    this.awaiting = undefined;
    if (outcome === 'echo') return { ms: performance.now() - t0 };
    throw new Error(outcome === 'failed' ? this.failureNow() : `no echo within ${String(this.timeoutMs)} ms`);
  }

  /** close ends the connection with 1000 (the daemon's relay drops the client at once). */
  close(): void {
    const socket = this.socket;
    this.socket = undefined;
    if (socket && socket.readyState <= 1) socket.close(1000, 'client done');
  }

  // settled waits until no re-key and no redirect is in flight.
  private async settled(): Promise<void> {
    const ready = await this.conditions.waitUntil(
      () => (this.failure ? false : this.rekeyStartedAt === undefined && !this.moving ? true : undefined),
      this.timeoutMs,
    );
    if (ready !== true) throw new Error(ready === false ? this.failureNow() : 're-key or redirect did not finish in time');
  }

  private failureNow(): string {
    return this.failure ?? 'connection failed';
  }

  private async handshake(): Promise<{ handshakeMs: number }> {
    this.peer.forget();
    this.rekeyStartedAt = undefined;
    const init = this.peer.startHandshake();
    if (!init.ok) throw new Error(`cannot start the handshake: ${init.error.code}`);
    const before = this.stats.handshakes;
    const t0 = performance.now();
    this.socket?.send(JSON.stringify(init.frame));
    const outcome = await this.conditions.waitUntil(
      () => (this.stats.handshakes > before ? 'done' : this.failure ? 'failed' : undefined),
      this.timeoutMs,
    );
    if (outcome === 'done') return { handshakeMs: performance.now() - t0 };
    throw new Error(outcome === 'failed' ? this.failureNow() : `no handshake response within ${String(this.timeoutMs)} ms`);
  }

  private async open(url: string): Promise<SocketLike> {
    const target = relayPeerUrl(url, 'client', this.options.workspaceId, this.options.runtimeTargetId);
    const opened = await openSocket(this.options.socket, target, tokenSubprotocols(this.options.token), this.timeoutMs);
    if (!opened.ok) throw new Error(opened.error);
    const socket = opened.socket;
    socket.addEventListener('message', (event: { data: unknown }) => {
      if (socket === this.socket) this.onFrame(event.data);
    });
    socket.addEventListener('close', (event: { code: number; reason: string }) => {
      this.emit({ kind: 'close', code: event.code, reason: event.reason });
      if (socket !== this.socket) return; // retired by a redirect or close()
      this.socket = undefined;
      this.failure = `connection closed by the relay (code ${String(event.code)}${event.reason ? `, "${event.reason}"` : ''})`;
      this.conditions.notify();
    });
    this.emit({ kind: 'open', url, protocol: socket.protocol, extensions: socket.extensions });
    return socket;
  }

  private onFrame(data: unknown): void {
    let value: unknown;
    try {
      value = typeof data === 'string' ? JSON.parse(data) : undefined;
    } catch {
      value = undefined;
    }
    const status = asRelayStatus(value);
    if (status) this.onStatus(status);
    else {
      const parsed = parseE2eeFrame(value);
      if (parsed.ok) this.onCryptoFrame(parsed.frame);
    }
    this.conditions.notify();
  }

  private onCryptoFrame(frame: E2eeFrame): void {
    if (frame.type === 'relay_key_exchange_response') {
      const finished = this.peer.handleResponse(frame);
      if (!finished.ok) {
        // A response to an abandoned request is stale; anything else is an attack or a bug.
        if (finished.error.code !== 'request_id_mismatch') this.failure = `handshake refused: ${finished.error.code}`;
        return;
      }
      const rekey = this.rekeyStartedAt !== undefined;
      const keys = finished.session.keys;
      this.stats.handshakes += 1;
      if (rekey) this.stats.rotations += 1;
      const ms = rekey ? performance.now() - (this.rekeyStartedAt ?? 0) : 0;
      this.rekeyStartedAt = undefined;
      this.emit({ kind: 'handshake', profile: keys.profile, sessionId: keys.sessionId, epoch: keys.epoch, ms, rekey });
    } else if (frame.type === 'relay_key_update_required') {
      const rekey = this.peer.handleKeyUpdate(frame);
      if (!rekey.ok || !this.socket) return;
      this.rekeyStartedAt = performance.now();
      this.socket.send(JSON.stringify(rekey.frame));
    } else if (frame.type === 'e2ee') {
      const opened = this.peer.open(frame);
      if (!opened.ok) {
        this.failure = `daemon envelope refused: ${opened.error.code}`;
        return;
      }
      this.emit({ kind: 'received', seq: frame.seq, bytes: opened.plaintext.length });
      if (opened.plaintext === this.awaiting) this.echoed = true;
      for (const listener of this.listeners) listener(opened.plaintext);
    }
  }

  private onStatus(status: RelayStatus): void {
    this.emit({ kind: 'status', code: status.code });
    const target = redirectTarget(status, this.currentUrl);
    if (target === undefined || this.moving) return;
    if (this.stats.redirects >= MAX_REDIRECTS) {
      this.failure = `too many redirects (last to ${target})`;
      return;
    }
    void this.move(target);
  }

  // move opens the redirect target, swaps sockets, and runs a fresh handshake there.
  private async move(target: string): Promise<void> {
    this.moving = true;
    this.stats.redirects += 1;
    this.emit({ kind: 'redirect', from: this.currentUrl, to: target });
    try {
      const next = await this.open(target);
      const old = this.socket;
      this.socket = next;
      this.currentUrl = target;
      if (old && old.readyState <= 1) old.close(1000, 'redirected');
      await this.handshake();
    } catch (error) {
      this.failure = `redirect to ${target} failed: ${(error as Error).message}`;
    } finally {
      this.moving = false;
      this.conditions.notify();
    }
  }

  private emit(event: ClientEvent): void {
    this.options.onEvent?.(event);
  }
}

function pairingOf(options: BrowserClientOptions): { pairingPeerId?: string; pairingSecret?: Uint8Array } {
  if (options.pairingSecret === undefined || options.pairingPeerId === undefined) return {};
  const secret = fromBase64Url(options.pairingSecret);
  if (!secret.ok) throw new Error('pairingSecret is not base64url');
  return { pairingPeerId: options.pairingPeerId, pairingSecret: secret.bytes };
}
