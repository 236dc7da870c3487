// Builds the browser bundle from the compiled client (dist/browser/entry.js)
// with esbuild: one IIFE file, the global `ViewportRelay`, @noble included.
// Run by `npm run build -w relay` after tsc; the relay serves the file read-only.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** BROWSER_BUNDLE_FILE is relay/dist/browser/viewport-client.js, from dist/ or (in tests) src/. */
export const BROWSER_BUNDLE_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'browser', 'viewport-client.js');

/** buildBrowserBundle writes the bundle; esbuild is a build-time dependency, loaded only here. */
export async function buildBrowserBundle(outfile: string = BROWSER_BUNDLE_FILE): Promise<void> {
  const { build } = await import('esbuild');
  await build({
    entryPoints: [join(dirname(fileURLToPath(import.meta.url)), 'entry.js')],
    outfile,
    bundle: true,
    format: 'iife',
    globalName: 'ViewportRelay',
    platform: 'browser',
    // Chromium and Firefox of the last years; the code needs BigInt and async/await, nothing newer.
    target: ['chrome110', 'firefox110', 'safari16'],
    minify: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildBrowserBundle().catch((error: unknown) => {
    process.stderr.write(`browser bundle: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
