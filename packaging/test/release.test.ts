// The release, dry: every step of .github/workflows/release.yml that needs no
// registry runs here. The version check passes for the packages' version and
// stops a tag that disagrees; the chart's default image tags (appVersion) and
// its Artifact Hub image list name the images the chart deploys at the
// packages' version; `helm package` with the release's version works.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { chartDir, helm, renderChart } from '../helm.js';
import { disagreements, releaseVersions } from '../release-versions.js';
import { repoRoot } from '../repo.js';

const run = promisify(execFile);
const version = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'relay/package.json'), 'utf8')) as { version: string }).version;
const checkTag = (tag: string) =>
  run(process.execPath, [path.join(repoRoot, 'packaging/release-versions.ts'), tag], { cwd: repoRoot }).then(
    () => ({ code: 0, stderr: '' }),
    (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
  );

describe('release versions', () => {
  it('every version spot names the packages version', () => {
    expect(releaseVersions().length).toBeGreaterThanOrEqual(8);
    expect(disagreements(version)).toEqual([]);
  });

  it('the workflow check passes the matching tag and stops any other', async () => {
    expect(await checkTag(`v${version}`)).toEqual({ code: 0, stderr: '' });
    const wrong = await checkTag('v99.0.0');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`Chart.yaml appVersion (default image tags) says ${version}, the release is 99.0.0`);
    expect((await checkTag('latest')).stderr).toContain('is not a release tag');
  });

  it('the Artifact Hub image list is what the chart deploys by default', () => {
    const chart = parse(fs.readFileSync(path.join(chartDir, 'Chart.yaml'), 'utf8')) as { annotations: Record<string, string> };
    const listed = (parse(chart.annotations['artifacthub.io/images']!) as { image: string }[]).map((i) => i.image).sort();
    const deployment = renderChart().find((o) => o.kind === 'Deployment')!;
    const [c] = (deployment.spec as { template: { spec: { containers: { image: string; env: { name: string; value?: string }[] }[] } } }).template.spec.containers;
    const relayImage = c!.env.find((e) => e.name === 'VIEWPORT_RELAY_IMAGE')!.value!;
    expect([c!.image, relayImage].sort()).toEqual(listed);
  });

  it('helm package builds the chart at the release version', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chart-package-'));
    try {
      const packaged = helm(['package', chartDir, '--version', version, '--app-version', version, '--destination', dir]);
      expect(packaged.ok, packaged.ok ? '' : packaged.output).toBe(true);
      const file = path.join(dir, `viewport-relay-operator-${version}.tgz`);
      const shown = helm(['show', 'chart', file]);
      expect(shown.ok && (parse(shown.stdout) as { appVersion: string }).appVersion).toBe(version);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
