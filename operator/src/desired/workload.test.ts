import { describe, expect, it } from 'vitest';
import { LABELS, modelOf, REDIS_MANAGED, SELECTOR } from '../../test/relays.js';
import { relayEnv } from './env.js';
import { SECRETS_CHECKSUM_ANNOTATION } from './labels.js';
import { desiredRedisDeployment, quantityBytes } from './redis.js';
import { desiredRelayWorkload } from './workload.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const restricted = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

describe('relay Deployment', () => {
  it('minimal relay: the whole object', () => {
    const m = modelOf();
    expect(desiredRelayWorkload(m, 'sum1')).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'relay', namespace: 'viewport', labels: LABELS },
      spec: {
        replicas: 1,
        selector: { matchLabels: SELECTOR },
        revisionHistoryLimit: 5,
        progressDeadlineSeconds: 600,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: { labels: LABELS, annotations: { 'relay.getviewport.com/secrets-checksum': 'sum1' } },
          spec: {
            serviceAccountName: 'relay',
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 45,
            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
            topologySpreadConstraints: [
              { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', nodeTaintsPolicy: 'Honor', labelSelector: { matchLabels: SELECTOR }, matchLabelKeys: ['pod-template-hash'] },
              { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', nodeTaintsPolicy: 'Honor', labelSelector: { matchLabels: SELECTOR }, matchLabelKeys: ['pod-template-hash'] },
            ],
            containers: [
              {
                name: 'relay',
                image: 'ghcr.io/viewport/relay:test',
                args: ['serve'],
                ports: [{ name: 'ws', containerPort: 7781, protocol: 'TCP' }],
                env: relayEnv(m),
                resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
                readinessProbe: { httpGet: { path: '/ready', port: 'ws' }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 2 },
                livenessProbe: { httpGet: { path: '/health', port: 'ws' }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
                startupProbe: { httpGet: { path: '/health', port: 'ws' }, periodSeconds: 2, failureThreshold: 30 },
                lifecycle: { preStop: { sleep: { seconds: 5 } } },
                securityContext: restricted,
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              },
            ],
            volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
          },
        },
      },
    });
  });

  it.each([
    ['drain 60 + preStop 10 → grace 80', { drain: { gracePeriodSeconds: 60, preStopDelaySeconds: 10 } }, 80, true],
    ['no preStop → no hook, grace covers drain', { drain: { gracePeriodSeconds: 20, preStopDelaySeconds: 0 } }, 30, false],
  ])('termination covers the drain: %s', (_name, spec, grace, hasPreStop) => {
    const pod = (desiredRelayWorkload(modelOf(spec), 's') as Obj).spec.template.spec;
    expect(pod.terminationGracePeriodSeconds).toBe(grace);
    expect('lifecycle' in pod.containers[0]).toBe(hasPreStop);
  });

  it.each([
    ['single: ws only', {}, [7781]],
    ['server backplane: ws only', { backplane: { mode: 'server' }, replicas: 2 }, [7781]],
    ['redis: ws and peer links on 8091 by default', { backplane: REDIS_MANAGED, replicas: 2 }, [7781, 8091]],
    ['redis, peer links on another port', { backplane: { ...REDIS_MANAGED, peerLinks: { port: 9000 } }, replicas: 2 }, [7781, 9000]],
    ['redis, peer links off', { backplane: { ...REDIS_MANAGED, peerLinks: { enabled: false } }, replicas: 2 }, [7781]],
  ])('container ports: %s', (_name, spec, ports) => {
    const c = (desiredRelayWorkload(modelOf(spec), 's') as Obj).spec.template.spec.containers[0];
    const names = ['ws', 'peer'];
    expect(c.ports).toEqual(ports.map((containerPort, i) => ({ name: names[i], containerPort, protocol: 'TCP' })));
  });

  it('a strict spread counts only nodes whose taints the relay tolerates', () => {
    // A tainted control plane must not count as an empty domain, or DoNotSchedule
    // leaves a replica Pending on one control plane and two workers.
    const spread = { topologyKey: 'kubernetes.io/hostname', maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule' as const };
    const w = desiredRelayWorkload(modelOf({ backplane: REDIS_MANAGED, replicas: 3, topologySpread: spread }), 's') as Obj;
    const constraints = w.spec.template.spec.topologySpreadConstraints as Obj[];
    expect(constraints[0]).toMatchObject({ ...spread, nodeTaintsPolicy: 'Honor' });
    expect(constraints.map((c) => c.nodeTaintsPolicy)).toEqual(['Honor', 'Honor']);
    // nodeAffinityPolicy stays at the API default, Honor.
    expect(constraints.every((c) => !('nodeAffinityPolicy' in c))).toBe(true);
  });

  it('omits replicas when autoscaling owns them', () => {
    const w = desiredRelayWorkload(modelOf({ backplane: REDIS_MANAGED, autoscaling: { minReplicas: 2, maxReplicas: 4, targetCPUUtilizationPercentage: 50 } }), 's') as Obj;
    expect('replicas' in w.spec).toBe(false);
  });

  it('applies pod overrides without letting labels break the selector', () => {
    const w = desiredRelayWorkload(
      modelOf({
        image: 'registry.local/relay:1',
        imagePullPolicy: 'Always',
        imagePullSecrets: [{ name: 'pull' }],
        pod: {
          labels: { team: 'rt', 'app.kubernetes.io/instance': 'evil' },
          annotations: { a: 'b' },
          nodeSelector: { pool: 'relay' },
          tolerations: [{ key: 'dedicated', operator: 'Exists' }],
          priorityClassName: 'high',
        },
        topologySpread: { enabled: false },
      }),
      's',
    ) as Obj;
    const t = w.spec.template;
    expect(t.metadata.labels).toEqual({ team: 'rt', ...LABELS });
    expect(t.metadata.annotations).toEqual({ a: 'b', 'relay.getviewport.com/secrets-checksum': 's' });
    expect(t.spec.nodeSelector).toEqual({ pool: 'relay' });
    expect(t.spec.tolerations).toEqual([{ key: 'dedicated', operator: 'Exists' }]);
    expect(t.spec.priorityClassName).toBe('high');
    expect(t.spec.imagePullSecrets).toEqual([{ name: 'pull' }]);
    expect(t.spec.topologySpreadConstraints).toBeUndefined();
    expect(t.spec.containers[0].image).toBe('registry.local/relay:1');
    expect(t.spec.containers[0].imagePullPolicy).toBe('Always');
  });

  it('mounts the platform client certificate for mTLS', () => {
    const w = desiredRelayWorkload(modelOf({ platform: { validateUrl: 'https://a.example.com/v', internalKeySecretRef: { name: 'p', key: 'k' }, authMode: 'mtls', mtlsSecretName: 'client-cert' } }), 's') as Obj;
    const pod = w.spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: 'platform-tls', secret: { secretName: 'client-cert', defaultMode: 0o440 } });
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'platform-tls', mountPath: '/etc/viewport/platform-tls', readOnly: true });
  });
});

