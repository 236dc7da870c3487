// Managed Redis (Valkey) for the redis backplane: one replica, no persistence.
// The bus and presence are soft state; relays re-publish presence on restart.
// Memory is bounded below the container limit with noeviction: streams are
// never evicted silently; writes past the bound fail and the relay refuses
// (an OOM kill would lose every stream and all presence at once).
import type { KubeObject } from '../object.js';
import { secretsChecksum } from './hash.js';
import { quantityValue } from './quantity.js';
import { childLabels, SECRETS_CHECKSUM_ANNOTATION, selectorLabels } from './labels.js';
import { DEFAULT_REDIS_IMAGE, GENERATED_KEYS, REDIS_PORT, type RelayModel } from './model.js';
import { podSecurity, restrictedContainerSecurity } from './workload.js';

/** REDIS_UID is the non-root user of the official Valkey/Redis images. */
export const REDIS_UID = 999;

/** DEFAULT_REDIS_RESOURCES apply when spec.backplane.redis.managed.resources is absent. */
export const DEFAULT_REDIS_RESOURCES = { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } };
/** MAXMEMORY_SHARE of the container limit is the dataset bound; the rest covers client buffers, fragmentation and the process. */
export const MAXMEMORY_SHARE = 0.75;

/** quantityBytes reads a memory quantity ("256Mi", "1G", 268435456, "1e9"), or undefined when it is not one (or negative). */
export function quantityBytes(q: string | number | undefined): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) && q > 0 ? q : undefined;
  const bytes = q === undefined ? undefined : quantityValue(q);
  return bytes !== undefined && bytes >= 0 ? bytes : undefined;
}

/** redisMaxmemoryArgs bounds the dataset to a share of the memory limit, or nothing without a readable limit. */
export function redisMaxmemoryArgs(limit: string | number | undefined): string[] {
  const bytes = quantityBytes(limit);
  return bytes === undefined ? [] : ['--maxmemory', String(Math.floor(bytes * MAXMEMORY_SHARE))];
}

/**
 * desiredRedisDeployment is the managed backplane server. Its pod template
 * carries the checksum of the password it reads, so a new password (a deleted
 * generated Secret, a rotation) restarts Redis with it, as it rolls the relays:
 * an env var from a Secret is read only when the container starts.
 */
export function desiredRedisDeployment(m: RelayModel, generated: Readonly<Record<string, string>>): KubeObject {
  const managed = m.spec.backplane?.redis?.managed ?? {};
  const resources = managed.resources ?? DEFAULT_REDIS_RESOURCES;
  const password = { name: m.names.generatedSecret, key: GENERATED_KEYS.redisPassword };
  const checksum = secretsChecksum([{ ...password, value: generated[GENERATED_KEYS.redisPassword] }]);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: m.names.redis, namespace: m.namespace, labels: childLabels(m, 'redis') },
    spec: {
      replicas: 1,
      // Two Redis pods would split presence between them; replace, never overlap.
      strategy: { type: 'Recreate' },
      selector: { matchLabels: selectorLabels(m, 'redis') },
      template: {
        metadata: { labels: childLabels(m, 'redis'), annotations: { [SECRETS_CHECKSUM_ANNOTATION]: checksum } },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurity(REDIS_UID),
          containers: [
            {
              name: 'redis',
              image: managed.image ?? DEFAULT_REDIS_IMAGE,
              args: [
                '--save',
                '',
                '--appendonly',
                'no',
                '--requirepass',
                '$(REDIS_PASSWORD)',
                // Streams must not be evicted silently: a full Redis refuses writes instead.
                '--maxmemory-policy',
                'noeviction',
                ...redisMaxmemoryArgs(resources.limits?.memory),
              ],
              env: [
                {
                  name: 'REDIS_PASSWORD',
                  valueFrom: { secretKeyRef: password },
                },
              ],
              ports: [{ name: 'redis', containerPort: REDIS_PORT, protocol: 'TCP' }],
              resources,
              readinessProbe: { tcpSocket: { port: 'redis' }, periodSeconds: 5 },
              livenessProbe: { tcpSocket: { port: 'redis' }, periodSeconds: 10, failureThreshold: 3 },
              securityContext: restrictedContainerSecurity(),
              volumeMounts: [{ name: 'data', mountPath: '/data' }],
            },
          ],
          volumes: [{ name: 'data', emptyDir: {} }],
        },
      },
    },
  };
}

/** desiredRedisService is the Service relays reach the managed Redis by. */
export function desiredRedisService(m: RelayModel): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: m.names.redis, namespace: m.namespace, labels: childLabels(m, 'redis') },
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(m, 'redis'),
      ports: [{ name: 'redis', port: REDIS_PORT, targetPort: 'redis', protocol: 'TCP' }],
    },
  };
}
