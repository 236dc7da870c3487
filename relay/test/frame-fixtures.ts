// Valid frames of every kind, for relay tests. Field values are placeholders:
// the relay never decrypts, it only checks shapes.
export type Profile = 'noise-ik' | 'noise-ikpsk2';

export const e2ee = (sessionId: string, extra: Record<string, unknown> = {}, profile: Profile = 'noise-ik') => ({
  type: 'e2ee',
  version: 2,
  profile,
  sessionId,
  epoch: 1,
  seq: 1,
  iv: 'aXY',
  tag: 'dGFn',
  ciphertext: 'Y2lwaGVy',
  ...extra,
});

export const kexInit = (requestId: string, profile: Profile = 'noise-ik') => ({
  type: 'relay_key_exchange_init',
  version: 3,
  profile,
  requestId,
  clientEphemeralPublicKey: 'ZXBo',
  encryptedClientStatic: 'c3RhdGlj',
  ...(profile === 'noise-ikpsk2' ? { pairingPeerId: 'peer-1' } : {}),
});

export const kexResponse = (requestId: string, sessionId: string, profile: Profile = 'noise-ik') => ({
  type: 'relay_key_exchange_response',
  version: 3,
  profile,
  requestId,
  daemonPublicKey: 'ZGFlbW9u',
  daemonEphemeralPublicKey: 'ZXBo',
  encryptedMetadata: 'bWV0YQ',
  sessionId,
  proof: 'cHJvb2Y',
  epoch: 1,
});

export const keyUpdate = (sessionId: string) => ({ type: 'relay_key_update_required', sessionId, nextEpoch: 2, reason: 'message_threshold' });

export const pairingOffer = (requestId: string) => ({ type: 'relay_pairing_offer_request', requestId, clientChannelPublicKey: 'Y2hhbg' });

export const pairingOfferResponse = (requestId: string) => ({
  type: 'relay_pairing_offer_response',
  requestId,
  ok: true,
  daemonChannelPublicKey: 'ZGNo',
  encIv: 'aXY',
  encTag: 'dGFn',
  encCiphertext: 'Y3Q',
});

export const subscribe = (channel: string, afterSequence?: number) => ({
  type: 'viewport.session_events.subscribe/v1',
  channel,
  ...(afterSequence !== undefined ? { afterSequence } : {}),
});

export const unsubscribe = (channel: string) => ({ type: 'viewport.session_events.unsubscribe/v1', channel });

export const presence = (channel: string, userId: string, action = 'joined') => ({
  type: 'viewport.session_viewer_presence/v1',
  channel,
  action,
  userId,
});

export const sessionEvent = (channel: string, seq = 1) => ({
  schema: 'viewport.session_event_relay_frame/v1',
  channel,
  event: { kind: 'message', seq },
});

export const workerRequest = (requestId: string, path: string, method = 'GET') => ({
  type: 'viewport.worker_transport.request/v1',
  requestId,
  method,
  path,
});
