// The bare forwarder: the least a Node.js `ws` server can do to carry relay
// traffic, used as the yardstick for the relay. It pairs a workspace's daemon
// with its clients, forwards client frames to the daemon verbatim, and sends
// daemon frames to the client that owns their session. No admission, no
// validation, no limits; it parses only the key-exchange frames that set up
// ownership, and finds a data frame's sessionId with a byte search.
import { createServer, type Server } from 'node:http';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { sessionIdOf } from './envelopes.js';

interface Scope {
  daemon: WebSocket | undefined;
  readonly pendingKex: Map<string, WebSocket>;
  readonly sessions: Map<string, WebSocket>;
}

const KEX_INIT = Buffer.from('{"type":"relay_key_exchange_init"');
const KEX_RESPONSE = Buffer.from('{"type":"relay_key_exchange_response"');

/** BareOptions: parseEveryFrame adds the one JSON.parse per frame the relay's validation needs, to price it in place. */
export interface BareOptions {
  parseEveryFrame: boolean;
}

function startsWith(data: Buffer, prefix: Buffer): boolean {
  return data.length >= prefix.length && data.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

/** createBareForwarder returns an HTTP server (not yet listening) that forwards /ws traffic as described above. */
export function createBareForwarder(options: BareOptions): Server {
  const scopes = new Map<string, Scope>();
  let parsedFrames = 0;

  function parseForCost(data: Buffer): void {
    if (options.parseEveryFrame && (JSON.parse(data.toString('utf8')) as { type?: unknown }).type !== undefined) parsedFrames++;
  }

  function scopeFor(key: string): Scope {
    let scope = scopes.get(key);
    if (!scope) {
      scope = { daemon: undefined, pendingKex: new Map(), sessions: new Map() };
      scopes.set(key, scope);
    }
    return scope;
  }

  function onDaemon(ws: WebSocket, scope: Scope): void {
    scope.daemon = ws;
    ws.on('message', (raw: RawData, isBinary: boolean) => {
      const data = raw as Buffer;
      parseForCost(data);
      let owner: WebSocket | undefined;
      if (startsWith(data, KEX_RESPONSE)) {
        const frame = JSON.parse(data.toString('utf8')) as { requestId: string; sessionId: string };
        owner = scope.pendingKex.get(frame.requestId);
        scope.pendingKex.delete(frame.requestId);
        if (owner) scope.sessions.set(frame.sessionId, owner);
      } else {
        const sessionId = sessionIdOf(data);
        owner = sessionId === undefined ? undefined : scope.sessions.get(sessionId);
      }
      if (owner?.readyState === WebSocket.OPEN) owner.send(data, { binary: isBinary });
    });
    ws.on('close', () => {
      if (scope.daemon === ws) scope.daemon = undefined;
      scope.sessions.clear();
      scope.pendingKex.clear();
    });
  }

  function onClient(ws: WebSocket, scope: Scope): void {
    ws.on('message', (raw: RawData, isBinary: boolean) => {
      const data = raw as Buffer;
      parseForCost(data);
      if (startsWith(data, KEX_INIT)) {
        const frame = JSON.parse(data.toString('utf8')) as { requestId: string };
        scope.pendingKex.set(frame.requestId, ws);
      }
      const daemon = scope.daemon;
      if (daemon?.readyState === WebSocket.OPEN) daemon.send(data, { binary: isBinary });
    });
    ws.on('close', () => {
      for (const [sessionId, owner] of scope.sessions) if (owner === ws) scope.sessions.delete(sessionId);
    });
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, service: 'bare-forwarder', parsedFrames }));
  });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://bare');
    const role = url.searchParams.get('role');
    const workspaceId = url.searchParams.get('workspaceId');
    if (url.pathname !== '/ws' || !workspaceId || (role !== 'client' && role !== 'workspace-daemon')) {
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    const scope = scopeFor(`${workspaceId}\n${url.searchParams.get('runtimeTargetId') ?? ''}`);
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => ws.terminate());
      if (role === 'workspace-daemon') onDaemon(ws, scope);
      else onClient(ws, scope);
    });
  });

  return server;
}
