// KubeAdapter on @kubernetes/client-node 2.x: the ONLY module that imports it.
// Requests go out as raw JSON through client-node's auth and HTTP stack, so
// unknown fields survive (the typed models drop them) and server-side apply
// uses application/apply-patch+yaml (JSON is valid YAML) with our manager.
import {
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  KubeConfig,
  ListWatch,
  RequestContext,
  Watch,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { FIELD_MANAGER } from '../api/v1alpha1/group.js';
import { apiGroupOf, findKind } from '../kinds.js';
import type { KubeObject, ObjectRef } from '../object.js';
import type { KubeAdapter, KubeError, KubeResult, ListOptions, WatchCallbacks, WatchHandle } from './adapter.js';

/** loadKubeConfig reads a kubeconfig file, else in-cluster or default config. */
export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

/** InlineCluster describes an API server without a kubeconfig file (tests, e2e). */
export interface InlineCluster {
  server: string;
  token?: string;
  caData?: string;
  certData?: string;
  keyData?: string;
  skipTLSVerify?: boolean;
}

/** inlineKubeConfig builds a KubeConfig for one API server. */
export function inlineKubeConfig(c: InlineCluster): KubeConfig {
  const defined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [defined({ name: 'inline', server: c.server, caData: c.caData, skipTLSVerify: c.skipTLSVerify })],
    users: [defined({ name: 'inline', token: c.token, certData: c.certData, keyData: c.keyData })],
    contexts: [{ name: 'inline', cluster: 'inline', user: 'inline' }],
    currentContext: 'inline',
  });
  return kc;
}

