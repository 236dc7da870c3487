// ViewportRelay helpers for the suite: namespace setup, apply and patch,
// waiting on status conditions, finding relay pods and calling their admin API.
import { CoreV1Api, CustomObjectsApi, PatchStrategy, Watch, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { waitFor } from '../controlplane/wait.js';
import type { E2ePlatform } from './platform.js';
import type { Provider } from './provider.js';

const group = 'relay.getviewport.com';
const version = 'v1alpha1';
const plural = 'viewportrelays';

/** RelayCondition is one status condition of a ViewportRelay. */
export interface RelayCondition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}

/** RelayObject is the part of a ViewportRelay the suite reads. */
export interface RelayObject {
  metadata: { name: string; namespace: string; generation?: number; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
  status?: {
    observedGeneration?: number;
    replicas?: number;
    readyReplicas?: number;
    paused?: boolean;
    backplane?: { mode: string; ready: boolean; message?: string };
    conditions?: RelayCondition[];
  };
}

/** condition returns one condition of a relay, if present. */
export function condition(relay: RelayObject | undefined, type: string): RelayCondition | undefined {
  return relay?.status?.conditions?.find((c) => c.type === type);
}

/** isReadyAtGeneration: Ready=True and the status describes the current spec. */
export function isReadyAtGeneration(relay: RelayObject | undefined): boolean {
  return (
    relay !== undefined &&
    relay.status?.observedGeneration === relay.metadata.generation &&
    condition(relay, 'Ready')?.status === 'True'
  );
}

/** RelayApi wraps the calls one suite file makes in its namespace. */
export class RelayApi {
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;

  constructor(
    readonly kc: KubeConfig,
    readonly namespace: string,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
  }

  /**
   * createNamespace makes the namespace and the Secret holding the platform's internal key.
   * The namespace enforces the restricted Pod Security Standard, as users' namespaces may.
   */
  async createNamespace(platform: E2ePlatform): Promise<void> {
    const labels = { 'pod-security.kubernetes.io/enforce': 'restricted' };
    await this.core.createNamespace({ body: { metadata: { name: this.namespace, labels } } });
    await this.core.createNamespacedSecret({
      namespace: this.namespace,
      body: { metadata: { name: 'platform' }, stringData: { 'internal-key': platform.internalKey } },
    });
  }

  /** deleteNamespace removes the namespace without waiting (pods drain in the background). */
  async deleteNamespace(): Promise<void> {
    await this.core.deleteNamespace({ name: this.namespace }).catch(() => undefined);
  }

  async create(body: Record<string, unknown>): Promise<void> {
    await this.custom.createNamespacedCustomObject({ group, version, plural, namespace: this.namespace, body });
  }

  /** patch applies a JSON merge patch to a ViewportRelay. */
  async patch(name: string, body: Record<string, unknown>): Promise<void> {
    await this.custom.patchNamespacedCustomObject(
      { group, version, plural, namespace: this.namespace, name, body },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /** patchAnnotations sets (string) or removes (null) annotations with a merge patch. */
  async patchAnnotations(name: string, annotations: Record<string, string | null>): Promise<void> {
    await this.patch(name, { metadata: { annotations } });
  }

  async delete(name: string): Promise<void> {
    await this.custom.deleteNamespacedCustomObject({ group, version, plural, namespace: this.namespace, name });
  }

  async read(name: string): Promise<RelayObject | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({ group, version, plural, namespace: this.namespace, name })) as RelayObject;
    } catch (error) {
      if ((error as { code?: number }).code === 404) return undefined;
      throw error;
    }
  }

