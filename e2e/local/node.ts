// The runner's Node: registered Ready with room for many pods, kept alive
// with a Lease in kube-node-lease (what the node lifecycle controller reads)
// so pods are never tainted away for a missed heartbeat.
import { CoordinationV1Api, CoreV1Api, PatchStrategy, V1MicroTime, setHeaderOptions, type KubeConfig, type V1Node } from '@kubernetes/client-node';

/** NODE_HEARTBEAT_MS is how often the Lease and Ready condition are renewed (the kubelet's default is 10 s). */
export const NODE_HEARTBEAT_MS = 10_000;

/** runnerNode is the Node object the runner registers. */
export function runnerNode(name: string): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'topology.kubernetes.io/zone': 'local',
      },
    },
    spec: {},
  };
}

function readyStatus(now: Date): V1Node['status'] {
  const capacity = { cpu: '64', memory: '256Gi', pods: '250', 'ephemeral-storage': '100Gi' };
  return {
    capacity,
    allocatable: capacity,
    addresses: [
      { type: 'InternalIP', address: '127.0.0.1' },
      { type: 'Hostname', address: 'localhost' },
    ],
    conditions: [
      { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'local pod runner is ready', lastHeartbeatTime: now, lastTransitionTime: now },
    ],
    nodeInfo: {
      architecture: 'amd64',
      bootID: '',
      containerRuntimeVersion: 'local-process://1',
      kernelVersion: '',
      kubeProxyVersion: '',
      kubeletVersion: 'v1.34.5',
      machineID: '',
      operatingSystem: 'linux',
      osImage: 'local pod runner',
      systemUUID: '',
    },
  };
}

/** NodeHeartbeat keeps one registered Node alive until stopped. */
export interface NodeHeartbeat {
  stop(): Promise<void>;
}

/** registerNode creates (or takes over) the Node, marks it Ready and starts renewing its Lease. */
export async function registerNode(kc: KubeConfig, name: string, onError: (message: string) => void): Promise<NodeHeartbeat> {
  const core = kc.makeApiClient(CoreV1Api);
  const coordination = kc.makeApiClient(CoordinationV1Api);
  try {
    await core.readNode({ name });
  } catch {
    await core.createNode({ body: runnerNode(name) });
  }
  const beat = async (): Promise<void> => {
    // A merge patch: the node lifecycle controller writes the same object, so a read-modify-replace would race it.
    await core.patchNodeStatus({ name, body: { status: readyStatus(new Date()) } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    const renewTime = new V1MicroTime();
    try {
      const lease = await coordination.readNamespacedLease({ name, namespace: 'kube-node-lease' });
      lease.spec = { ...lease.spec, holderIdentity: name, leaseDurationSeconds: 40, renewTime };
      await coordination.replaceNamespacedLease({ name, namespace: 'kube-node-lease', body: lease });
    } catch {
      await coordination.createNamespacedLease({
        namespace: 'kube-node-lease',
        body: { metadata: { name }, spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime } },
      });
    }
  };
  await beat();
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = beat().catch((error: unknown) => onError(`node heartbeat: ${error instanceof Error ? error.message : String(error)}`));
  }, NODE_HEARTBEAT_MS);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
