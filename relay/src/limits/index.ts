// Rate limiter primitives (docs/protocol.md#rate-limits). Pure: time comes from an injected clock.
export { FixedWindowLimiter, type FixedWindowOptions } from './fixed-window.js';
export { TokenBucketLimiter, type TokenBucketOptions } from './token-bucket.js';
export { InboundBudget, inboundRates, type InboundRates } from './inbound-budget.js';
