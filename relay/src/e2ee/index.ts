// Public surface of the e2ee toolkit: the Noise v3 handshake, the legacy v2
// key exchange, e2ee v2 envelopes, replay protection and key rotation.
export * from './base64url.js';
export { constantTimeEqual, decodeUtf8, utf8 } from './bytes.js';
export * from './client-peer.js';
export * from './daemon-peer.js';
export * from './echo-responder.js';
export * from './envelope.js';
export * from './envelope-size.js';
export * from './errors.js';
export * from './frames.js';
export * from './handshake-v3.js';
export * from './ids.js';
export * from './kex-v2.js';
export * from './keys.js';
export * from './profiles.js';
export * from './random.js';
export * from './relay-endpoint.js';
export * from './replay-window.js';
export * from './rotation.js';
export * from './session.js';
export * from './session-key.js';
export { SymmetricState, handshakeIv } from './symmetric-state.js';
