// The informative envelope example of docs/e2ee-protocol.md#envelope-example, with its fixed IV.
import { describe, expect, it } from 'vitest';
import { envelopeAad, openEnvelope, sealEnvelope } from '../../src/e2ee/index.js';
import { b64, scriptedRandom } from './vectors.js';

describe('e2ee v2 envelope example', () => {
  it('seals and opens the documented example byte for byte', () => {
    const key = b64('CtfvOunKO94iXJLzudF7smlvEG5lkoxvMh3fvFRVehw');
    const header = { profile: 'noise-ik' as const, sessionId: 'rs_v3_ik_001', epoch: 1, seq: 1 };
    expect(new TextDecoder().decode(envelopeAad(header))).toBe('viewport-relay-envelope-v2|noise-ik|rs_v3_ik_001|1|1');
    const sealed = sealEnvelope(key, header, '{"type":"ping"}', scriptedRandom(b64('AAECAwQFBgcICQoL')));
    if (!sealed.ok) throw new Error(sealed.error.message);
    expect(JSON.stringify(sealed.frame)).toBe(
      '{"type":"e2ee","version":2,"profile":"noise-ik","sessionId":"rs_v3_ik_001","epoch":1,"seq":1,"iv":"AAECAwQFBgcICQoL","tag":"lU25EWz-JA6m0MqW1dD0Iw","ciphertext":"nym3wfp9Q2lwrM4nfe6S"}',
    );
    const opened = openEnvelope(key, sealed.frame);
    expect(opened.ok && opened.plaintext).toBe('{"type":"ping"}');
    console.log('vector envelope-v2-example: ok');
  });
});
