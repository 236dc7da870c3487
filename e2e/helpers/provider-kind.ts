// The kind provider: pods are reached through `kubectl port-forward`, and pods
// reach the suite's fake platform through the Docker bridge: it listens on that
// gateway address only (E2E_PLATFORM_HOST, set by e2e/kind/run.sh).
import type { KubeConfig } from '@kubernetes/client-node';
import { spawn, type ChildProcess } from 'node:child_process';
import type { E2eContext } from './context.js';
import type { Provider } from './provider.js';
import type { Upstream } from './tcp-router.js';

function portForward(kubectl: string, kubeconfig: string, namespace: string, pod: string, port: number): Promise<{ child: ChildProcess; upstream: Upstream }> {
  return new Promise((resolve, reject) => {
    const child = spawn(kubectl, ['--kubeconfig', kubeconfig, 'port-forward', '-n', namespace, `pod/${pod}`, `:${String(port)}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`kubectl port-forward ${namespace}/${pod}: no local port after 30 s: ${output}`));
    }, 30_000);
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString('utf8');
      const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(output);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve({ child, upstream: { host: '127.0.0.1', port: Number(m[1]) } });
      }
    });
    child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kubectl port-forward ${namespace}/${pod} exited with ${String(code)}: ${output}`));
    });
  });
}

/** kindProvider reaches pods with port-forwards, one per pod and port, closed with the provider. */
export function kindProvider(ctx: E2eContext, kc: KubeConfig): Provider {
  const platformHost = ctx.platformHost;
  if (platformHost === undefined) throw new Error('E2E_PROVIDER=kind needs E2E_PLATFORM_HOST (the address pods reach this machine at)');
  const forwards = new Map<string, Promise<{ child: ChildProcess; upstream: Upstream }>>();
  return {
    ctx,
    kc,
    platformHost: { listen: platformHost, url: platformHost },
    // Per-pod public hosts need DNS and an ingress the kind cluster does not have.
    perPodHosts: false,
    async reach(pod, port) {
      const namespace = pod.metadata?.namespace ?? 'default';
      const name = pod.metadata?.name ?? '';
      const key = `${namespace}/${name}:${String(port)}`;
      let forward = forwards.get(key);
      if (!forward) {
        forward = portForward(ctx.kubectl, ctx.kubeconfigPath, namespace, name, port);
        forwards.set(key, forward);
      }
      return (await forward).upstream;
    },
    terminations: () => undefined,
    async close() {
      for (const f of forwards.values()) {
        const settled = await f.catch(() => undefined);
        settled?.child.kill();
      }
      forwards.clear();
    },
  };
}
