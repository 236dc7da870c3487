// MemoryKube: an in-memory KubeAdapter for tests. It models what the
// reconciler relies on: resourceVersion and generation bumps only on real
// change, apply keeping fields it was not given (status, HPA-set replicas),
// label-selector lists, watches, 409 on stale replace, injected failures.
import { refKey, refOf, type KubeObject, type ObjectRef } from '../src/object.js';
import type { KubeAdapter, KubeError, KubeResult, ListOptions, WatchCallbacks, WatchHandle } from '../src/kube/adapter.js';

/** Write is one mutating call the double served, for assertions. */
export interface Write {
  verb: 'apply' | 'applyStatus' | 'create' | 'replace' | 'delete' | 'jsonPatch';
  ref: ObjectRef;
}

type Failure = { verb: Write['verb'] | 'get' | 'list'; match: (ref: ObjectRef) => boolean; error: KubeError; times: number };

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
const clone = <T>(v: T): T => structuredClone(v);

function matchesSelector(obj: KubeObject, selector: string | undefined): boolean {
  if (!selector) return true;
  const labels = obj.metadata.labels ?? {};
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=');
    return k !== undefined && labels[k] === v;
  });
}

// Only the field selector the operator uses: metadata.name=<name>.
function matchesFields(obj: KubeObject, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=');
    return k === 'metadata.name' && obj.metadata.name === v;
  });
}

/** inScope: a list or watch with opts would see obj. */
function inScope(obj: KubeObject, apiVersion: string, kind: string, opts: ListOptions): boolean {
  return (
    obj.apiVersion === apiVersion &&
    obj.kind === kind &&
    (opts.namespace === undefined || obj.metadata.namespace === opts.namespace) &&
    matchesSelector(obj, opts.labelSelector) &&
    matchesFields(obj, opts.fieldSelector)
  );
}

/** MemoryKube implements KubeAdapter over a Map. */
export class MemoryKube implements KubeAdapter {
  readonly objects = new Map<string, KubeObject>();
  readonly writes: Write[] = [];
  /** Kinds ("apiVersion/Kind") the fake API server does not serve (CRD not installed). */
  readonly unserved = new Set<string>();
  private rv = 0;
  private uidSeq = 0;
  private failures: Failure[] = [];
  private watchers: { apiVersion: string; kind: string; opts: ListOptions; cb: WatchCallbacks }[] = [];

  /** watching lists the options of every running watch of a kind (what an informer would hold). */
  watching(kind: string): ListOptions[] {
    return this.watchers.filter((w) => w.kind === kind).map((w) => w.opts);
  }

  /** failNext makes the next `times` calls of verb on matching refs fail with error. */
  failNext(verb: Failure['verb'], match: (ref: ObjectRef) => boolean, error: KubeError, times = 1): void {
    this.failures.push({ verb, match, error, times });
  }

  /** seed stores an object as if a user created it (not recorded as an operator write). */
  seed(obj: KubeObject): KubeObject {
    const stored = this.store(clone(obj), undefined);
    return clone(stored);
  }

  /** mutate edits a stored object as another actor would (drift, controllers writing status). */
  mutate(ref: ObjectRef, edit: (obj: KubeObject) => void): void {
    const existing = this.objects.get(refKey(ref));
    if (!existing) throw new Error(`mutate: ${refKey(ref)} not found`);
    const next = clone(existing);
    edit(next);
    this.store(next, existing);
  }

  /** remove deletes an object as another actor would. */
  remove(ref: ObjectRef): void {
    const existing = this.objects.get(refKey(ref));
    if (!existing) return;
    this.objects.delete(refKey(ref));
    this.notify('deleted', existing);
  }

  /** find returns a stored object by kind, namespace and name. */
  find(kind: string, namespace: string, name: string): KubeObject | undefined {
    for (const o of this.objects.values()) {
      if (o.kind === kind && o.metadata.namespace === namespace && o.metadata.name === name) return clone(o);
    }
    return undefined;
  }

  private failure(verb: Failure['verb'], ref: ObjectRef): KubeError | undefined {
    const f = this.failures.find((x) => x.verb === verb && x.match(ref));
    if (!f) return undefined;
    f.times -= 1;
    if (f.times <= 0) this.failures = this.failures.filter((x) => x !== f);
    return f.error;
  }

