// Rate limiter primitives (spec §5.7). Pure: time comes from an injected clock.
export { FixedWindowLimiter, type FixedWindowOptions } from './fixed-window.js';
export { TokenBucketLimiter, type TokenBucketOptions } from './token-bucket.js';
