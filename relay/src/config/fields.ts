// Field readers for the environment schema: each turns one variable's string
// into a typed value or a zod issue. Empty or blank values count as unset, and
// no issue message ever repeats the value (it may be a secret).
import { z } from 'zod';

/** present is true for a set, non-blank value. */
export const present = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';

/** intVar reads a safe integer >= min; unset gives def. */
export function intVar(def: number, min = 1) {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (!present(v)) return def;
      const n = Number(v.trim());
      if (!Number.isSafeInteger(n) || n < min) {
        ctx.addIssue({ code: 'custom', message: `must be an integer >= ${min}` });
        return z.NEVER;
      }
      return n;
    });
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off']);

/** Booleans accept 0/1/true/false/yes/no/on/off; empty counts as unset (docs/protocol.md#weak-config). */
export function boolVar() {
  return z
    .string()
    .optional()
    .transform((v, ctx): boolean | undefined => {
      if (!present(v)) return undefined;
      const w = v.trim();
      if (TRUE_WORDS.has(w)) return true;
      if (FALSE_WORDS.has(w)) return false;
      ctx.addIssue({ code: 'custom', message: 'must be one of 0 1 true false yes no on off' });
      return z.NEVER;
    });
}

/** enumVar reads one of values (optionally lower-cased first). */
export function enumVar<T extends string>(values: readonly T[], opts: { lower?: boolean } = {}) {
  return z
    .string()
    .optional()
    .transform((v, ctx): T | undefined => {
      if (!present(v)) return undefined;
      const w = opts.lower ? v.trim().toLowerCase() : v.trim();
      if ((values as readonly string[]).includes(w)) return w as T;
      ctx.addIssue({ code: 'custom', message: `must be one of ${values.join(', ')}` });
      return z.NEVER;
    });
}

/** strVar reads a trimmed string. */
export function strVar() {
  return z
    .string()
    .optional()
    .transform((v) => (present(v) ? v.trim() : undefined));
}

/** urlVar reads a URL whose scheme is one of protocols (e.g. 'https:'). */
export function urlVar(protocols: readonly string[]) {
  return z
    .string()
    .optional()
    .transform((v, ctx): string | undefined => {
      if (!present(v)) return undefined;
      try {
        const u = new URL(v.trim());
        if (!protocols.includes(u.protocol)) throw new Error('scheme');
        return v.trim();
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be a URL with scheme ${protocols.join(' or ')}` });
        return z.NEVER;
      }
    });
}

/** csvVar reads a comma-separated list, every entry passing check; unset gives []. */
export function csvVar(check?: (entry: string) => boolean, what = 'entry') {
  return z
    .string()
    .optional()
    .transform((v, ctx): string[] => {
      if (!present(v)) return [];
      const entries = v
        .split(',')
        .map((e) => e.trim())
        .filter((e) => e !== '');
      const bad = check ? entries.filter((e) => !check(e)) : [];
      if (bad.length > 0) {
        ctx.addIssue({ code: 'custom', message: `has ${bad.length} invalid ${what}(s)` });
        return z.NEVER;
      }
      return entries;
    });
}
