import { describe, expect, it } from 'vitest';
import { checkServerVersion, versionProblem } from './min-version.js';

describe('minimum Kubernetes version', () => {
  it.each([
    ['1', '34', 'v1.34.5', undefined],
    ['1', '30', 'v1.30.0', undefined],
    ['1', '30+', 'v1.30.2-eks-1', undefined],
    ['2', '0', 'v2.0.0', undefined],
    ['1', '29', 'v1.29.9', 'Kubernetes v1.29.9 is older than 1.30'],
    ['1', '28+', 'v1.28.3-gke.1', 'Kubernetes v1.28.3-gke.1 is older than 1.30'],
  ])('%s.%s (%s)', (major, minor, gitVersion, problem) => {
    const res = versionProblem({ major, minor, gitVersion });
    if (problem === undefined) expect(res).toBeUndefined();
    else expect(res).toContain(problem);
  });

  it('asks the API server, and lets an unreadable version pass to the watches', async () => {
    const answer = (value: { major: string; minor: string; gitVersion: string } | undefined) => ({
      serverVersion: async () => (value ? { ok: true as const, value } : { ok: false as const, error: { status: undefined, reason: 'NetworkError', message: 'down' } }),
    });
    expect(await checkServerVersion(answer({ major: '1', minor: '29', gitVersion: 'v1.29.0' }) as never)).toMatch(/upgrade the cluster/);
    expect(await checkServerVersion(answer(undefined) as never)).toBeUndefined();
  });
});
