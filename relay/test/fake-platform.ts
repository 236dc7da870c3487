// A small stand-in for the hosted Viewport platform, for tests only: an HTTP
// server on 127.0.0.1 with a route table. Test files add the endpoints they
// need (validate, JWKS, presence and bus APIs) with `route`.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface FakeResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string | object;
  /** Delay before answering, to simulate a slow platform. */
  delayMs?: number;
  /** Destroy the socket instead of answering, to simulate a crash. */
  destroy?: boolean;
}

export type FakeHandler = (req: FakeRequest) => FakeResponse | Promise<FakeResponse>;

export interface FakePlatform {
  readonly url: string;
  readonly requests: FakeRequest[];
  route(method: string, path: string, handler: FakeHandler): void;
  close(): Promise<void>;
}

/** startFakePlatform listens on 127.0.0.1 at an ephemeral port. */
export async function startFakePlatform(): Promise<FakePlatform> {
  const routes = new Map<string, FakeHandler>();
  const requests: FakeRequest[] = [];
  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const request: FakeRequest = {
      method: req.method ?? 'GET',
      path,
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    requests.push(request);
    const handler = routes.get(`${request.method} ${path}`);
    const answer: FakeResponse = handler ? await handler(request) : { status: 404, body: { ok: false } };
    if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
    if (answer.destroy) {
      req.socket.destroy();
      return;
    }
    const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {});
    res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers });
    res.end(body);
  }

  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    route(method, path, handler) {
      routes.set(`${method.toUpperCase()} ${path}`, handler);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
