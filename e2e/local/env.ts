// A container's environment as the kubelet builds it: plain values,
// valueFrom references (Secret, ConfigMap, downward API fields) and $(VAR)
// expansion from earlier entries. Pure: lookups are passed in.
import type { V1Container, V1Pod } from '@kubernetes/client-node';

/** EnvLookups reads the objects a container's env refers to (same namespace as the pod). */
export interface EnvLookups {
  /** secretValue returns the decoded value of a Secret key, or undefined when the Secret or key is absent. */
  secretValue(name: string, key: string): string | undefined;
  configMapValue(name: string, key: string): string | undefined;
}

/** EnvResult is the resolved env, or the first reference that cannot be resolved (the kubelet's CreateContainerConfigError). */
export type EnvResult = { ok: true; env: Record<string, string> } | { ok: false; error: string };

/** fieldValue answers the downward-API field paths the operator uses. */
export function fieldValue(pod: V1Pod, fieldPath: string, podIP: string): string | undefined {
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata?.name;
    case 'metadata.namespace':
      return pod.metadata?.namespace;
    case 'metadata.uid':
      return pod.metadata?.uid;
    case 'spec.nodeName':
      return pod.spec?.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName;
    case 'status.podIP':
      return podIP;
  }
  const label = /^metadata\.labels\['(.+)'\]$/.exec(fieldPath);
  if (label?.[1] !== undefined) return pod.metadata?.labels?.[label[1]];
  const annotation = /^metadata\.annotations\['(.+)'\]$/.exec(fieldPath);
  if (annotation?.[1] !== undefined) return pod.metadata?.annotations?.[annotation[1]];
  return undefined;
}

/** expandReferences replaces $(NAME) with defined values; unknown names stay as written and $$ escapes, as in Kubernetes. */
export function expandReferences(text: string, defined: Readonly<Record<string, string>>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (name === undefined) return '$';
    return defined[name] ?? match;
  });
}

/** resolveContainerEnv builds the env of one container in declaration order. */
export function resolveContainerEnv(pod: V1Pod, container: V1Container, podIP: string, lookups: EnvLookups): EnvResult {
  const env: Record<string, string> = {};
  for (const entry of container.env ?? []) {
    if (entry.valueFrom === undefined) {
      env[entry.name] = expandReferences(entry.value ?? '', env);
      continue;
    }
    const { secretKeyRef, configMapKeyRef, fieldRef } = entry.valueFrom;
    let value: string | undefined;
    let what: string;
    if (secretKeyRef) {
      value = lookups.secretValue(secretKeyRef.name ?? '', secretKeyRef.key);
      what = `secret ${secretKeyRef.name ?? ''} key ${secretKeyRef.key}`;
      if (value === undefined && secretKeyRef.optional === true) continue;
    } else if (configMapKeyRef) {
      value = lookups.configMapValue(configMapKeyRef.name ?? '', configMapKeyRef.key);
      what = `configmap ${configMapKeyRef.name ?? ''} key ${configMapKeyRef.key}`;
      if (value === undefined && configMapKeyRef.optional === true) continue;
    } else if (fieldRef) {
      value = fieldValue(pod, fieldRef.fieldPath, podIP);
      what = `field ${fieldRef.fieldPath}`;
    } else {
      return { ok: false, error: `env ${entry.name}: unsupported valueFrom` };
    }
    if (value === undefined) return { ok: false, error: `env ${entry.name}: ${what} not found` };
    env[entry.name] = value;
  }
  return { ok: true, env };
}