/** resourcePath builds the REST path of a kind, optionally namespaced and named. */
export function resourcePath(apiVersion: string, kind: string, namespace?: string, name?: string): string {
  const info = findKind(apiVersion, kind);
  if (!info) throw new Error(`resourcePath: unknown kind ${apiVersion} ${kind}`);
  const base = apiGroupOf(apiVersion) === '' ? `/api/${apiVersion}` : `/apis/${apiVersion}`;
  const ns = info.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${info.plural}${name !== undefined ? `/${encodeURIComponent(name)}` : ''}`;
}

function errorFrom(status: number | undefined, body: string, fallback: string): KubeError {
  try {
    const parsed = JSON.parse(body) as { reason?: string; message?: string };
    return { status, reason: parsed.reason ?? fallback, message: parsed.message ?? fallback };
  } catch {
    return { status, reason: fallback, message: body.slice(0, 300) || fallback };
  }
}

/** ListBody is a list response as the operator reads it. */
interface ListBody {
  metadata?: { resourceVersion?: string };
  items: KubeObject[];
}

/** ClientKube implements KubeAdapter against a real API server. */
export class ClientKube implements KubeAdapter {
  private readonly http = new IsomorphicFetchHttpLibrary();
  private readonly server: string;

  constructor(private readonly kc: KubeConfig) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/$/, '');
  }

  private async request(
    method: (typeof HttpMethod)[keyof typeof HttpMethod],
    path: string,
    query: Record<string, string>,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<KubeResult<unknown>> {
    const ctx = new RequestContext(`${this.server}${path}`, method);
    for (const [k, v] of Object.entries(query)) ctx.setQueryParam(k, v);
    ctx.setHeaderParam('Accept', 'application/json');
    if (body !== undefined) {
      ctx.setHeaderParam('Content-Type', contentType);
      ctx.setBody(JSON.stringify(body));
    }
    try {
      await this.kc.applySecurityAuthentication(ctx);
      const res = await this.http.send(ctx).toPromise();
      const text = await res.body.text();
      if (res.httpStatusCode >= 200 && res.httpStatusCode < 300) return { ok: true, value: text === '' ? undefined : JSON.parse(text) };
      return { ok: false, error: errorFrom(res.httpStatusCode, text, `HTTP ${res.httpStatusCode}`) };
    } catch (e) {
      return { ok: false, error: { status: undefined, reason: 'NetworkError', message: e instanceof Error ? e.message : String(e) } };
    }
  }

  async get(ref: ObjectRef): Promise<KubeResult<KubeObject | undefined>> {
    const res = await this.request(HttpMethod.GET, resourcePath(ref.apiVersion, ref.kind, ref.namespace, ref.name), {});
    if (!res.ok) return res.error.status === 404 && res.error.reason === 'NotFound' ? { ok: true, value: undefined } : res;
    return { ok: true, value: res.value as KubeObject };
  }

  async list(apiVersion: string, kind: string, opts: ListOptions): Promise<KubeResult<KubeObject[]>> {
    const res = await this.listRaw(apiVersion, kind, opts);
    return res.ok ? { ok: true, value: res.value.items } : res;
  }

  private async listRaw(apiVersion: string, kind: string, opts: ListOptions): Promise<KubeResult<ListBody>> {
    const query: Record<string, string> = {};
    if (opts.labelSelector) query.labelSelector = opts.labelSelector;
    if (opts.fieldSelector) query.fieldSelector = opts.fieldSelector;
    const res = await this.request(HttpMethod.GET, resourcePath(apiVersion, kind, opts.namespace), query);
    if (!res.ok) return res;
    const list = res.value as ListBody;
    // List items carry no apiVersion/kind; restore them for callers.
    for (const item of list.items) {
      item.apiVersion = apiVersion;
      item.kind = kind;
    }
    return { ok: true, value: list };
  }

  async apply(obj: KubeObject, fieldManager = FIELD_MANAGER): Promise<KubeResult<KubeObject>> {
    const path = resourcePath(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name);
    const res = await this.request(HttpMethod.PATCH, path, { fieldManager, force: 'true' }, obj, 'application/apply-patch+yaml');
    return res.ok ? { ok: true, value: res.value as KubeObject } : res;
  }

  async applyStatus(obj: KubeObject): Promise<KubeResult<KubeObject>> {
    const path = `${resourcePath(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name)}/status`;
    const res = await this.request(HttpMethod.PATCH, path, { fieldManager: FIELD_MANAGER, force: 'true' }, obj, 'application/apply-patch+yaml');
    return res.ok ? { ok: true, value: res.value as KubeObject } : res;
  }

  async create(obj: KubeObject): Promise<KubeResult<KubeObject>> {
    const res = await this.request(HttpMethod.POST, resourcePath(obj.apiVersion, obj.kind, obj.metadata.namespace), { fieldManager: FIELD_MANAGER }, obj);
    return res.ok ? { ok: true, value: res.value as KubeObject } : res;
  }

  async replace(obj: KubeObject): Promise<KubeResult<KubeObject>> {
    const path = resourcePath(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name);
    const res = await this.request(HttpMethod.PUT, path, { fieldManager: FIELD_MANAGER }, obj);
    return res.ok ? { ok: true, value: res.value as KubeObject } : res;
  }

  async serverVersion(): Promise<KubeResult<{ major: string; minor: string; gitVersion: string }>> {
    const res = await this.request(HttpMethod.GET, '/version', {});
    return res.ok ? { ok: true, value: res.value as { major: string; minor: string; gitVersion: string } } : res;
  }

  async jsonPatch(ref: ObjectRef, ops: readonly { op: string; path: string; value?: unknown }[]): Promise<KubeResult<KubeObject>> {
    const path = resourcePath(ref.apiVersion, ref.kind, ref.namespace, ref.name);
    const res = await this.request(HttpMethod.PATCH, path, { fieldManager: FIELD_MANAGER }, ops, 'application/json-patch+json');
    return res.ok ? { ok: true, value: res.value as KubeObject } : res;
  }

  async delete(ref: ObjectRef, uid?: string): Promise<KubeResult<void>> {
    const body = { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background', ...(uid ? { preconditions: { uid } } : {}) };
    const res = await this.request(HttpMethod.DELETE, resourcePath(ref.apiVersion, ref.kind, ref.namespace, ref.name), {}, body);
    return res.ok ? { ok: true, value: undefined } : res;
  }

  watch(apiVersion: string, kind: string, opts: ListOptions, cb: WatchCallbacks): WatchHandle {
    const path = resourcePath(apiVersion, kind, opts.namespace);
    const listFn = async (): Promise<KubernetesListObject<KubernetesObject>> => {
      const res = await this.listRaw(apiVersion, kind, opts);
      if (!res.ok) throw Object.assign(new Error(res.error.message), { statusCode: res.error.status, reason: res.error.reason });
      return res.value as unknown as KubernetesListObject<KubernetesObject>;
    };
    const informer = new ListWatch<KubernetesObject>(path, new Watch(this.kc), listFn, false, opts.labelSelector, opts.fieldSelector);
    const withKind = (o: KubernetesObject): KubeObject => ({ ...(o as unknown as KubeObject), apiVersion, kind });
    informer.on('add', (o) => cb.onEvent({ type: 'added', object: withKind(o) }));
    informer.on('update', (o) => cb.onEvent({ type: 'modified', object: withKind(o) }));
    informer.on('delete', (o) => cb.onEvent({ type: 'deleted', object: withKind(o) }));
    // client-node stops the informer on any error but 410; the caller restarts it.
    let failed = false;
    informer.on('error', (err?: unknown) => {
      failed = true;
      const e = err as { statusCode?: number; code?: number; reason?: string; message?: string } | undefined;
      cb.onError({ status: e?.statusCode ?? e?.code, reason: e?.reason ?? 'WatchError', message: e?.message ?? String(err) });
    });
    informer.start().then(
      () => {
        if (!failed) cb.onSynced?.();
      },
      (err: unknown) => cb.onError({ status: undefined, reason: 'WatchStartFailed', message: err instanceof Error ? err.message : String(err) }),
    );
    return {
      stop: () => {
        informer.stop().catch((err: unknown) => cb.onError({ status: undefined, reason: 'WatchStopFailed', message: String(err) }));
      },
    };
  }
}
