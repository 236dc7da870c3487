import type { Backplane, BackplaneDeps, BackplaneOptions } from './backplane.js';
import { createRedisBackplane } from './redis/index.js';
import { createServerBackplane } from './server.js';
import { createSingleBackplane } from './single.js';
import { validateBackplaneOptions } from './validate.js';

export type * from './backplane.js';
export { validateBackplaneOptions, type BackplaneOptionError, type BackplaneOptionCode } from './validate.js';
export { signBusFrame, computeBusSignature, busSigningString } from './bus-signing.js';

/**
 * createBackplane builds the adapter named by options.mode. Main should call
 * validateBackplaneOptions first and refuse to start on errors; options that
 * still fail here are a programming error and throw.
 */
export function createBackplane(options: BackplaneOptions, deps: BackplaneDeps): Backplane {
  const errors = validateBackplaneOptions(options);
  if (errors.length > 0) throw new Error(`invalid backplane options: ${errors.map((e) => e.code).join(', ')}`);
  switch (options.mode) {
    case 'single':
      return createSingleBackplane();
    case 'redis':
      return createRedisBackplane(options, deps);
    case 'server':
      return createServerBackplane(options, deps);
  }
}
