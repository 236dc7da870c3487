// Paths the packaging checks share.
import path from 'node:path';

/** repoRoot is the repository root (this file lives in packaging/). */
export const repoRoot = path.resolve(import.meta.dirname, '..');
