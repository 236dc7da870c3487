import type { Backplane, BackplaneDeps, BackplaneOptions } from './backplane.js';
import { createSingleBackplane } from './single.js';

export type * from './backplane.js';

/** createBackplane builds the adapter named by options.mode. */
export function createBackplane(options: BackplaneOptions, _deps: BackplaneDeps): Backplane {
  switch (options.mode) {
    case 'single':
      return createSingleBackplane();
    default:
      throw new Error(`backplane mode ${options.mode} is not implemented yet`);
  }
}
