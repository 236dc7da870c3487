// The oldest Kubernetes the operator supports, and the start-up check against
// the API server's /version. Pure apart from the one call.
import type { KubeAdapter } from './adapter.js';

/**
 * MIN_KUBERNETES: the relay pods' `preStop.sleep` handler is on by default from 1.30 (beta;
 * PodLifecycleSleepAction), and an older API server refuses the workload. Everything else the operator
 * uses is older: CRD validation rules with fieldPath (1.28; GA 1.29), matchLabelKeys (1.27) and
 * nodeTaintsPolicy (1.26) in topology spread, autoscaling/v2 and policy/v1 (1.23).
 */
export const MIN_KUBERNETES = { major: 1, minor: 30 } as const;

/** ServerVersion is the part of the API server's /version the check reads. */
export interface ServerVersion {
  major: string;
  minor: string;
  gitVersion: string;
}

/** versionProblem says why a server version is too old, or undefined when it is supported. */
export function versionProblem(v: ServerVersion): string | undefined {
  // Providers add suffixes to minor ("30+" on EKS and GKE).
  const major = Number.parseInt(v.major, 10);
  const minor = Number.parseInt(v.minor, 10);
  if (!Number.isFinite(major) || !Number.isFinite(minor)) return undefined;
  if (major > MIN_KUBERNETES.major || (major === MIN_KUBERNETES.major && minor >= MIN_KUBERNETES.minor)) return undefined;
  return (
    `Kubernetes ${v.gitVersion} is older than ${MIN_KUBERNETES.major}.${MIN_KUBERNETES.minor}, the oldest this operator supports: ` +
    `relay pods use the preStop sleep handler (on by default from 1.30); upgrade the cluster`
  );
}

/** checkServerVersion asks the API server for its version: a problem message, or undefined (also when the
 * version cannot be read: the watches will report an unreachable API server on their own). */
export async function checkServerVersion(kube: KubeAdapter): Promise<string | undefined> {
  if (!kube.serverVersion) return undefined;
  const res = await kube.serverVersion();
  return res.ok ? versionProblem(res.value) : undefined;
}
