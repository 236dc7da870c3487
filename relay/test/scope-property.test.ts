// Property (issue 3): random frame sequences from many peers, across scopes
// whose ids collide when joined, never deliver a frame outside its scope and
// never break the relay. Every frame carries its sender's scope in an extra
// `origin` field, which the relay forwards verbatim.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createDevIssuer, type DevIssuer } from '../src/devissuer/issuer.js';
import { connectPeer, startTestRelay, type TestPeer, type TestRelay } from './relay-harness.js';
import { e2ee, kexInit, kexResponse, keyUpdate, pairingOffer, pairingOfferResponse, presence, sessionEvent, subscribe } from './frame-fixtures.js';

const SCOPES = [
  ['a:b', 'c'],
  ['a', 'b:c'],
  ['a', 'c'],
  ['d', 'b'],
] as const;
const IDS = ['r1', 'r2', 's1', 's2'];
const CHANNEL = 'agent-session:x';

let issuer: DevIssuer;
let relay: TestRelay;
beforeAll(async () => {
  issuer = await createDevIssuer();
  relay = await startTestRelay(
    { RELAY_ADMISSION_MODE: 'jwks', RELAY_JWKS_URL: 'http://127.0.0.1:9/unused', RELAY_UPGRADE_RATE_PER_MINUTE: '100000', RELAY_MAX_FRAME_BYTES: '2048' },
    { admission: { keySource: issuer.keySource } },
  );
});
afterAll(async () => relay.close());

interface Member {
  readonly peer: TestPeer;
  readonly scope: number;
  readonly role: 'workspace-daemon' | 'client';
}

const clientScopes = ['runtime', 'pairing', 'session-events'] as const;

async function members(): Promise<Member[]> {
  const out: Member[] = [];
  for (const [i, [workspaceId, runtimeTargetId]] of SCOPES.entries()) {
    const target = { runtimeTargetId };
    const mint = (claims: Record<string, unknown>) => issuer.mint({ workspaceId, runtimeTargetId, ...claims });
    out.push({ scope: i, role: 'workspace-daemon', peer: await connectPeer(relay.wsUrl, { role: 'workspace-daemon', workspaceId, ...target, token: await mint({ role: 'workspace-daemon' }) }) });
    for (const scope of clientScopes) {
      const token = await mint({ role: 'client', scope, clientId: `c-${i}-${scope}`, sessionChannels: [CHANNEL], userId: `u-${i}` });
      out.push({ scope: i, role: 'client', peer: await connectPeer(relay.wsUrl, { role: 'client', workspaceId, ...target, token }) });
    }
  }
  return out;
}

const frameArb = fc.oneof(
  fc.constantFrom(...IDS).map((id) => kexInit(id)),
  fc.constantFrom(...IDS).map((id) => e2ee(id)),
  fc.tuple(fc.constantFrom(...IDS), fc.constantFrom(...IDS)).map(([r, s]) => kexResponse(r, s)),
  fc.constantFrom(...IDS).map((id) => keyUpdate(id)),
  fc.constantFrom(...IDS).map((id) => pairingOffer(id)),
  fc.constantFrom(...IDS).map((id) => pairingOfferResponse(id)),
  fc.constant(subscribe(CHANNEL)),
  fc.integer({ min: 0, max: 3 }).map((i) => presence(CHANNEL, `u-${i}`)),
  fc.constant(sessionEvent(CHANNEL)),
  fc.string({ maxLength: 40 }),
  fc.constant('x'.repeat(3000)),
);

/** settle waits until the relay has handled everything each open peer sent (ping/pong rides the same stream). */
async function settle(all: Member[]): Promise<void> {
  for (let pass = 0; pass < 2; pass++) {
    await Promise.all(
      all.map(
        ({ peer }) =>
          new Promise<void>((resolve) => {
            if (peer.ws.readyState !== WebSocket.OPEN) return resolve();
            peer.ws.once('pong', () => resolve());
            peer.ws.once('close', () => resolve());
            peer.ws.ping();
          }),
      ),
    );
  }
}

describe('scope isolation property', () => {
  it('no frame ever reaches a peer of another scope, and the relay keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(), frameArb), { minLength: 1, maxLength: 40 }), async (steps) => {
        const all = await members();
        try {
          for (const [who, frame] of steps) {
            const m = all[who % all.length] as Member;
            if (m.peer.ws.readyState !== WebSocket.OPEN) continue;
            m.peer.send(typeof frame === 'string' ? frame : { ...frame, origin: m.scope });
          }
          await settle(all);
          for (const m of all) {
            for (const text of m.peer.messages) {
              const parsed = JSON.parse(text) as { origin?: number; workspaceId?: string };
              if (parsed.origin !== undefined) expect(parsed.origin).toBe(m.scope);
              if (parsed.workspaceId !== undefined) expect(parsed.workspaceId).toBe(SCOPES[m.scope]?.[0]);
            }
          }
        } finally {
          for (const m of all) m.peer.ws.terminate();
        }
      }),
      { numRuns: 25 },
    );
    const res = await fetch(`${relay.httpUrl}/health`);
    expect(res.status).toBe(200);
  });
});
