// Generators shared by the fuzzing tests: mutated valid frames, invalid UTF-8,
// deeply nested JSON, and a case counter.
import fc from 'fast-check';
import { scaled } from './long-run.js';

/** LONG_STRING_BYTES is the size of the "huge" inputs (1 MiB). */
export const LONG = 1 << 20;

/** runs scales a property's run count: as given in the fast run, x10 in the long run. */
export function runs(fast: number): number {
  return scaled(fast, fast * 10);
}

/** caseCount tallies generated cases so a file can assert and print its total. */
export function caseCount(): { add(n?: number): void; total(): number } {
  let n = 0;
  return { add: (k = 1) => void (n += k), total: () => n };
}

/** deeplyNested builds open^depth + close^depth without recursion. */
export function deeplyNested(depth: number, open: string, close: string): string {
  return open.repeat(depth) + close.repeat(depth);
}

const KNOWN_TYPES = [
  'e2ee',
  'relay_key_exchange_init',
  'relay_key_exchange_response',
  'relay_key_update_required',
  'relay_pairing_offer_request',
  'relay_pairing_redeem_request',
  'relay_pairing_offer_response',
  'viewport.session_events.subscribe/v1',
  'viewport.session_viewer_presence/v1',
  'viewport.worker_transport.request/v1',
];

const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('', ' ', '\u0000', 0, -1, 1.5, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, null, true, [], {}, 'noise-ik', 'noise-ikpsk2', 'agent-session:', 'agent-session:x'),
  fc.constantFrom(...KNOWN_TYPES),
);

type Mutation = { kind: 'delete' | 'set' | 'truncate'; key: number; value: unknown; cut: number };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('delete', 'set', 'set', 'truncate'),
  key: fc.nat(),
  value: oddValue,
  cut: fc.nat(),
});

/** mutatedFrame takes a valid frame and changes, removes or adds fields; the text is sometimes cut short. */
export function mutatedFrame(bases: readonly object[]): fc.Arbitrary<string> {
  return fc.tuple(fc.constantFrom(...bases), fc.array(mutation, { minLength: 0, maxLength: 3 }), fc.string({ maxLength: 12 })).map(([base, muts, extraKey]) => {
    const obj: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    let truncateAt: number | undefined;
    for (const m of muts) {
      const keys = [...Object.keys(obj), extraKey];
      const key = keys[m.key % keys.length] as string;
      if (m.kind === 'delete') delete obj[key];
      else if (m.kind === 'set') obj[key] = m.value;
      else truncateAt = m.cut;
    }
    const text = JSON.stringify(obj);
    return truncateAt === undefined ? text : text.slice(0, truncateAt % (text.length + 1));
  });
}

/** invalidUtf8Bytes are byte strings that are not valid UTF-8 (lone continuation bytes, overlongs, surrogates). */
export function invalidUtf8Bytes(): fc.Arbitrary<Buffer> {
  const bad = fc.constantFrom([0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xff], [0xe2, 0x82]);
  return fc.tuple(fc.uint8Array({ maxLength: 40 }), bad, fc.uint8Array({ maxLength: 40 })).map(([a, b, c]) => Buffer.from([...a, ...b, ...c]));
}

/** invalidUtf8Text is how the relay sees invalid UTF-8: the bytes decoded with replacement characters, sometimes inside a frame. */
export function invalidUtf8Text(): fc.Arbitrary<string> {
  return fc.tuple(invalidUtf8Bytes(), fc.boolean()).map(([bytes, wrap]) => {
    const text = bytes.toString('utf8');
    return wrap ? `{"type":"e2ee","sessionId":"${text.replace(/["\\]/g, '')}"}` : text;
  });
}
