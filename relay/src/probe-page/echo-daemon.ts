// An echo daemon over a real WebSocket: it joins a relay as the workspace
// daemon of one scope and answers with answerAsEchoDaemon. The dev relay runs
// one for the probe page's workspace; the browser tests run one per scope.
// It reconnects (with a fresh token) until stopped, so a relay restart or a
// superseding daemon does not leave the page without a peer for long.
import WebSocket from 'ws';
import { DaemonPeer } from '../e2ee/daemon-peer.js';
import { answerAsEchoDaemon } from '../e2ee/echo-responder.js';
import { generateKeyPair } from '../e2ee/keys.js';
import { systemRandom } from '../e2ee/random.js';
import { relayPeerUrl } from '../e2ee/relay-endpoint.js';

/** EchoDaemonOptions names the relay, the scope and where its tokens come from. */
export interface EchoDaemonOptions {
  readonly url: string;
  readonly workspaceId: string;
  readonly runtimeTargetId: string;
  /** token returns a daemon token for the scope (minted afresh for each connection). */
  readonly token: () => Promise<string>;
  /** pairingSecrets maps pairingPeerId to its 32-byte secret, for noise-ikpsk2 clients. */
  readonly pairingSecrets?: ReadonlyMap<string, Uint8Array>;
  readonly rotateAfterMessages?: number;
  /** onEvent reports connects, handshakes, echoes and failures (never key material). */
  readonly onEvent?: (event: string, details: Record<string, unknown>) => void;
}

/** EchoDaemon is a running echo daemon. */
export interface EchoDaemon {
  /** identity is the daemon's public key (base64url): what a client must know to reach it. */
  readonly identity: string;
  /** counts of what it did so far. */
  readonly counts: { connects: number; handshakes: number; echoes: number; failures: number };
  /** sessionCount is how many sessions the daemon holds. */
  sessionCount(): number;
  /** connected resolves once the daemon's socket is open. */
  connected(): Promise<void>;
  stop(): Promise<void>;
}

const MAX_BACKOFF_MS = 5000;

/**
 * startEchoDaemon connects in the background and keeps reconnecting until stop().
 * Long because the connect, answer and back-off steps close over one
 * connection's state; each handler is a few lines.
 */
export function startEchoDaemon(options: EchoDaemonOptions): EchoDaemon {
  const sessions = new Set<string>();
  const daemon = new DaemonPeer({
    identity: generateKeyPair(systemRandom),
    random: systemRandom,
    now: () => Date.now(),
    ...(options.pairingSecrets ? { pairingSecrets: options.pairingSecrets } : {}),
    ...(options.rotateAfterMessages !== undefined ? { rotateAfterMessages: options.rotateAfterMessages } : {}),
  });
  const counts = { connects: 0, handshakes: 0, echoes: 0, failures: 0 };
  const emit = options.onEvent ?? (() => {});
  let socket: WebSocket | undefined;
  let stopped = false;
  let backoff = 100;
  let retry: NodeJS.Timeout | undefined;
  let markConnected: () => void = () => {};
  let isConnected = new Promise<void>((resolve) => (markConnected = resolve));

  const onFrame = (ws: WebSocket, data: WebSocket.RawData) => {
    let value: unknown;
    try {
      value = JSON.parse(data.toString());
    } catch {
      return;
    }
    const answer = answerAsEchoDaemon(daemon, value);
    if (answer.failure !== undefined) {
      counts.failures += 1;
      emit('echo_daemon_refused', { reason: answer.failure });
    } else if (answer.kind === 'handshake') counts.handshakes += 1;
    else if (answer.kind === 'envelope') counts.echoes += 1;
    for (const frame of answer.send) {
      const sessionId = (frame as { sessionId?: unknown }).sessionId;
      if (answer.kind === 'handshake' && typeof sessionId === 'string') sessions.add(sessionId);
      ws.send(JSON.stringify(frame));
    }
  };

  const connect = async () => {
    if (stopped) return;
    let token: string;
    try {
      token = await options.token();
    } catch (error) {
      emit('echo_daemon_token_failed', { error: (error as Error).name });
      schedule();
      return;
    }
    if (stopped) return;
    const ws = new WebSocket(relayPeerUrl(options.url, 'workspace-daemon', options.workspaceId, options.runtimeTargetId), {
      headers: { authorization: `Bearer ${token}` },
    });
    socket = ws;
    ws.on('open', () => {
      counts.connects += 1;
      backoff = 100;
      daemon.clear(); // a reconnected daemon starts with no sessions, like a real one
      emit('echo_daemon_connected', { workspaceId: options.workspaceId });
      markConnected();
    });
    ws.on('message', (data) => onFrame(ws, data));
    ws.on('error', () => {}); // the close event that follows decides what to do
    ws.on('close', (code) => {
      if (socket === ws) socket = undefined;
      if (stopped) return;
      emit('echo_daemon_disconnected', { code });
      isConnected = new Promise<void>((resolve) => (markConnected = resolve));
      schedule();
    });
  };

  const schedule = () => {
    if (stopped) return;
    retry = setTimeout(() => void connect(), backoff);
    retry.unref();
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  };

  void connect();
  return {
    identity: daemon.identityText(),
    counts,
    sessionCount: () => [...sessions].filter((id) => daemon.session(id) !== undefined).length,
    connected: () => isConnected,
    async stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      const ws = socket;
      socket = undefined;
      if (!ws || ws.readyState === WebSocket.CLOSED) return;
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(1000, 'echo daemon stopped');
      });
    },
  };
}
