#!/usr/bin/env node
// The viewport-relay command. npm links a workspace's bins at `npm ci`, before
// anything is built, and skips a bin whose file does not exist; this committed
// shim always exists, so `npx viewport-relay` works in a fresh clone. In a
// source checkout it builds dist/ on first use (a published package ships
// dist/ and never builds), then runs dist/cli.js as the main module.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
if (!existsSync(cli)) {
  process.stderr.write('viewport-relay: not built yet; building relay/ once (npm run build -w relay)\n');
  // Build output goes to stderr: stdout is the command's own (token prints a JWT there).
  const built = spawnSync('npm', ['run', 'build'], { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['ignore', 2, 2] });
  if (built.status !== 0) process.exit(built.status ?? 1);
}
// dist/cli.js runs its command line only when it is the main module (tests import it).
process.argv[1] = cli;
await import(pathToFileURL(cli).href);
