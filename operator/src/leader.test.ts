import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { MemoryKube } from '../test/memory-kube.js';
import { LeaderElector } from './leader.js';
import { silentLogger } from './log.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const flush = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

function elector(kube: MemoryKube, clock: ManualClock, identity: string, log: string[]) {
  return new LeaderElector({
    kube,
    clock,
    log: silentLogger,
    namespace: 'ops',
    name: 'viewport-relay-operator',
    identity,
    onStartedLeading: () => log.push(`${identity} started`),
    onStoppedLeading: () => log.push(`${identity} stopped`),
  });
}
/** started runs a (then b) on the given clocks until both made their first attempt. */
async function started(clockA: ManualClock, clockB = clockA) {
  const kube = new MemoryKube();
  const log: string[] = [];
  const a = elector(kube, clockA, 'a', log);
  const b = elector(kube, clockB, 'b', log);
  a.start();
  await flush();
  b.start();
  await flush();
  return { kube, log, a, b };
}
const lease = (kube: MemoryKube) => kube.find('Lease', 'ops', 'viewport-relay-operator')!.spec as Obj;

describe('LeaderElector', () => {
  it('one of two candidates leads; the Lease carries client-go timings and MicroTime stamps', async () => {
    const { kube, log, a, b } = await started(new ManualClock());
    expect(log).toEqual(['a started']);
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    expect(lease(kube)).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(lease(kube).renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it('the standby takes over only after the lease expires unrenewed', async () => {
    // a frozen leader: its clock never moves, so it never renews after the first acquire.
    const clock = new ManualClock();
    const { kube, b } = await started(new ManualClock(), clock);
    for (let i = 0; i < 7; i++) {
      clock.advance(2000);
      await flush();
    }
    expect(b.isLeader).toBe(false); // 14 s since b first saw a's record
    clock.advance(2000);
    await flush();
    expect(b.isLeader).toBe(true);
    expect(lease(kube)).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('a leader that cannot renew within the deadline stops leading', async () => {
    const kube = new MemoryKube();
    const clock = new ManualClock();
    const log: string[] = [];
    const a = elector(kube, clock, 'a', log);
    a.start();
    await flush();
    kube.failNext('replace', () => true, { status: undefined, reason: 'NetworkError', message: 'down' }, 100);
    for (let i = 0; i < 4; i++) {
      clock.advance(2000);
      await flush();
    }
    expect(a.isLeader).toBe(true); // 8 s without renewal: still inside the 10 s deadline
    clock.advance(2000);
    await flush();
    expect(log).toEqual(['a started', 'a stopped']);
  });

  it('release on stop lets the standby lead at its next retry', async () => {
    const clock = new ManualClock();
    const { kube, log, a, b } = await started(clock);
    await a.stop();
    expect(lease(kube).holderIdentity).toBe('');
    clock.advance(2000);
    await flush();
    expect(b.isLeader).toBe(true);
    expect(lease(kube)).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(log).toEqual(['a started', 'a stopped', 'b started']);
  });

  it('a 409 on replace means another candidate won the race', async () => {
    const kube = new MemoryKube();
    const clock = new ManualClock();
    const a = elector(kube, clock, 'a', []);
    expect(await a.tryAcquireOrRenew()).toBe(true);
    kube.failNext('replace', () => true, { status: 409, reason: 'Conflict', message: 'modified' });
    expect(await a.tryAcquireOrRenew()).toBe(false);
  });
});
