// Informers feeding the work queue: ViewportRelays and every owned child kind
// (label-filtered), per watched namespace or cluster-wide. Secrets are watched
// unfiltered: a user Secret named by a relay's spec carries no label of ours,
// so an index (Secret -> relays naming it, kept from relay events) maps its
// changes to relays. A watch that errors has stopped (client-node keeps only
// 410 to itself), so it is restarted here with exponential backoff.
import { RELAY_API_VERSION, RELAY_KIND } from '../api/v1alpha1/group.js';
import type { Clock, TimerId } from '../clock.js';
import { MANAGED_BY_SELECTOR, RELAY_LABEL } from '../desired/labels.js';
import { CHILD_KINDS } from '../kinds.js';
import type { Logger } from '../log.js';
import type { KubeObject } from '../object.js';
import type { KubeAdapter, WatchEvent, WatchHandle } from './adapter.js';

/** WatchSetOptions configure startWatches. */
export interface WatchSetOptions {
  kube: KubeAdapter;
  clock: Clock;
  log: Logger;
  /** Namespaces to watch; empty = all. */
  namespaces: readonly string[];
  /** Called with a relay key ("ns/name") for every relevant event. */
  onKey: (key: string) => void;
  /** Names of the Secrets (in the relay's namespace) a relay's spec references; a change to one re-queues the relay. */
  secretsOf?: (relay: KubeObject) => readonly string[];
  onRestart?: (kind: string) => void;
  minRestartMs?: number;
  maxRestartMs?: number;
}

/** WatchSet is the running set of informers. */
export interface WatchSet {
  /** synced is true once every required (non add-on) watch delivered its initial list. */
  synced(): boolean;
  /** relayKeys are the relays seen so far (for periodic resync). */
  relayKeys(): string[];
  stop(): void;
}

/** keyOfChild maps a child to its relay's key through the relay label. */
export function keyOfChild(obj: KubeObject): string | undefined {
  const relay = obj.metadata.labels?.[RELAY_LABEL];
  return relay !== undefined && obj.metadata.namespace !== undefined ? `${obj.metadata.namespace}/${relay}` : undefined;
}

/** SecretIndex maps "namespace/secret" to the keys of the relays whose spec names that Secret. */
export class SecretIndex {
  private readonly byRelay = new Map<string, string[]>();
  private readonly bySecret = new Map<string, Set<string>>();

  /** set replaces what relayKey references (names are in the relay's namespace). */
  set(relayKey: string, namespace: string, names: readonly string[]): void {
    this.remove(relayKey);
    const secrets = [...new Set(names)].map((n) => `${namespace}/${n}`);
    this.byRelay.set(relayKey, secrets);
    for (const s of secrets) {
      const relays = this.bySecret.get(s) ?? new Set<string>();
      relays.add(relayKey);
      this.bySecret.set(s, relays);
    }
  }

  /** remove forgets a relay. */
  remove(relayKey: string): void {
    for (const s of this.byRelay.get(relayKey) ?? []) {
      const relays = this.bySecret.get(s);
      relays?.delete(relayKey);
      if (relays?.size === 0) this.bySecret.delete(s);
    }
    this.byRelay.delete(relayKey);
  }

  /** relaysOf lists the relays that reference namespace/name. */
  relaysOf(namespace: string, name: string): string[] {
    return [...(this.bySecret.get(`${namespace}/${name}`) ?? [])];
  }
}

/** WatchedKind is one kind the operator watches, and how. */
interface WatchedKind {
  apiVersion: string;
  kind: string;
  selector: string | undefined;
  /** optional: an add-on API that may not be installed; not needed for synced(). */
  optional: boolean;
}

/** watchedKinds: ViewportRelays, then every child kind by our label (Secrets unfiltered when an index is kept). */
function watchedKinds(indexSecrets: boolean): WatchedKind[] {
  return [
    { apiVersion: RELAY_API_VERSION, kind: RELAY_KIND, selector: undefined, optional: false },
    ...CHILD_KINDS.map((k) => ({
      apiVersion: k.apiVersion,
      kind: k.kind,
      // Referenced Secrets are the user's and unlabelled: watch them all (in scope) when an index is kept.
      selector: k.kind === 'Secret' && indexSecrets ? undefined : MANAGED_BY_SELECTOR,
      optional: k.optional,
    })),
  ];
}

