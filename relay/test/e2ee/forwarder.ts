// A WebSocket forwarder for probe tests: sits between the probe and a relay,
// optionally terminating TLS, and can drop or rewrite individual frames to
// play a misbehaving relay.
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

/** ForwardedFrame is one message passing through, with where it is going. */
export interface ForwardedFrame {
  readonly direction: 'to-relay' | 'from-relay';
  readonly role: string;
  readonly text: string;
}

export interface ForwarderOptions {
  /** upstream is the relay origin, e.g. ws://127.0.0.1:1234 (path and query are kept). */
  readonly upstream: string;
  /** tamper returns the text to forward, or undefined to drop the frame. */
  readonly tamper?: (frame: ForwardedFrame) => string | undefined;
  readonly tls?: { readonly key: string; readonly cert: string };
  /** greet returns frames to send to a newly connected peer of `role` before anything else. */
  readonly greet?: (role: string) => string[];
}

export interface Forwarder {
  readonly port: number;
  close(): Promise<void>;
}

/** startForwarder listens on 127.0.0.1:0 and forwards every upgrade to the upstream relay. */
export async function startForwarder(options: ForwarderOptions): Promise<Forwarder> {
  const server: Server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }) : createHttpServer();
  const wss = new WebSocketServer({ server });
  const pass = options.tamper ?? ((f: ForwardedFrame) => f.text);

  wss.on('connection', (downstream: WebSocket, req: IncomingMessage) => {
    const role = new URL(req.url ?? '/', 'http://x').searchParams.get('role') ?? 'unknown';
    const upstream = new WebSocket(`${options.upstream}${req.url ?? '/'}`, {
      headers: req.headers.authorization ? { authorization: req.headers.authorization } : {},
    });
    for (const text of options.greet?.(role) ?? []) downstream.send(text);
    const early: string[] = [];
    downstream.on('message', (data: WebSocket.RawData) => {
      const text = pass({ direction: 'to-relay', role, text: String(data) });
      if (text === undefined) return;
      if (upstream.readyState === WebSocket.OPEN) upstream.send(text);
      else early.push(text);
    });
    upstream.on('open', () => {
      for (const text of early.splice(0)) upstream.send(text);
    });
    upstream.on('message', (data: WebSocket.RawData) => {
      const text = pass({ direction: 'from-relay', role, text: String(data) });
      if (text !== undefined && downstream.readyState === WebSocket.OPEN) downstream.send(text);
    });
    const closeBoth = () => {
      if (downstream.readyState <= WebSocket.OPEN) downstream.close(1001, 'upstream gone');
      if (upstream.readyState <= WebSocket.OPEN) upstream.terminate();
    };
    upstream.on('close', closeBoth);
    upstream.on('error', closeBoth);
    downstream.on('close', closeBoth);
    downstream.on('error', closeBoth);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
