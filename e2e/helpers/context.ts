// What the global setup hands each suite file (vitest provide/inject: plain
// serialisable values only).

/** LocalContext describes the local provider's processes and files. */
export interface LocalContext {
  readonly controlPlaneDir: string;
  /** runnerDir holds one log per container (<ns>_<pod>_<container>.log) and terminations.jsonl. */
  readonly runnerDir: string;
  readonly runnerLogPath: string;
  readonly operatorLogPath: string;
  readonly terminationsPath: string;
  readonly kubectl: string;
}

/** E2eContext is the provided value `e2e`. */
export interface E2eContext {
  readonly provider: 'local' | 'kind';
  readonly kubeconfigPath: string;
  readonly operatorNamespace: string;
  /** relayImage is the image the operator runs relays with (the rolling-update scenario changes its tag). */
  readonly relayImage: string;
  readonly local: LocalContext | undefined;
  /** kubectl is the kubectl binary for logs and port-forwards. */
  readonly kubectl: string;
  /** platformHost is how pods reach this machine (kind: E2E_PLATFORM_HOST); undefined with the local provider. */
  readonly platformHost: string | undefined;
}

declare module 'vitest' {
  export interface ProvidedContext {
    e2e: E2eContext;
  }
}
