// The issue's "done when": `npm start` (serve --dev) prints the probe page's
// URL, and opening it in headless Chromium shows a completed encrypted round
// trip, read from the page itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { installedBrowsers } from './browsers.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'relay', 'dist', 'cli.js');
const chromium = installedBrowsers().find((b) => b.name === 'chromium')!;
const dir = mkdtempSync(join(tmpdir(), 'probe-page-'));
let child: ChildProcess | undefined;

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

/** startDevRelay runs `serve --dev` like `npm start` and resolves with the page URL it prints. */
function startDevRelay(): Promise<{ url: string; output: () => string }> {
  child = spawn(process.execPath, [CLI, 'serve', '--dev', '--issuer-key-file', join(dir, 'key.json')], {
    env: { PATH: process.env.PATH ?? '', PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /probe page: (http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, output: () => out });
    };
    child!.stdout?.on('data', onData);
    child!.stderr?.on('data', onData);
    child!.once('exit', (code) => reject(new Error(`serve --dev exited early (${String(code)}):\n${out}`)));
  });
}

describe.skipIf(chromium.missing !== undefined)(`probe page in headless Chromium${chromium.missing ? ` (skipped: ${chromium.missing})` : ''}`, () => {
  it('npm start prints the page URL; the page completes encrypted round trips with the dev echo daemon', async () => {
    const relay = await startDevRelay();
    const browser = await chromium.launch();
    try {
      const page = await browser.newPage();
      await page.goto(relay.url);
      // Page-side code as strings: it runs in the browser, which this file's types do not describe.
      await page.waitForFunction(
        "document.getElementById('status').dataset.state === 'failed' || Number(document.getElementById('count').textContent) >= 3",
        { timeout: 30_000 },
      );
      const shown = (await page.evaluate(`({
        state: document.getElementById('status').dataset.state,
        status: document.getElementById('status').textContent,
        handshake: document.getElementById('handshake').textContent,
        steps: [...document.querySelectorAll('#steps li')].map((li) => li.textContent),
      })`)) as { state: string; status: string; handshake: string; steps: string[] };
      expect(shown.status).toMatch(/^encrypted round trips complete/);
      expect(shown.state).toBe('ok');
      expect(shown.handshake).toMatch(/ms$/);
      expect(shown.steps.some((s) => s.startsWith('handshake noise-ik done'))).toBe(true);
      expect(shown.steps.some((s) => s.includes('subprotocol viewport.v1'))).toBe(true);
      if (process.env.PROBE_PAGE_SCREENSHOT) await page.screenshot({ path: process.env.PROBE_PAGE_SCREENSHOT });
    } finally {
      await browser.close();
    }
  });
});
