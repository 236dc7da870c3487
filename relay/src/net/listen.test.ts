import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { listen } from './listen.js';

/** A server that refuses the hosts in `refuse` with the given error code, and records every bind. */
function refusingServer(refuse: Record<string, string>): { server: Server; binds: string[] } {
  const binds: string[] = [];
  const fake = new EventEmitter() as EventEmitter & { listen: (port: number, host: string, cb: () => void) => void };
  fake.listen = (_port, host, cb) => {
    binds.push(host);
    const code = refuse[host];
    setImmediate(() => (code ? fake.emit('error', Object.assign(new Error(code), { code })) : cb()));
  };
  return { server: fake as unknown as Server, binds };
}

const open: Server[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => new Promise((r) => s.close(r))));
});

describe('listen', () => {
  it('falls back from :: to 0.0.0.0 when the kernel has no IPv6', async () => {
    const { server, binds } = refusingServer({ '::': 'EAFNOSUPPORT' });
    await expect(listen(server, 8080, '::')).resolves.toBe('0.0.0.0');
    expect(binds).toEqual(['::', '0.0.0.0']);
    expect(server.listenerCount('error')).toBe(0);
  });

  it('keeps every other failure, and never falls back from a host that was named', async () => {
    const inUse = refusingServer({ '::': 'EADDRINUSE' });
    await expect(listen(inUse.server, 8080, '::')).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(inUse.binds).toEqual(['::']);
    const named = refusingServer({ 'fd00::1': 'EAFNOSUPPORT' });
    await expect(listen(named.server, 8080, 'fd00::1')).rejects.toMatchObject({ code: 'EAFNOSUPPORT' });
    expect(named.binds).toEqual(['fd00::1']);
  });

  it('binds a real socket where it is told to, and rejects a port already taken', async () => {
    const first = createServer();
    open.push(first);
    await expect(listen(first, 0, '127.0.0.1')).resolves.toBe('127.0.0.1');
    const { address, port } = first.address() as AddressInfo;
    expect(address).toBe('127.0.0.1');
    const second = createServer();
    await expect(listen(second, port, '127.0.0.1')).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
