// e2e/kind/run.sh's control flow, without Docker: docker, kind, helm, kubectl
// and npm are replaced by recording scripts on PATH and the preparation step
// (prepare.sh) by a script printing what it would have prepared, so the test
// checks the order of steps, the chart settings, the dump on failure and the
// cleanup.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../repo.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'viewport-kind-run-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// One recorder serves every tool: it logs "name args..." and answers the two
// kubectl queries the dump makes. npm also records the provider it was given.
const recorder = `#!/usr/bin/env bash
name="$(basename "$0")"
printf '%s %s\\n' "$name" "$*" >>"$FAKE_LOG"
case "$name $1" in
  "kubectl get")
    if [[ "$*" == *"get pods -A"* ]]; then
      printf 'viewport-system viewport-relay-operator-7d9\\nkube-system coredns-1\\ndemo relay-0\\n'
    else
      echo "resources"
    fi ;;
  "kubectl logs") [[ "$*" == *--previous* ]] && exit 1; echo "log of $4" ;;
  "docker network") echo "\${FAKE_GATEWAYS-fc00:f853:ccd:e793::1 172.18.0.1 }" ;;
  "npm run") printf 'npm-env E2E_PROVIDER=%s E2E_RELAY_IMAGE=%s E2E_PLATFORM_HOST=%s\\n' "$E2E_PROVIDER" "$E2E_RELAY_IMAGE" "$E2E_PLATFORM_HOST" >>"$FAKE_LOG"; exit "\${FAKE_NPM_RC:-0}" ;;
esac
exit 0
`;

// The only host tools the script may find: resolved once from the host PATH and
// linked into a directory of their own, so a docker, kind or helm installed on
// the machine can never stand in for a missing fake.
const hostTools = ['bash', 'basename', 'cat', 'date', 'dirname', 'git', 'grep', 'mkdir', 'rm', 'sed', 'sort', 'tail', 'tr'];
const systemBin = fs.mkdtempSync(path.join(tmp, 'system-'));
for (const tool of hostTools) {
  const found = (process.env.PATH ?? '').split(path.delimiter).map((dir) => path.join(dir, tool)).find((file) => fs.existsSync(file));
  if (found !== undefined) fs.symlinkSync(found, path.join(systemBin, tool));
}

function fakeBin(tools: string[]): string {
  const bin = fs.mkdtempSync(path.join(tmp, 'bin-'));
  for (const tool of tools) fs.writeFileSync(path.join(bin, tool), recorder, { mode: 0o755 });
  return bin;
}

interface Run {
  code: number | null;
  stderr: string;
  calls: string[];
  work: string;
}

// The fake preparation prints $FAKE_PREPARED (KEY=VALUE lines) and records itself.
const prepare = path.join(tmp, 'prepare.sh');
fs.writeFileSync(prepare, 'echo "prepare" >>"$FAKE_LOG"\nprintf "%b" "${FAKE_PREPARED-}"\n');

function runScript(env: Record<string, string>, tools = ['docker', 'kind', 'helm', 'kubectl', 'npm']): Run {
  const work = fs.mkdtempSync(path.join(tmp, 'work-'));
  const log = path.join(work, 'calls.log');
  fs.writeFileSync(log, '');
  const result = spawnSync(path.join(systemBin, 'bash'), [path.join(repoRoot, 'e2e/kind/run.sh')], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { PATH: `${fakeBin(tools)}:${systemBin}`, HOME: tmp, FAKE_LOG: log, E2E_KIND_WORK: work, E2E_KIND_PREPARE: prepare, ...env },
  });
  if (result.error) throw result.error;
  return { code: result.status, stderr: result.stderr, calls: fs.readFileSync(log, 'utf8').split('\n').filter(Boolean), work };
}

const indexOf = (calls: string[], prefix: string): number => calls.findIndex((c) => c.startsWith(prefix));

