// The reading side of the bus: this relay's stream, read with XREAD BLOCK on
// its own connection from the last id delivered, so a reconnect resumes exactly
// where it stopped; read entries are trimmed so the stream's length is its
// unread backlog (docs/backplane.md, "Bus delivery design"). Apart from the
// writer and the store: its state (last id, resync, trim count) is its own.
import type { BackplaneLog } from '../backplane.js';
import type { BusReceiver } from '../bus-receiver.js';
import type { BackplaneMetrics } from '../metrics.js';
import type { RedisConnections } from './connections.js';
import type { RedisKeys } from './keys.js';
import { compareStreamIds, entrySize, lossScope, parseEntry, streamIdMs } from './stream-entry.js';

const READ_BLOCK_MS = 2000;
const READ_COUNT = 200;

export interface StreamReaderOptions {
  readonly connections: RedisConnections;
  readonly keys: RedisKeys;
  readonly relayId: string;
  /** This relay's stream key. */
  readonly ownStream: string;
  readonly queueMax: number;
  readonly metrics: BackplaneMetrics;
  readonly log: BackplaneLog;
  readonly isClosed: () => boolean;
  /** onMarker acts on a peer-link fence or unlink read from the stream. */
  readonly onMarker: (kind: 'fence' | 'unlink', value: unknown) => void;
}

/** StreamReader reads this relay's stream and says how far it got. */
export interface StreamReader {
  readLoop(receive: BusReceiver): Promise<void>;
  /**
   * position is "startId lastId": entries up to startId were in the stream
   * before this reader started and are never delivered by it, entries after it
   * up to lastId were (delivery-watch.ts). Undefined before the first read.
   */
  position(): string | undefined;
}

/**
 * createStreamReader prepares the reader; readLoop runs until the store
 * closes. One closure over the read position (lastId, resync, trim count),
 * which only this file touches; its steps are the named inner functions.
 */
export function createStreamReader(options: StreamReaderOptions): StreamReader {
  const { connections, keys, ownStream, metrics, log, isClosed, onMarker } = options;
  const { commands, reader } = connections;
  // Last stream id handed to the receiver; undefined until the first connect.
  let lastId: string | undefined;
  // The stream's tail when this reader first started: what came before is never delivered here.
  let startId: string | undefined;
  let needsResync = true;
  // Entries delivered since the last trim: the stream may hold up to trimEvery read entries besides the unread.
  let deliveredSinceTrim = 0;
  const trimEvery = Math.max(1, Math.min(64, Math.floor(options.queueMax / 16)));

  // Each (re)connect of the reader may find the stream gone or rewound.
  reader.on('ready', () => {
    needsResync = true;
  });

  // Decide where to resume after (re)connecting: the stream tail on first
  // start; the beginning if the stream vanished (Redis restarted empty or the
  // stream expired) or went backwards; otherwise keep lastId.
  async function resync(): Promise<void> {
    if (lastId === undefined) {
      const tail = (await reader.xrevrange(ownStream, '+', '-', 'COUNT', 1)) as [string, string[]][];
      lastId = tail[0]?.[0] ?? '0-0';
      startId = lastId;
      return;
    }
    const info = (await reader.call('XINFO', 'STREAM', ownStream).catch((error: unknown) => {
      if (String(error).includes('no such key')) return null;
      throw error;
    })) as unknown[] | null;
    if (!info) {
      lastId = '0-0';
      return;
    }
    const at = info.indexOf('last-generated-id');
    const lastGenerated = at >= 0 ? String(info[at + 1]) : '0-0';
    if (compareStreamIds(lastGenerated, lastId) < 0) lastId = '0-0';
  }

  async function readLoop(receive: BusReceiver): Promise<void> {
    while (!isClosed()) {
      if (reader.status !== 'ready') {
        await connections.waitForChange(1000);
        continue;
      }
      try {
        if (needsResync) {
          await resync();
          needsResync = false;
        }
        const result = (await reader.xread('COUNT', READ_COUNT, 'BLOCK', READ_BLOCK_MS, 'STREAMS', ownStream, lastId ?? '$')) as
          | [string, [string, string[]][]][]
          | null;
        metrics.pullOk.inc();
        const before = lastId;
        let readBytes = 0;
        for (const [, entries] of result ?? []) {
          for (const [id, fields] of entries) {
            lastId = id;
            deliveredSinceTrim += 1;
            const entry = parseEntry(fields);
            // Only frames count towards the byte cap (markers are few and small).
            if (entry.kind === 'frame') readBytes += entrySize(fields);
            if (entry.kind === 'fence' || entry.kind === 'unlink') {
              onMarker(entry.kind, entry.value);
              continue;
            }
            if (entry.kind === 'loss') {
              releaseLossGuard(entry.value);
              // The marker's freshness is judged at its append, not its read: a backlog must not age it out.
              if (typeof entry.value === 'object' && entry.value !== null) (entry.value as Record<string, unknown>).appendedAtMs = streamIdMs(id);
            }
            receive(entry.value, entry.kind);
          }
        }
        if (readBytes > 0) releaseBytes(readBytes);
        // Trim in steps, not per read: under moderate load a read returns one
        // entry, and a trim each would double the reader's commands.
        if (lastId !== undefined && deliveredSinceTrim > 0 && (deliveredSinceTrim >= trimEvery || lastId === before)) {
          deliveredSinceTrim = 0;
          trimDelivered(lastId);
        }
      } catch (error) {
        if (isClosed()) break;
        metrics.pullFailed.inc();
        log.warn('bus_read_failed', { mode: 'redis', error: String(error) });
        needsResync = true;
        // Avoid a hot loop when Redis answers with an error while connected.
        await connections.waitForChange(reader.status === 'ready' ? 250 : 1000);
      }
    }
  }

  // Delivered entries leave the stream, so its length is the unread backlog the
  // publish script compares with the cap. Off the read path; a failed trim is
  // retried by the next batch's.
  function trimDelivered(upToId: string): void {
    commands.xtrim(ownStream, 'MINID', upToId).catch((error: unknown) => {
      log.debug('bus_trim_failed', { mode: 'redis', error: String(error) });
    });
  }

  // What was read no longer counts against the stream's byte cap. Off the read
  // path; a failed release leaves the counter high until the stream expires.
  function releaseBytes(bytes: number): void {
    commands.releaseBytes(ownStream, String(bytes)).catch((error: unknown) => {
      log.debug('bus_bytes_release_failed', { mode: 'redis', error: String(error) });
    });
  }

  // The marker is read: a later refusal for the scope must leave a new one.
  function releaseLossGuard(value: unknown): void {
    const parts = lossScope(value);
    if (!parts) return;
    commands.del(keys.lossGuard(options.relayId, parts.sourceRelayId, parts.scope)).catch((error: unknown) => {
      log.debug('bus_loss_guard_release_failed', { mode: 'redis', error: String(error) });
    });
  }

  return { readLoop, position: () => (startId === undefined || lastId === undefined ? undefined : `${startId} ${lastId}`) };
}