  /** waitForRelay polls the relay until check accepts it; the error names `what` and the last status seen. */
  async waitForRelay(name: string, what: string, check: (relay: RelayObject) => boolean, timeoutMs = 120_000): Promise<RelayObject> {
    let last: RelayObject | undefined;
    try {
      return await waitFor(
        what,
        async () => {
          last = await this.read(name);
          return last !== undefined && check(last) ? last : undefined;
        },
        { timeoutMs, intervalMs: 250 },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; last status: ${JSON.stringify(last?.status)}`, { cause: error });
    }
  }

  /** relayPods lists the relay's pods (component relay or redis), optionally only the Ready, non-terminating ones. */
  async pods(name: string, component: 'relay' | 'redis', o: { readyOnly: boolean }): Promise<V1Pod[]> {
    const list = await this.core.listNamespacedPod({
      namespace: this.namespace,
      labelSelector: `app.kubernetes.io/instance=${name},app.kubernetes.io/component=${component}`,
    });
    return list.items
      .filter((p) => !o.readyOnly || (p.metadata?.deletionTimestamp === undefined && isPodReady(p)))
      .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  }

  /** waitForReadyPods waits until exactly `count` relay pods are Ready and none other exists. */
  async waitForReadyPods(name: string, count: number, timeoutMs = 120_000): Promise<V1Pod[]> {
    return waitFor(
      `${String(count)} ready relay pods and no others`,
      async () => {
        const all = await this.pods(name, 'relay', { readyOnly: false });
        const ready = all.filter((p) => p.metadata?.deletionTimestamp === undefined && isPodReady(p));
        return ready.length === count && all.length === count ? ready : undefined;
      },
      { timeoutMs, intervalMs: 250 },
    );
  }

  /** secretValue reads one decoded Secret key. */
  async secretValue(name: string, key: string): Promise<string> {
    const secret = await this.core.readNamespacedSecret({ name, namespace: this.namespace });
    const value = secret.data?.[key];
    if (value === undefined) throw new Error(`secret ${name} has no key ${key}`);
    return Buffer.from(value, 'base64').toString('utf8');
  }
}

/** isPodReady reads the pod's Ready condition. */
export function isPodReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** RELAY_PORT is the relay container's port (WebSocket and admin). */
export const RELAY_PORT = 7781;

/** relayWsUrl is the WebSocket URL of one relay pod as reachable from this machine. */
export async function relayWsUrl(provider: Provider, pod: V1Pod): Promise<string> {
  const up = await provider.reach(pod, RELAY_PORT);
  return `ws://${up.host}:${String(up.port)}/ws`;
}

/** adminGet calls a relay pod's admin endpoint, with the bearer token when given. */
export async function adminGet(provider: Provider, pod: V1Pod, path: string, token?: string): Promise<{ status: number; body: string }> {
  const up = await provider.reach(pod, RELAY_PORT);
  const res = await fetch(`http://${up.host}:${String(up.port)}${path}`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.text() };
}

/** metricSum adds up every sample of one metric (all label sets) in a Prometheus text page. */
export function metricSum(page: string, name: string): number {
  let sum = 0;
  for (const line of page.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m?.[1] === name) sum += Number(m[3]);
  }
  return sum;
}

/** ConditionRecorder keeps every condition a watch saw on one ViewportRelay, so short-lived states are not missed between polls. */
export interface ConditionRecorder {
  readonly seen: readonly RelayCondition[];
  stop(): void;
}

/** recordConditions watches one relay and records each condition of each version it sees. */
export async function recordConditions(kc: KubeConfig, namespace: string, name: string): Promise<ConditionRecorder> {
  const seen: RelayCondition[] = [];
  const path = `/apis/${group}/${version}/namespaces/${namespace}/${plural}`;
  let stopped = false;
  let controller: AbortController | undefined;
  const start = async (): Promise<void> => {
    controller = await new Watch(kc).watch(
      path,
      { fieldSelector: `metadata.name=${name}` },
      (_type: string, obj: RelayObject) => {
        seen.push(...(obj.status?.conditions ?? []));
      },
      () => {
        // The API server ends watches now and then; keep recording until stopped.
        if (!stopped) void start();
      },
    );
  };
  await start();
  return {
    seen,
    stop() {
      stopped = true;
      controller?.abort();
    },
  };
}