describe('e2e/kind/run.sh', () => {
  it('creates the cluster, builds and loads both images, installs the chart, runs the suite, deletes the cluster', () => {
    const run = runScript({});
    expect(run.code, run.stderr).toBe(0);
    const steps = [
      'prepare',
      'kind create cluster --name viewport-e2e --config',
      'docker build -f ' + path.join(repoRoot, 'Dockerfile.relay') + ' -t viewport-relay:e2e',
      'kind load docker-image --name viewport-e2e viewport-relay:e2e',
      'docker build -f ' + path.join(repoRoot, 'Dockerfile.operator') + ' -t viewport-relay-operator:e2e',
      'kind load docker-image --name viewport-e2e viewport-relay-operator:e2e',
      'docker tag viewport-relay:e2e viewport-relay:e2e-next',
      'kind load docker-image --name viewport-e2e viewport-relay:e2e-next',
      'kubectl create namespace viewport-system',
      'kubectl label namespace viewport-system pod-security.kubernetes.io/enforce=restricted',
      'helm upgrade --install viewport-relay-operator',
      'npm run e2e',
      'npm exec -w e2e -- vitest run --config ' + path.join(repoRoot, 'e2e/kind/vitest.lifecycle.config.ts'),
    ];
    const positions = steps.map((s) => indexOf(run.calls, s));
    expect(positions.every((p) => p >= 0), run.calls.join('\n')).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(run.calls[indexOf(run.calls, 'kind create')]).toContain(path.join(repoRoot, 'e2e/kind/kind.yaml'));
    const install = run.calls[indexOf(run.calls, 'helm upgrade')]!;
    for (const set of ['image.tag=e2e', 'image.pullPolicy=Never', 'relayImage.repository=viewport-relay', '--wait']) {
      expect(install).toContain(set);
    }
    expect(run.calls).toContain('npm-env E2E_PROVIDER=kind E2E_RELAY_IMAGE=viewport-relay:e2e E2E_PLATFORM_HOST=172.18.0.1');
    expect(run.calls.at(-1)).toBe('kind delete cluster --name viewport-e2e');
    expect(fs.existsSync(path.join(run.work, 'dump'))).toBe(false);
    expect(run.stderr).toMatch(/phase durations:\n(.*\n)*.*suite +\d+s\n.*lifecycle +\d+s/);
  });

  it('uses what the preparation step built: PATH, cluster config, node image, base images, images to load', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'prepared-'));
    const run = runScript({
      FAKE_PREPARED: `KIND_PATH=${dir}\nKIND_CONFIG=/x/kind-local.yaml\nKIND_NODE_IMAGE=local/node:1\nNODE_IMAGE=local/node-build:22\nRUNTIME_IMAGE=local/node:22\nLOAD_IMAGES=redis:a other:b\nDOCKERD_STARTED=0\n`,
    });
    expect(run.code, run.stderr).toBe(0);
    const create = run.calls[indexOf(run.calls, 'kind create')]!;
    expect(create).toContain('--config /x/kind-local.yaml');
    expect(create).toContain('--image local/node:1');
    const build = run.calls[indexOf(run.calls, 'docker build')]!;
    expect(build).toContain('--build-arg NODE_IMAGE=local/node-build:22 --build-arg RUNTIME_IMAGE=local/node:22');
    const loads = ['redis:a', 'other:b'].map((image) => indexOf(run.calls, `kind load docker-image --name viewport-e2e ${image}`));
    expect(loads.every((p) => p > indexOf(run.calls, 'kind create') && p < indexOf(run.calls, 'helm upgrade')), run.calls.join('\n')).toBe(true);
  });

  it('dumps events and workload logs when the suite fails, then deletes the cluster', () => {
    const run = runScript({ FAKE_NPM_RC: '3', KIND_CLUSTER_NAME: 'c1' });
    expect(run.code).toBe(3);
    const dump = path.join(run.work, 'dump');
    expect(fs.readdirSync(dump).sort()).toEqual([
      'events.txt',
      'logs-demo-relay-0.txt',
      'logs-viewport-system-viewport-relay-operator-7d9.txt',
      'resources.txt',
      'viewportrelays.yaml',
    ]);
    expect(fs.readFileSync(path.join(dump, 'logs-demo-relay-0.txt'), 'utf8')).toContain('log of relay-0');
    expect(run.stderr).toContain('log of viewport-relay-operator-7d9');
    expect(run.calls.at(-1)).toBe('kind delete cluster --name c1');
  });

  it('keeps the cluster when asked', () => {
    const run = runScript({ E2E_KEEP_CLUSTER: '1', FAKE_NPM_RC: '1' });
    expect(run.code).toBe(1);
    expect(indexOf(run.calls, 'npm run e2e')).toBeGreaterThan(indexOf(run.calls, 'kind delete'));
    // The suite failed: the lifecycle step, which uninstalls the operator, does not run.
    expect(indexOf(run.calls, 'npm exec')).toBe(-1);
    expect(run.calls.filter((c) => c.startsWith('kind delete'))).toHaveLength(1);
    expect(run.stderr).toContain('keeping cluster viewport-e2e');
  });

  it('uses E2E_PLATFORM_HOST when given, and stops with a reason when the kind network has no IPv4 gateway', () => {
    const given = runScript({ E2E_PLATFORM_HOST: '192.168.65.254', FAKE_GATEWAYS: '' });
    expect(given.code, given.stderr).toBe(0);
    expect(given.calls).toContain('npm-env E2E_PROVIDER=kind E2E_RELAY_IMAGE=viewport-relay:e2e E2E_PLATFORM_HOST=192.168.65.254');
    const missing = runScript({ FAKE_GATEWAYS: 'fc00::1' });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("cannot find the kind network's IPv4 gateway");
    expect(indexOf(missing.calls, 'npm run e2e')).toBe(-1);
    expect(missing.calls.at(-1)).toBe('kind delete cluster --name viewport-e2e');
  });

  it('says what is missing when Docker is not installed', () => {
    const run = runScript({}, ['kind', 'helm', 'kubectl', 'npm']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('docker is not on PATH');
    expect(run.calls).toEqual(['prepare']);
  });
});
