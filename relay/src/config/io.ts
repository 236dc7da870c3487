// The little I/O parseConfig needs (file existence, randomness, the home
// directory), injected so the config rules stay pure in tests.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { randomBytes } from 'node:crypto';

/** ConfigIo is the little I/O parseConfig needs, injected so it stays pure in tests. */
export interface ConfigIo {
  readonly fileExists: (path: string) => boolean;
  readonly randomHex: (bytes: number) => string;
  readonly homeDir: string;
}

/** defaultConfigIo reads the real file system and crypto randomness. */
export const defaultConfigIo: ConfigIo = {
  fileExists: (p) => existsSync(p),
  randomHex: (n) => randomBytes(n).toString('hex'),
  homeDir: homedir(),
};