  private unservedError(ref: { apiVersion: string; kind: string }): KubeError | undefined {
    if (!this.unserved.has(`${ref.apiVersion}/${ref.kind}`)) return undefined;
    return { status: 404, reason: 'NotFound', message: `the server could not find the requested resource (${ref.kind})` };
  }

  private store(next: KubeObject, existing: KubeObject | undefined): KubeObject {
    const { metadata } = next;
    if (existing) {
      const strip = (o: KubeObject) => ({ ...o, metadata: { ...o.metadata, resourceVersion: undefined, generation: undefined } });
      if (same(strip(existing), strip(next))) return existing;
      const specChanged = !same({ ...existing, metadata: undefined, status: undefined }, { ...next, metadata: undefined, status: undefined });
      metadata.uid = existing.metadata.uid;
      metadata.creationTimestamp = existing.metadata.creationTimestamp;
      metadata.generation = (existing.metadata.generation ?? 1) + (specChanged ? 1 : 0);
    } else {
      metadata.uid = metadata.uid ?? `uid-${++this.uidSeq}`;
      metadata.creationTimestamp = metadata.creationTimestamp ?? '2026-01-01T00:00:00Z';
      metadata.generation = 1;
    }
    metadata.resourceVersion = String(++this.rv);
    this.objects.set(refKey(refOf(next)), next);
    this.notify(existing ? 'modified' : 'added', next);
    return next;
  }

  private notify(type: 'added' | 'modified' | 'deleted', obj: KubeObject): void {
    for (const w of this.watchers) {
      if (!inScope(obj, w.apiVersion, w.kind, w.opts)) continue;
      w.cb.onEvent({ type, object: clone(obj) });
    }
  }

  async get(ref: ObjectRef): Promise<KubeResult<KubeObject | undefined>> {
    const err = this.failure('get', ref) ?? this.unservedError(ref);
    if (err) return { ok: false, error: err };
    const o = this.objects.get(refKey(ref));
    return { ok: true, value: o ? clone(o) : undefined };
  }

  async list(apiVersion: string, kind: string, opts: ListOptions): Promise<KubeResult<KubeObject[]>> {
    const ref = { apiVersion, kind, namespace: opts.namespace, name: '' };
    const err = this.failure('list', ref) ?? this.unservedError(ref);
    if (err) return { ok: false, error: err };
    const out = [...this.objects.values()].filter((o) => inScope(o, apiVersion, kind, opts));
    return { ok: true, value: out.map(clone) };
  }

  // The field manager is not modelled: every apply merges the same way.
  async apply(obj: KubeObject, _fieldManager?: string): Promise<KubeResult<KubeObject>> {
    const ref = refOf(obj);
    const err = this.failure('apply', ref) ?? this.unservedError(ref);
    if (err) return { ok: false, error: err };
    this.writes.push({ verb: 'apply', ref });
    const existing = this.objects.get(refKey(ref));
    // Server-side apply keeps fields this manager does not set (status, replicas owned by an HPA).
    const next: KubeObject = existing ? { ...clone(existing), ...clone(obj) } : clone(obj);
    if (existing) {
      next.metadata = { ...clone(existing.metadata), ...clone(obj.metadata) };
      const spec = (existing as { spec?: Record<string, unknown> }).spec;
      const applied = (obj as { spec?: Record<string, unknown> }).spec;
      if (spec && applied && spec.replicas !== undefined && applied.replicas === undefined) {
        next.spec = { ...clone(applied), replicas: spec.replicas };
      }
    }
    return { ok: true, value: clone(this.store(next, existing)) };
  }

  async applyStatus(obj: KubeObject): Promise<KubeResult<KubeObject>> {
    const ref = refOf(obj);
    const err = this.failure('applyStatus', ref);
    if (err) return { ok: false, error: err };
    const existing = this.objects.get(refKey(ref));
    if (!existing) return { ok: false, error: { status: 404, reason: 'NotFound', message: `${refKey(ref)} not found` } };
    this.writes.push({ verb: 'applyStatus', ref });
    return { ok: true, value: clone(this.store({ ...clone(existing), status: clone(obj.status) }, existing)) };
  }

