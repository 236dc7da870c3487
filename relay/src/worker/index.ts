// Worker transport (docs/protocol.md#worker-transport): path authorisation (pure), header filtering
// (pure) and forwarding to the platform (I/O).
export { authorizeWorkerPath, decodeWorkerPath, WORKER_PATH_MAX_LENGTH } from './path.js';
export type { WorkerPathDecision, WorkerPathDenyReason } from './path.js';
export { pickRequestHeaders, filterResponseHeaders, WORKER_REQUEST_HEADERS, WORKER_RESPONSE_HEADERS_DROPPED } from './headers.js';
export { forwardWorker, forwardWorkerRequest } from './forward.js';
export type { WorkerForwardFailure, WorkerForwardOptions, WorkerForwardOutcome, WorkerTlsOptions } from './forward.js';
export { TunnelBudget, TUNNEL_REFUSALS, type TunnelLimits, type TunnelRefusal } from './tunnel-budget.js';
