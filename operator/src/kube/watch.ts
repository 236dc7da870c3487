// Informers feeding the work queue: ViewportRelays and every owned child kind
// (label-filtered), per watched namespace or cluster-wide. Secrets are never
// watched wholesale: the owned ones (generated) by the managed-by label like
// every child, and each user Secret a relay's spec names by a watch on that
// one name (an index, Secret -> relays naming it, kept from relay events,
// starts and stops them), so unrelated Secrets are never sent to the operator
// or held in its memory (docs/security.md). A watch that errors has stopped
// (client-node keeps only 410 to itself), so it is restarted here with
// exponential backoff.
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
  /** referencedSecrets are the "namespace/name" of the user Secrets watched one by one. */
  referencedSecrets(): string[];
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

  /** secrets lists every referenced "namespace/name". */
  secrets(): string[] {
    return [...this.bySecret.keys()];
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
  /** fieldSelector narrows the watch to one object (a referenced Secret). */
  fieldSelector?: string;
  /** optional: an add-on API that may not be installed, or a per-Secret watch; not needed for synced(). */
  optional: boolean;
}

/** watchedKinds: ViewportRelays, then every child kind (Secrets included) by our label. */
function watchedKinds(): WatchedKind[] {
  return [
    { apiVersion: RELAY_API_VERSION, kind: RELAY_KIND, selector: undefined, optional: false },
    ...CHILD_KINDS.map((k) => ({ apiVersion: k.apiVersion, kind: k.kind, selector: MANAGED_BY_SELECTOR, optional: k.optional })),
  ];
}

/** referencedSecretWatch watches the one Secret namespace/name (it carries no label of ours). */
function referencedSecretWatch(name: string): WatchedKind {
  return { apiVersion: 'v1', kind: 'Secret', selector: undefined, fieldSelector: `metadata.name=${name}`, optional: true };
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

/** Runner runs watches by id and restarts a failed one with backoff until it is retired. */
class Runner {
  readonly synced = new Set<string>();
  private readonly handles = new Map<string, WatchHandle>();
  private readonly timers = new Map<string, TimerId>();
  private readonly failures = new Map<string, number>();
  // Watches that should be running; a retired one is not restarted.
  private readonly live = new Set<string>();
  private stopped = false;

  constructor(
    private readonly o: WatchSetOptions,
    private readonly onEvent: (k: WatchedKind, e: WatchEvent) => void,
  ) {}

  start(id: string, k: WatchedKind, namespace: string | undefined): void {
    this.live.add(id);
    this.run(id, k, namespace);
  }

  retire(id: string): void {
    this.live.delete(id);
    const timer = this.timers.get(id);
    if (timer !== undefined) this.o.clock.clearTimer(timer);
    this.timers.delete(id);
    this.handles.get(id)?.stop();
    this.handles.delete(id);
    this.failures.delete(id);
    this.synced.delete(id);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) this.o.clock.clearTimer(t);
    for (const h of this.handles.values()) h.stop();
  }

  private run(id: string, k: WatchedKind, namespace: string | undefined): void {
    if (this.stopped || !this.live.has(id)) return;
    const { o } = this;
    const opts = { namespace, labelSelector: k.selector, fieldSelector: k.fieldSelector };
    this.handles.set(
      id,
      o.kube.watch(k.apiVersion, k.kind, opts, {
        onEvent: (e) => this.onEvent(k, e),
        onSynced: () => {
          this.synced.add(id);
          this.failures.delete(id);
        },
        onError: (error) => {
          if (this.stopped || !this.live.has(id)) return;
          const n = (this.failures.get(id) ?? 0) + 1;
          this.failures.set(id, n);
          const delay = Math.min((o.minRestartMs ?? 1000) * 2 ** (n - 1), o.maxRestartMs ?? 5 * 60_000);
          // Add-on APIs that are not installed fail with 404 forever; log those quietly.
          const level = k.optional && error.status === 404 ? 'info' : 'warn';
          o.log[level]('watch_restart', { kind: k.kind, namespace: namespace ?? '*', reason: error.reason, inMs: delay });
          o.onRestart?.(k.kind);
          this.handles.get(id)?.stop();
          this.timers.set(
            id,
            o.clock.setTimer(() => this.run(id, k, namespace), delay),
          );
        },
      }),
    );
  }
}

/** startWatches starts every informer and keeps it running until stop(). */
export function startWatches(o: WatchSetOptions): WatchSet {
  const relays = new Set<string>();
  const secretIndex = new SecretIndex();
  const required = new Set<string>();
  const scopes: (string | undefined)[] = o.namespaces.length > 0 ? [...o.namespaces] : [undefined];

  // One watch per referenced Secret: started when a relay first names it, retired when none does.
  const referenced = new Map<string, string>();
  const syncReferencedWatches = (): void => {
    const wanted = new Set(secretIndex.secrets());
    for (const [secret, id] of referenced) {
      if (wanted.has(secret)) continue;
      runner.retire(id);
      referenced.delete(secret);
    }
    for (const secret of wanted) {
      if (referenced.has(secret)) continue;
      const slash = secret.indexOf('/');
      const id = `v1/Secret/${secret}`;
      referenced.set(secret, id);
      runner.start(id, referencedSecretWatch(secret.slice(slash + 1)), secret.slice(0, slash));
    }
  };

  const runner: Runner = new Runner(o, (k, e) => {
    if (k.kind !== RELAY_KIND) {
      for (const key of relaysOfChild(e.object, secretIndex)) o.onKey(key);
      return;
    }
    const key = trackRelay(e, relays, secretIndex, o.secretsOf);
    if (o.secretsOf) syncReferencedWatches();
    o.onKey(key);
  });

  for (const k of watchedKinds()) {
    for (const ns of scopes) {
      const id = `${k.apiVersion}/${k.kind}/${ns ?? '*'}`;
      if (!k.optional) required.add(id);
      runner.start(id, k, ns);
    }
  }

  return {
    synced: () => [...required].every((id) => runner.synced.has(id)),
    relayKeys: () => [...relays],
    referencedSecrets: () => [...referenced.keys()].sort(),
    stop: () => runner.stop(),
  };
}
