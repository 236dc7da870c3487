// The operator's version, read once from its package.json.
import { readFileSync } from 'node:fs';

/** VERSION is operator/package.json "version". */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
