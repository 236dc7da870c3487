// The worker frame path (docs/protocol.md#weak-worker-forward): a managed executor's transport request is
// rate limited with its workspace's daemon bucket, parsed, authorized against
// the paths its claims allow, and forwarded to the platform; the reply goes
// back to the worker. Apart from the daemon path because nothing here routes
// to another peer: it is a request to the platform.
import type { RelayMetrics } from '../admin/metrics.js';
import type { Config } from '../config/index.js';
import { parseWorkerFrame, workerBusy, workerPathDenied, type WorkerRequest } from '../frames/index.js';
import { authorizeWorkerPath } from '../worker/path.js';
import { TunnelBudget } from '../worker/tunnel-budget.js';
import type { SessionLimits } from './limits.js';
import type { Outcome } from './outcomes.js';
import type { Outbox } from './outbox.js';
import type { Peer } from './peer.js';

/** WorkerForwarder performs one worker transport request and yields the reply frame text. */
export type WorkerForwarder = (request: WorkerRequest, authorizedPath: string) => Promise<{ frame: string; ok: boolean }>;

/** WorkerPath forwards worker transport requests. */
export class WorkerPath {
  private readonly maxFrameBytes: number;
  private readonly tunnel: TunnelBudget<Peer>;

  constructor(
    limits: Config['limits'],
    private readonly rate: SessionLimits,
    private readonly out: Outbox,
    private readonly metrics: RelayMetrics,
    private readonly forward: WorkerForwarder,
  ) {
    this.maxFrameBytes = limits.maxFrameBytes;
    this.tunnel = new TunnelBudget(limits.workerTunnel);
  }

  /** onFrame checks one frame of a worker peer and forwards it in the background. */
  onFrame(peer: Peer, buf: Buffer): Outcome {
    if (!this.rate.daemonFrame(peer.workspaceId)) return 'worker_rate_limited';
    if (buf.length > this.maxFrameBytes) return 'frame_too_large';
    const parsed = parseWorkerFrame(buf.toString('utf8'));
    if (!parsed.ok) return `worker_invalid:${parsed.error.reason}`;
    const request = parsed.frame;
    const auth = authorizeWorkerPath(request.path, peer.workspaceId, peer.claims.managedExecutorId);
    if (!auth.ok) {
      this.out.send(peer, workerPathDenied(request.requestId));
      return auth.reason === 'PATH_INVALID' ? 'worker_path_invalid' : 'worker_path_denied';
    }
    // Over the tunnel's bounds: refused at once with 503, never queued (docs/protocol.md#worker-transport).
    const refused = this.tunnel.acquire(peer);
    if (refused !== undefined) {
      this.out.send(peer, workerBusy(request.requestId, refused));
      return `worker_busy:${refused}`;
    }
    this.metrics.frame('worker_to_platform', buf.length);
    const out = this.out;
    out.background(
      this.forward(request, auth.path)
        .then((reply) => {
          out.report(reply.ok ? 'worker_forwarded' : 'worker_forward_failed');
          out.send(peer, reply.frame);
        })
        .finally(() => this.tunnel.release(peer)),
      'worker_forward',
    );
    return 'done';
  }
}
