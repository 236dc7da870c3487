// The Node flags the relay's image starts it with. The harness runs every
// server with them (the relay because that is how it ships, the bare
// forwarder so the two are compared on the same runtime), and reads them from
// Dockerfile.relay so there is one place that says what they are.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const RELAY_DOCKERFILE = fileURLToPath(new URL('../../Dockerfile.relay', import.meta.url));

/** entryPointNodeFlags returns the flags between `node` and the script in a Dockerfile's exec-form ENTRYPOINT. */
export function entryPointNodeFlags(dockerfile: string): string[] {
  const lines = dockerfile.split('\n').filter((line) => /^\s*ENTRYPOINT\s/i.test(line));
  if (lines.length !== 1) throw new Error(`expected one ENTRYPOINT line, found ${lines.length}`);
  const form: unknown = JSON.parse(lines[0]!.replace(/^\s*ENTRYPOINT\s+/i, ''));
  if (!Array.isArray(form) || form[0] !== 'node' || !form.every((part) => typeof part === 'string')) {
    throw new Error(`ENTRYPOINT is not an exec form starting with node: ${lines[0]!.trim()}`);
  }
  const script = form.findIndex((part: string, i) => i > 0 && !part.startsWith('-'));
  if (script < 0) throw new Error(`ENTRYPOINT names no script: ${lines[0]!.trim()}`);
  return form.slice(1, script) as string[];
}

let imageFlags: readonly string[] | undefined;

/**
 * relayImageNodeFlags reads the relay image's Node flags from Dockerfile.relay,
 * once per run: every server and the table's header use the same reading.
 */
export function relayImageNodeFlags(): readonly string[] {
  imageFlags ??= entryPointNodeFlags(readFileSync(RELAY_DOCKERFILE, 'utf8'));
  return imageFlags;
}
