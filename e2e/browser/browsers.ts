// The browsers of the tier: Debian's chromium and firefox-esr, driven by
// puppeteer-core (CDP for Chromium, WebDriver BiDi for Firefox). Nothing is
// downloaded: a browser that is not installed is reported, and its tests skip.
// Playwright is not used: its Firefox needs the patched Juggler build
// (`-juggler-pipe`), which Debian's firefox-esr does not have.
import { existsSync } from 'node:fs';
import puppeteer, { type Browser } from 'puppeteer-core';

/** BrowserName is a browser of the tier. */
export type BrowserName = 'chromium' | 'firefox';

interface BrowserSpec {
  readonly name: BrowserName;
  /** env overrides the executable; candidates are Debian's paths. */
  readonly env: string;
  readonly candidates: readonly string[];
  readonly puppeteerBrowser: 'chrome' | 'firefox';
}

const SPECS: readonly BrowserSpec[] = [
  { name: 'chromium', env: 'E2E_CHROMIUM', candidates: ['/usr/bin/chromium', '/usr/bin/chromium-browser'], puppeteerBrowser: 'chrome' },
  { name: 'firefox', env: 'E2E_FIREFOX', candidates: ['/usr/bin/firefox-esr', '/usr/bin/firefox'], puppeteerBrowser: 'firefox' },
];

/** InstalledBrowser is a browser found on this machine, or why not. */
export interface InstalledBrowser {
  readonly name: BrowserName;
  readonly executable: string | undefined;
  /** missing says how to get it, when it is not installed. */
  readonly missing: string | undefined;
  launch(): Promise<Browser>;
}

/** installedBrowsers lists every browser of the tier with its executable, if any. */
export function installedBrowsers(env: Record<string, string | undefined> = process.env): InstalledBrowser[] {
  return SPECS.map((spec) => {
    const executable = [env[spec.env], ...spec.candidates].find((p): p is string => p !== undefined && p !== '' && existsSync(p));
    return {
      name: spec.name,
      executable,
      missing: executable ? undefined : `${spec.name} is not installed (${spec.candidates.join(' or ')}; set ${spec.env} or run scripts/install-system-deps.sh)`,
      launch: () => {
        if (!executable) throw new Error(`${spec.name} is not installed`);
        return puppeteer.launch({
          browser: spec.puppeteerBrowser,
          executablePath: executable,
          headless: true,
          // Root in a container has no user namespace for Chromium's sandbox; the pages are our own.
          args: spec.name === 'chromium' ? ['--no-sandbox', '--disable-dev-shm-usage'] : [],
        });
      },
    };
  });
}
