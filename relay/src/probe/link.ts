// One WebSocket connection of the probe (as daemon or as client): opens with
// a bearer token, optionally trusting an extra CA for wss://, and hands every
// JSON frame and the close to its owner. The only I/O in the probe besides the CLI.
import WebSocket from 'ws';
import { relayPeerUrl, type RelayPeerRole } from '../e2ee/relay-endpoint.js';

/** LinkRole is the relay role the probe connects as. */
export type LinkRole = RelayPeerRole;

/** LinkOptions says where and as whom to connect. */
export interface LinkOptions {
  readonly url: string;
  readonly role: LinkRole;
  readonly workspaceId: string;
  readonly runtimeTargetId: string;
  readonly token: string;
  readonly ca?: string | Buffer;
  readonly timeoutMs: number;
}

/** LinkClose describes why a link ended. */
export interface LinkClose {
  readonly code: number;
  readonly reason: string;
}

/** Link is an open connection; frames and the close go to the one handler of each kind. */
export interface Link {
  readonly url: string;
  send(frame: object): boolean;
  onFrame(handler: (frame: unknown) => void): void;
  onClose(handler: (close: LinkClose) => void): void;
  close(): void;
}

/** openLink connects and resolves once the 101 arrived, or with a readable reason why not. */
export function openLink(options: LinkOptions): Promise<{ ok: true; link: Link } | { ok: false; error: string }> {
  const target = relayPeerUrl(options.url, options.role, options.workspaceId, options.runtimeTargetId);
  const who = options.role === 'client' ? 'client' : 'daemon';
  return new Promise((resolve) => {
    const socket = new WebSocket(target, {
      headers: { authorization: `Bearer ${options.token}` },
      handshakeTimeout: options.timeoutMs,
      ...(options.ca !== undefined ? { ca: options.ca } : {}),
    });
    let settled = false;
    const settle = (value: { ok: true; link: Link } | { ok: false; error: string }) => {
      if (settled) return;
      settled = true;
      resolve(value);
    };
    // Frames (e.g. an upgrade-time RELAY_REDIRECT) can arrive before the owner
    // attaches its handlers; hold them until then so nothing is lost.
    let frameHandler: ((frame: unknown) => void) | undefined;
    let closeHandler: ((close: LinkClose) => void) | undefined;
    const heldFrames: unknown[] = [];
    let heldClose: LinkClose | undefined;

    socket.on('unexpected-response', (request, response) => {
      settle({ ok: false, error: `${who} connection refused by the relay: HTTP ${String(response.statusCode)}` });
      request.destroy();
      response.resume();
    });
    socket.on('error', (err) => {
      // Before open this is the failure reason; after open the close event follows and reports it.
      settle({ ok: false, error: `${who} connection failed: ${err.message}` });
    });
    socket.on('message', (data: WebSocket.RawData) => {
      let value: unknown;
      try {
        value = JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8'));
      } catch {
        value = undefined; // non-JSON frames are handed on as undefined and counted by the owner
      }
      if (frameHandler) frameHandler(value);
      else heldFrames.push(value);
    });
    socket.on('close', (code: number, reason: Buffer) => {
      settle({ ok: false, error: `${who} connection closed before it opened (code ${String(code)})` });
      const close = { code, reason: reason.toString('utf8') };
      if (closeHandler) closeHandler(close);
      else heldClose = close;
    });
    socket.on('open', () => {
      settle({
        ok: true,
        link: {
          url: options.url,
          send: (frame) => {
            if (socket.readyState !== WebSocket.OPEN) return false;
            socket.send(JSON.stringify(frame));
            return true;
          },
          onFrame: (handler) => {
            frameHandler = handler;
            for (const frame of heldFrames.splice(0)) handler(frame);
          },
          onClose: (handler) => {
            closeHandler = handler;
            if (heldClose) handler(heldClose);
          },
          close: () => {
            if (socket.readyState === WebSocket.CONNECTING || socket.readyState === WebSocket.OPEN) socket.close(1000, 'probe done');
          },
        },
      });
    });
  });
}
