// Every place a release's version is written, read back: the workspaces'
// package.json files, the relay's built-in version, the chart's version and
// appVersion (the default image tags) and its Artifact Hub image list. The
// release workflow runs this with the pushed tag and stops on any
// disagreement:  node packaging/release-versions.ts v1.2.3
// Node built-ins only, so that job needs no npm ci.
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const read = (file: string): string => fs.readFileSync(path.join(root, file), 'utf8');
const packageVersion = (file: string): string => (JSON.parse(read(file)) as { version: string }).version;

/** VersionSpot is one place a version is written and the version found there. */
export interface VersionSpot {
  where: string;
  version: string;
}

/** releaseVersions reads every version spot of the repository. */
export function releaseVersions(): VersionSpot[] {
  const chart = read('charts/viewport-relay-operator/Chart.yaml');
  const field = (name: string): string => new RegExp(`^${name}: *"?([^"\\s]+)"?$`, 'm').exec(chart)?.[1] ?? '(none)';
  // The image lines of the artifacthub.io/images annotation, the only "image:" keys in Chart.yaml.
  const images = [...chart.matchAll(/^ +image: (\S+):([^:\s]+)$/gm)];
  return [
    { where: 'package.json', version: packageVersion('package.json') },
    { where: 'relay/package.json', version: packageVersion('relay/package.json') },
    { where: 'operator/package.json', version: packageVersion('operator/package.json') },
    { where: 'relay/src/version.ts', version: /RELAY_VERSION = '([^']+)'/.exec(read('relay/src/version.ts'))?.[1] ?? '(none)' },
    { where: 'Chart.yaml version', version: field('version') },
    { where: 'Chart.yaml appVersion (default image tags)', version: field('appVersion') },
    ...images.map((m) => ({ where: `Chart.yaml artifacthub.io/images ${m[1]!}`, version: m[2]! })),
  ];
}

/** disagreements lists the spots whose version is not want. */
export function disagreements(want: string): string[] {
  return releaseVersions()
    .filter((s) => s.version !== want)
    .map((s) => `${s.where} says ${s.version}, the release is ${want}`);
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === import.meta.filename) {
  const tag = process.argv[2] ?? '';
  const problems = /^v\d+\.\d+\.\d+(-[\w.]+)?$/.test(tag) ? disagreements(tag.slice(1)) : [`"${tag}" is not a release tag (vMAJOR.MINOR.PATCH)`];
  for (const p of problems) process.stderr.write(`release-versions: ${p}\n`);
  process.exit(problems.length > 0 ? 1 : 0);
}