describe('relay StatefulSet (pinned)', () => {
  it('has stable identities through the headless Service', () => {
    const w = desiredRelayWorkload(
      modelOf({ backplane: REDIS_MANAGED, replicas: 3, routing: { mode: 'pinned', podHostPattern: '{pod}.r.example.com' }, exposure: { host: 'r.example.com', ingress: {} } }),
      's',
    ) as Obj;
    expect(w.kind).toBe('StatefulSet');
    expect(w.spec).toMatchObject({ replicas: 3, serviceName: 'relay-pods', podManagementPolicy: 'Parallel', updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } } });
    expect(w.spec.template.spec.topologySpreadConstraints[0].matchLabelKeys).toBeUndefined();
    expect(w.spec.template.spec.topologySpreadConstraints[0].nodeTaintsPolicy).toBe('Honor');
  });
});

describe('managed Redis Deployment', () => {
  it('runs one non-root Valkey without persistence, password from the generated Secret', () => {
    const d = desiredRedisDeployment(modelOf({ backplane: REDIS_MANAGED }), { 'redis-password': 'p1' }) as Obj;
    expect(d.spec.replicas).toBe(1);
    expect(d.spec.strategy).toEqual({ type: 'Recreate' });
    const c = d.spec.template.spec.containers[0];
    expect(c.image).toBe('docker.io/valkey/valkey:8.1-alpine');
    // maxmemory is 3/4 of the default 256Mi limit: 192 MiB.
    expect(c.args).toEqual([
      '--save', '', '--appendonly', 'no', '--requirepass', '$(REDIS_PASSWORD)', '--maxmemory-policy', 'noeviction', '--maxmemory', String(192 * 2 ** 20),
    ]);
    expect(c.env).toEqual([{ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'relay-generated', key: 'redis-password' } } }]);
    expect(c.securityContext).toEqual(restricted);
    expect(d.spec.template.spec.securityContext.runAsUser).toBe(999);
  });

  it('restarts when its password changes: the pod template carries the password checksum, never the password', () => {
    const m = modelOf({ backplane: REDIS_MANAGED });
    const template = (password: string) => (desiredRedisDeployment(m, { 'redis-password': password }) as Obj).spec.template;
    const checksum = (password: string): string => template(password).metadata.annotations[SECRETS_CHECKSUM_ANNOTATION];
    expect(checksum('first-password')).toMatch(/^[0-9a-f]{16}$/);
    expect(checksum('first-password')).toBe(checksum('first-password'));
    expect(checksum('second-password')).not.toBe(checksum('first-password'));
    expect(JSON.stringify(template('first-password'))).not.toContain('first-password');
  });
});

describe('managed Redis memory bound', () => {
  it.each([
    ['1Gi', 2 ** 30],
    ['512Mi', 512 * 2 ** 20],
    ['1G', 1e9],
    ['500M', 5e8],
    ['128974848', 128974848],
    [268435456, 268435456],
    ['1e9', 1e9],
    ['2.5Gi', 2.5 * 2 ** 30],
  ])('reads %s as %d bytes', (q, bytes) => {
    expect(quantityBytes(q)).toBe(bytes);
  });

  it.each([['banana'], ['1Xi'], ['-1Gi'], [''], [undefined]])('ignores %s', (q) => {
    expect(quantityBytes(q)).toBeUndefined();
  });

  it('sets maxmemory to 3/4 of the container memory limit, and none without a limit', () => {
    const argsOf = (resources: Record<string, unknown>): string[] =>
      (desiredRedisDeployment(modelOf({ backplane: { mode: 'redis', redis: { managed: { resources } } } }), {}) as Obj).spec.template.spec.containers[0].args;
    expect(argsOf({ limits: { memory: '1Gi' } }).slice(-4)).toEqual(['--maxmemory-policy', 'noeviction', '--maxmemory', String(768 * 2 ** 20)]);
    expect(argsOf({ requests: { memory: '64Mi' } })).not.toContain('--maxmemory');
  });
});
