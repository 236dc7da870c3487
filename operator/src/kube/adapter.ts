// KubeAdapter: everything the operator asks of the API server, as one small
// interface. kube/client.ts implements it on @kubernetes/client-node; tests
// and the e2e tier drive the reconciler through other implementations.
import type { KubeObject, ObjectRef } from '../object.js';

/** KubeError is a failed API call: HTTP status (undefined for network errors), Status reason, message. */
export interface KubeError {
  status: number | undefined;
  reason: string;
  message: string;
}

/** KubeResult is the value every adapter call resolves to; adapters never throw. */
export type KubeResult<T> = { ok: true; value: T } | { ok: false; error: KubeError };

/** ListOptions scope a list or watch. */
export interface ListOptions {
  /** Namespace, or undefined for all namespaces. */
  namespace?: string;
  labelSelector?: string;
  /** fieldSelector, e.g. metadata.name=<name> to watch one object, involvedObject.uid=<uid> for Events. */
  fieldSelector?: string;
}

/** WatchEvent is one informer notification. The initial list arrives as "added". */
export interface WatchEvent {
  type: 'added' | 'modified' | 'deleted';
  object: KubeObject;
}

/** WatchHandle stops a running watch. */
export interface WatchHandle {
  stop(): void;
}

/** WatchCallbacks receive events, and errors after which the watch has stopped (restart is the caller's job). */
export interface WatchCallbacks {
  onEvent(event: WatchEvent): void;
  onError(error: KubeError): void;
  /** Called after the initial list has been delivered. */
  onSynced?(): void;
}

/** KubeAdapter is the operator's whole view of the API server. */
export interface KubeAdapter {
  /** get resolves to undefined when the object does not exist. */
  get(ref: ObjectRef): Promise<KubeResult<KubeObject | undefined>>;
  list(apiVersion: string, kind: string, opts: ListOptions): Promise<KubeResult<KubeObject[]>>;
  /** apply is server-side apply with force, as the operator's field manager unless another is named. */
  apply(obj: KubeObject, fieldManager?: string): Promise<KubeResult<KubeObject>>;
  /** applyStatus server-side applies obj.status on the status subresource. */
  applyStatus(obj: KubeObject): Promise<KubeResult<KubeObject>>;
  /** create fails with 409 when the object exists. */
  create(obj: KubeObject): Promise<KubeResult<KubeObject>>;
  /** replace is a PUT carrying metadata.resourceVersion: 409 when someone else wrote first. */
  replace(obj: KubeObject): Promise<KubeResult<KubeObject>>;
  /** jsonPatch sends an RFC 6902 JSON patch (verb patch); optional so test doubles may leave it out. */
  jsonPatch?(ref: ObjectRef, ops: readonly { op: string; path: string; value?: unknown }[]): Promise<KubeResult<KubeObject>>;
  /** serverVersion reads /version (any authenticated client may); optional for test doubles. */
  serverVersion?(): Promise<KubeResult<{ major: string; minor: string; gitVersion: string }>>;
  /** delete with a uid precondition, so a re-created object of the same name survives. */
  delete(ref: ObjectRef, uid?: string): Promise<KubeResult<void>>;
  watch(apiVersion: string, kind: string, opts: ListOptions, callbacks: WatchCallbacks): WatchHandle;
}

/** isNotFound is true for a 404. */
export const isNotFound = (e: KubeError): boolean => e.status === 404;
/** isConflict is true for a 409. */
export const isConflict = (e: KubeError): boolean => e.status === 409;
/** isPermanent is true for write errors a retry cannot fix without a user change: 4xx except conflict, throttle, timeout (a 404 on a write means the API is not installed). */
export const isPermanent = (e: KubeError): boolean =>
  e.status !== undefined && e.status >= 400 && e.status < 500 && ![408, 409, 429].includes(e.status);
