// The slice of the WHATWG WebSocket the browser client uses, so the same code
// runs on a browser's WebSocket and on Node 22's global one, and opening it
// resolves with a reason that never contains the token (it is in `protocols`).

/** SocketLike is the part of a WHATWG WebSocket the client touches. */
export interface SocketLike {
  readonly readyState: number;
  readonly protocol: string;
  readonly extensions: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
}

/** SocketFactory opens a WebSocket; the default is the global WebSocket. */
export type SocketFactory = (url: string, protocols: string[]) => SocketLike;

const defaultFactory: SocketFactory = (url, protocols) => new globalThis.WebSocket(url, protocols) as unknown as SocketLike;

/** openSocket resolves once the socket is open, or with a reason naming the URL and close code only. */
export function openSocket(
  factory: SocketFactory | undefined,
  url: string,
  protocols: string[],
  timeoutMs: number,
): Promise<{ ok: true; socket: SocketLike } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    let socket: SocketLike;
    try {
      socket = (factory ?? defaultFactory)(url, protocols);
    } catch (error) {
      // Constructor errors quote the offered protocols in some engines; report only their kind.
      resolve({ ok: false, error: `cannot open a WebSocket to ${url} (${(error as Error).name})` });
      return;
    }
    let settled = false;
    const timer = setTimeout(() => {
      finish({ ok: false, error: `no answer from ${url} within ${String(timeoutMs)} ms` });
      socket.close();
    }, timeoutMs);
    const finish = (value: { ok: true; socket: SocketLike } | { ok: false; error: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(value);
    };
    socket.addEventListener('open', () => finish({ ok: true, socket }));
    // A browser hides the HTTP status of a refused upgrade: an error, then close code 1006, is all there is.
    socket.addEventListener('error', () => finish({ ok: false, error: `the relay at ${url} refused or dropped the connection` }));
    socket.addEventListener('close', (event) => finish({ ok: false, error: `the relay at ${url} refused or closed the connection (code ${String(event.code)})` }));
  });
}
