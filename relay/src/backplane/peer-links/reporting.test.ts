// The peer links' rejection reports: every one counted by reason, the log
// line at most once per reason and peer every 10 s (with the suppressed count),
// the bad-signature kinds also in the bus's invalid-signature counter.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { recordingLogger, type RecordedLog } from '../../../test/log-recorder.js';
import { createLinkReporter } from './reporting.js';

async function sample(registry: Registry, name: string, reason: string): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return Number(metric?.values.find((v) => v.labels.reason === reason)?.value ?? 0);
}

describe('createLinkReporter', () => {
  it('counts every rejection, logs one line per reason and peer every 10 s, and says how many it held back', async () => {
    const registry = new Registry();
    const logs: RecordedLog[] = [];
    let nowMs = 1000;
    let invalid = 0;
    const report = createLinkReporter(registry, recordingLogger(logs), () => nowMs, () => invalid++);
    for (let i = 0; i < 5; i++) report.rejected('busy', '10.0.0.9');
    report.rejected('busy', '10.0.0.8');
    nowMs += 10_000;
    report.rejected('busy', '10.0.0.9');
    expect(await sample(registry, 'relay_bus_peer_link_rejected_total', 'busy')).toBe(7);
    expect(logs.map((l) => [l.level, l.event, l.details?.peer, l.details?.suppressed])).toEqual([
      ['warn', 'peer_link_rejected', '10.0.0.9', undefined],
      ['warn', 'peer_link_rejected', '10.0.0.8', undefined],
      ['warn', 'peer_link_rejected', '10.0.0.9', 4],
    ]);
    expect(logs[0]?.details?.hint).toMatch(/unfinished handshakes/);
    // Busy is not a signature failure.
    expect(invalid).toBe(0);
  });

  it.each(['bad_proof', 'bad_tag', 'address_unsigned', 'address_malformed', 'address_bad_signature', 'address_stale'] as const)(
    'counts %s as an invalid signature too',
    (reason) => {
      let invalid = 0;
      createLinkReporter(new Registry(), recordingLogger([]), () => 0, () => invalid++).rejected(reason, 'relay-b');
      expect(invalid).toBe(1);
    },
  );

  it('counts refusals by reason and logs them rate-limited', async () => {
    const registry = new Registry();
    const logs: RecordedLog[] = [];
    const report = createLinkReporter(registry, recordingLogger(logs), () => 0, () => undefined);
    report.refused('queue_bytes', 'relay-b');
    report.refused('queue_bytes', 'relay-b');
    report.refused('queue_frames', 'relay-b');
    expect(await sample(registry, 'relay_bus_peer_link_refused_total', 'queue_bytes')).toBe(2);
    expect(await sample(registry, 'relay_bus_peer_link_refused_total', 'queue_frames')).toBe(1);
    expect(logs.map((l) => [l.event, l.details?.reason])).toEqual([
      ['peer_link_refused', 'queue_bytes'],
      ['peer_link_refused', 'queue_frames'],
    ]);
  });

  it('cuts a long peer string in the log', () => {
    const logs: RecordedLog[] = [];
    createLinkReporter(new Registry(), recordingLogger(logs), () => 0, () => undefined).rejected('bad_source', 'x'.repeat(1000));
    expect(String(logs[0]?.details?.peer)).toHaveLength(200);
  });
});