/** trackRelay records a relay event in the known relays and the Secret index; the relay's key. */
function trackRelay(
  e: WatchEvent,
  relays: Set<string>,
  secretIndex: SecretIndex,
  secretsOf: WatchSetOptions['secretsOf'],
): string {
  const { metadata } = e.object;
  const key = `${metadata.namespace}/${metadata.name}`;
  if (e.type === 'deleted') {
    relays.delete(key);
    secretIndex.remove(key);
  } else {
    relays.add(key);
    if (secretsOf) secretIndex.set(key, metadata.namespace ?? '', secretsOf(e.object));
  }
  return key;
}

/** relaysOfChild: the relay owning a child (by label) and, for a Secret, every relay whose spec names it. */
function relaysOfChild(obj: KubeObject, secretIndex: SecretIndex): string[] {
  const { metadata } = obj;
  const child = keyOfChild(obj);
  const referencing = obj.kind === 'Secret' && metadata.namespace !== undefined ? secretIndex.relaysOf(metadata.namespace, metadata.name) : [];
  return [...new Set([...(child !== undefined ? [child] : []), ...referencing])];
}

/** startWatches starts every informer and keeps it running until stop(). */
export function startWatches(o: WatchSetOptions): WatchSet {
  const relays = new Set<string>();
  const secretIndex = new SecretIndex();
  const required = new Set<string>();
  const syncedSet = new Set<string>();
  const handles = new Map<string, WatchHandle>();
  const timers = new Map<string, TimerId>();
  const failures = new Map<string, number>();
  let stopped = false;
  const scopes: (string | undefined)[] = o.namespaces.length > 0 ? [...o.namespaces] : [undefined];
  const kinds = watchedKinds(o.secretsOf !== undefined);
  const keysOf = (isRelay: boolean, e: WatchEvent): string[] =>
    isRelay ? [trackRelay(e, relays, secretIndex, o.secretsOf)] : relaysOfChild(e.object, secretIndex);

  const run = (id: string, k: WatchedKind, namespace: string | undefined): void => {
    if (stopped) return;
    const isRelay = k.kind === RELAY_KIND;
    handles.set(
      id,
      o.kube.watch(k.apiVersion, k.kind, { namespace, labelSelector: k.selector }, {
        onEvent: (e) => {
          for (const key of keysOf(isRelay, e)) o.onKey(key);
        },
        onSynced: () => {
          syncedSet.add(id);
          failures.delete(id);
        },
        onError: (error) => {
          if (stopped) return;
          const n = (failures.get(id) ?? 0) + 1;
          failures.set(id, n);
          const delay = Math.min((o.minRestartMs ?? 1000) * 2 ** (n - 1), o.maxRestartMs ?? 5 * 60_000);
          // Add-on APIs that are not installed fail with 404 forever; log those quietly.
          const level = k.optional && error.status === 404 ? 'info' : 'warn';
          o.log[level]('watch_restart', { kind: k.kind, namespace: namespace ?? '*', reason: error.reason, inMs: delay });
          o.onRestart?.(k.kind);
          handles.get(id)?.stop();
          timers.set(
            id,
            o.clock.setTimer(() => run(id, k, namespace), delay),
          );
        },
      }),
    );
  };

  for (const k of kinds) {
    for (const ns of scopes) {
      const id = `${k.apiVersion}/${k.kind}/${ns ?? '*'}`;
      if (!k.optional) required.add(id);
      run(id, k, ns);
    }
  }

  return {
    synced: () => [...required].every((id) => syncedSet.has(id)),
    relayKeys: () => [...relays],
    stop: () => {
      stopped = true;
      for (const t of timers.values()) o.clock.clearTimer(t);
      for (const h of handles.values()) h.stop();
    },
  };
}
