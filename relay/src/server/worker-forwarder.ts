// Adapts the worker transport (relay/src/worker) to the hub's WorkerForwarder,
// with the platform TLS settings re-read per call (certificate rotation).
import type { PlatformConfig } from '../config/index.js';
import { createPlatformTls } from '../platform/index.js';
import { forwardWorker } from '../worker/index.js';
import type { WorkerForwarder } from '../session/hub.js';

/** createWorkerForwarder sends worker requests to SERVER_URL with a deadline and a response cap (docs/protocol.md#weak-worker-forward). */
export function createWorkerForwarder(config: { readonly serverUrl: string; readonly platform: PlatformConfig }): WorkerForwarder {
  const tls = createPlatformTls(config.platform);
  let host = '';
  try {
    host = new URL(config.serverUrl).hostname;
  } catch {
    host = '';
  }
  return async (request) => {
    const outcome = await forwardWorker(request, {
      serverUrl: config.serverUrl,
      timeoutMs: config.platform.workerTimeoutMs,
      maxResponseBytes: config.platform.workerMaxResponseBytes,
      tls: tls(host),
    });
    return { ok: outcome.ok, frame: outcome.frame };
  };
}
