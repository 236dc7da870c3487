// The suite's settings, read once from the environment (the only module that
// reads process.env). E2E_PROVIDER picks the cluster: local (default) or kind.

/** E2eSettings are the suite's environment-derived settings. */
export interface E2eSettings {
  readonly provider: 'local' | 'kind';
  /** pathEnv is PATH, handed to the processes the local provider starts. */
  readonly pathEnv: string;
  /** kubeconfig is the kind cluster's kubeconfig (KUBECONFIG). */
  readonly kubeconfig: string | undefined;
  /** operatorNamespace is where the chart installed the operator (kind). */
  readonly operatorNamespace: string;
  /** relayImage is the relay image the chart's operator uses (kind; rolling-update scenario). */
  readonly relayImage: string | undefined;
  /** platformHost is the address pods use to reach the suite's fake platform (kind: the Docker bridge gateway). */
  readonly platformHost: string | undefined;
  /** kubectl is the kubectl the kind provider runs (E2E_KUBECTL, default kubectl on PATH). */
  readonly kubectl: string;
}

/** e2eSettings parses the environment; an unknown provider is an error. */
export function e2eSettings(env: Readonly<Record<string, string | undefined>> = process.env): E2eSettings {
  const provider = env.E2E_PROVIDER ?? 'local';
  if (provider !== 'local' && provider !== 'kind') throw new Error(`E2E_PROVIDER must be local or kind, got "${provider}"`);
  return {
    provider,
    pathEnv: env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    kubeconfig: env.KUBECONFIG,
    operatorNamespace: env.E2E_OPERATOR_NAMESPACE ?? 'viewport-system',
    relayImage: env.E2E_RELAY_IMAGE,
    platformHost: env.E2E_PLATFORM_HOST,
    kubectl: env.E2E_KUBECTL ?? 'kubectl',
  };
}
