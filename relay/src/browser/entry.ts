// The browser bundle's entry: the client and the few pure helpers a page
// needs, exposed as the global `ViewportRelay` (see bundle.ts).
export { BrowserClient, type BrowserClientOptions, type ClientEvent, type ClientStats } from './client.js';
export { maxPlaintextBytes, envelopeFrameBytes } from '../e2ee/envelope-size.js';
export { probePayload } from '../probe/payload.js';
export { systemRandom } from '../e2ee/random.js';
