// Managed Redis (Valkey) for the redis backplane: one replica, no persistence.
// The bus and presence are soft state; relays re-publish presence on restart.
import type { KubeObject } from '../object.js';
import { secretsChecksum } from './hash.js';
import { childLabels, SECRETS_CHECKSUM_ANNOTATION, selectorLabels } from './labels.js';
import { DEFAULT_REDIS_IMAGE, GENERATED_KEYS, REDIS_PORT, type RelayModel } from './model.js';
import { podSecurity, restrictedContainerSecurity } from './workload.js';

/** REDIS_UID is the non-root user of the official Valkey/Redis images. */
export const REDIS_UID = 999;

/**
 * desiredRedisDeployment is the managed backplane server. Its pod template
 * carries the checksum of the password it reads, so a new password (a deleted
 * generated Secret, a rotation) restarts Redis with it, as it rolls the relays:
 * an env var from a Secret is read only when the container starts.
 */
export function desiredRedisDeployment(m: RelayModel, generated: Readonly<Record<string, string>>): KubeObject {
  const managed = m.spec.backplane?.redis?.managed ?? {};
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
                '--maxmemory-policy',
                'noeviction',
              ],
              env: [
                {
                  name: 'REDIS_PASSWORD',
                  valueFrom: { secretKeyRef: password },
                },
              ],
              ports: [{ name: 'redis', containerPort: REDIS_PORT, protocol: 'TCP' }],
              resources: managed.resources ?? { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
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