  async create(obj: KubeObject): Promise<KubeResult<KubeObject>> {
    const ref = refOf(obj);
    const err = this.failure('create', ref);
    if (err) return { ok: false, error: err };
    if (this.objects.has(refKey(ref))) return { ok: false, error: { status: 409, reason: 'AlreadyExists', message: 'exists' } };
    this.writes.push({ verb: 'create', ref });
    return { ok: true, value: clone(this.store(clone(obj), undefined)) };
  }

  async replace(obj: KubeObject): Promise<KubeResult<KubeObject>> {
    const ref = refOf(obj);
    const err = this.failure('replace', ref);
    if (err) return { ok: false, error: err };
    const existing = this.objects.get(refKey(ref));
    if (!existing) return { ok: false, error: { status: 404, reason: 'NotFound', message: 'not found' } };
    if (obj.metadata.resourceVersion !== existing.metadata.resourceVersion) {
      return { ok: false, error: { status: 409, reason: 'Conflict', message: 'the object has been modified' } };
    }
    this.writes.push({ verb: 'replace', ref });
    return { ok: true, value: clone(this.store(clone(obj), existing)) };
  }

  /** jsonPatch supports what the operator sends: test, add and replace on /field and /spec/field. */
  async jsonPatch(ref: ObjectRef, ops: readonly { op: string; path: string; value?: unknown }[]): Promise<KubeResult<KubeObject>> {
    const err = this.failure('jsonPatch', ref);
    if (err) return { ok: false, error: err };
    const existing = this.objects.get(refKey(ref));
    if (!existing) return { ok: false, error: { status: 404, reason: 'NotFound', message: 'not found' } };
    const next = clone(existing) as Record<string, unknown> & KubeObject;
    for (const op of ops) {
      const parts = op.path.split('/').slice(1);
      const parent = parts.slice(0, -1).reduce<Record<string, unknown>>((at, k) => at[k] as Record<string, unknown>, next);
      const last = parts[parts.length - 1] as string;
      if (op.op === 'test' && !same(parent[last], op.value)) return { ok: false, error: { status: 422, reason: 'Invalid', message: `test of ${op.path} failed` } };
      if (op.op === 'add' || op.op === 'replace') parent[last] = clone(op.value);
    }
    this.writes.push({ verb: 'jsonPatch', ref });
    return { ok: true, value: clone(this.store(next, existing)) };
  }

  async delete(ref: ObjectRef, uid?: string): Promise<KubeResult<void>> {
    const err = this.failure('delete', ref);
    if (err) return { ok: false, error: err };
    const existing = this.objects.get(refKey(ref));
    if (!existing) return { ok: false, error: { status: 404, reason: 'NotFound', message: 'not found' } };
    if (uid !== undefined && existing.metadata.uid !== uid) {
      return { ok: false, error: { status: 409, reason: 'Conflict', message: 'uid precondition failed' } };
    }
    this.writes.push({ verb: 'delete', ref });
    this.objects.delete(refKey(ref));
    this.notify('deleted', existing);
    return { ok: true, value: undefined };
  }

  watch(apiVersion: string, kind: string, opts: ListOptions, cb: WatchCallbacks): WatchHandle {
    const w = { apiVersion, kind, opts, cb };
    this.watchers.push(w);
    const err = this.unservedError({ apiVersion, kind });
    if (err) {
      this.watchers = this.watchers.filter((x) => x !== w);
      queueMicrotask(() => cb.onError(err));
      return { stop: () => undefined };
    }
    queueMicrotask(() => {
      for (const o of this.objects.values()) {
        if (inScope(o, apiVersion, kind, opts)) {
          cb.onEvent({ type: 'added', object: clone(o) });
        }
      }
      cb.onSynced?.();
    });
    return {
      stop: () => {
        this.watchers = this.watchers.filter((x) => x !== w);
      },
    };
  }

  /** writesSince returns writes recorded after index `from` (use writes.length as a mark). */
  writesSince(from: number): Write[] {
    return this.writes.slice(from);
  }
}
