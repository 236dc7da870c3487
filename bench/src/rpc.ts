// Request/response over a child's IPC channel. The parent calls a named
// command and awaits one reply; the child answers from a handler table.
import type { ChildProcess } from 'node:child_process';

interface Request {
  id: number;
  cmd: string;
  args: unknown;
}

type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** ReadyMessage is what a child sends once it is listening or otherwise usable. */
export interface ReadyMessage {
  ready: true;
  info: Record<string, unknown>;
}

/** RpcClient calls commands on one child; every call has a deadline so a hung child cannot stall the run. */
export class RpcClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readyInfo: Promise<Record<string, unknown>>;

  constructor(
    private readonly child: ChildProcess,
    private readonly name: string,
  ) {
    this.readyInfo = new Promise((resolve, reject) => {
      child.on('message', (msg: unknown) => {
        const m = msg as { ready?: boolean; info?: Record<string, unknown>; id?: number; ok?: boolean; result?: unknown; error?: string };
        if (m.ready === true) {
          resolve(m.info ?? {});
          return;
        }
        if (typeof m.id !== 'number') return;
        const waiter = this.pending.get(m.id);
        if (!waiter) return;
        this.pending.delete(m.id);
        if (m.ok) waiter.resolve(m.result);
        else waiter.reject(new Error(`${name}: ${m.error ?? 'unknown error'}`));
      });
      child.once('exit', (code, signal) => {
        const err = new Error(`${name} exited (${code ?? signal})`);
        reject(err);
        for (const waiter of this.pending.values()) waiter.reject(err);
        this.pending.clear();
      });
    });
    // Callers await ready(); this keeps an early exit from becoming an unhandled rejection.
    this.readyInfo.catch(() => undefined);
  }

  /** ready resolves with the child's ready info, or rejects if it exits first. */
  ready(): Promise<Record<string, unknown>> {
    return this.readyInfo;
  }

  /** call runs cmd in the child and resolves with its result; rejects on child error, exit or timeout. */
  call<T>(cmd: string, args: unknown, timeoutMs: number): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: ${cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      const request: Request = { id, cmd, args };
      this.child.send(request);
    });
  }
}

/** Handlers maps each command a child accepts to its implementation. */
export type Handlers = Record<string, (args: never) => unknown>;

/**
 * serveRpc answers the parent's calls from handlers, announces readiness, and
 * exits when the parent goes away so no child outlives a killed run.
 */
export function serveRpc(handlers: Handlers, info: Record<string, unknown>): void {
  if (!process.send) throw new Error('this module must be started with an IPC channel (fork)');
  process.on('disconnect', () => process.exit(0));
  process.on('message', (msg: unknown) => {
    const req = msg as Request;
    void answer(req);
  });
  const ready: ReadyMessage = { ready: true, info };
  process.send(ready);

  async function answer(req: Request): Promise<void> {
    const handler = handlers[req.cmd];
    let reply: Reply;
    if (!handler) {
      reply = { id: req.id, ok: false, error: `unknown command ${req.cmd}` };
    } else {
      try {
        reply = { id: req.id, ok: true, result: await handler(req.args as never) };
      } catch (err) {
        reply = { id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) };
      }
    }
    process.send?.(reply);
  }
}
