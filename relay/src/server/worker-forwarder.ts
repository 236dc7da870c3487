// Adapts the worker transport (relay/src/worker) to the hub's WorkerForwarder.
import type { Config } from '../config.js';
import { workerForwardFailed } from '../frames/index.js';
import type { WorkerForwarder } from '../session/hub.js';

/**
 * createWorkerForwarder builds the forwarder main wires into the relay.
 * TODO(relay-core): switch to worker/forwardWorkerRequest once it lands (#3).
 */
export function createWorkerForwarder(_config: Config): WorkerForwarder {
  return async (request) => ({ ok: false, frame: workerForwardFailed(request.requestId, 'not_configured') });
}
