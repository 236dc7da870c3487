import type { Backplane, BackplaneDeps, BackplaneOptions } from './backplane.js';
import { createRedisBackplane } from './redis/index.js';
import { createServerBackplane } from './server.js';
import { createSingleBackplane } from './single.js';

export type * from './backplane.js';
export { signBusFrame, computeBusSignature, busSigningString } from './bus-signing.js';

/**
 * createBackplane builds the adapter named by options.mode. The options are
 * checked once, where they are built (backplane/options.ts); main
 * refuses to start on any problem before it gets here.
 */
export function createBackplane(options: BackplaneOptions, deps: BackplaneDeps): Backplane {
  switch (options.mode) {
    case 'single':
      return createSingleBackplane();
    case 'redis':
      return createRedisBackplane(options, deps);
    case 'server':
      return createServerBackplane(options, deps);
  }
}
