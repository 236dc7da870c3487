// Probe checks as the kubelet performs them: HTTP GET (2xx/3xx passes) or a
// TCP connect, against the pod IP and the probe's port (number or name).
import type { V1Container, V1Probe } from '@kubernetes/client-node';
import { connect } from 'node:net';
import type { PodState } from './pod-state.js';

/** probePort resolves a probe port given as a number or a container port name. */
export function probePort(port: number | string | undefined, container: V1Container): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** runProbeCheck performs one probe attempt; true means it passed. */
export async function runProbeCheck(probe: V1Probe, container: V1Container, podIP: string): Promise<boolean> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.httpGet) {
    const port = probePort(probe.httpGet.port as number | string, container);
    if (port === undefined) return false;
    try {
      const res = await fetch(`http://${podIP}:${String(port)}${probe.httpGet.path ?? '/'}`, {
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'manual',
      });
      await res.body?.cancel();
      return res.status >= 200 && res.status < 400;
    } catch {
      return false;
    }
  }
  if (probe.tcpSocket) {
    const port = probePort(probe.tcpSocket.port as number | string, container);
    if (port === undefined) return false;
    return new Promise((resolve) => {
      const socket = connect(port, podIP);
      const finish = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(timeoutMs, () => finish(false));
      socket.once('connect', () => finish(true));
      socket.once('error', () => finish(false));
    });
  }
  // exec and grpc probes have no local meaning; treat the container as passing.
  return true;
}

/** probePods runs every started container's readiness probe once and updates readiness like the kubelet. */
export async function probePods(pods: Iterable<PodState>, writeStatus: (state: PodState) => void): Promise<void> {
  await Promise.all(
    [...pods].flatMap((state) =>
      [...state.containers.values()].map(async (c) => {
        const probe = c.spec.readinessProbe;
        if (!probe || !c.component || state.terminating) return;
        const passed = await runProbeCheck(probe, c.spec, state.ip);
        if (passed) {
          c.probeFailures = 0;
          c.ready = c.component !== undefined;
        } else if (++c.probeFailures >= (probe.failureThreshold ?? 3) || !c.ready) {
          c.ready = false;
        }
        writeStatus(state);
      }),
    ),
  );
}
