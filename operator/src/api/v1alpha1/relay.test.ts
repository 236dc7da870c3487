import { describe, expect, it } from 'vitest';
import { parseRelay } from './relay.js';
import { SPEC_RULES } from './rules.js';

const platform = {
  validateUrl: 'https://api.example.com/api/runtime/internal/relay/validate',
  internalKeySecretRef: { name: 'viewport-platform', key: 'internal-key' },
};
const relay = (spec: Record<string, unknown>, name = 'relay') => ({
  apiVersion: 'relay.getviewport.com/v1alpha1',
  kind: 'ViewportRelay',
  metadata: { name, namespace: 'viewport' },
  spec: { platform, ...spec },
});
const redis = { mode: 'redis', redis: { managed: {} } };
const exposure = { host: 'relay.example.com', ingress: {} };

describe('parseRelay accepts valid specs', () => {
  it.each([
    ['minimal', {}],
    ['managed redis + autoscaling', { backplane: redis, autoscaling: { minReplicas: 2, maxReplicas: 5, targetCPUUtilizationPercentage: 70 } }],
    ['pinned', { backplane: redis, routing: { mode: 'pinned', podHostPattern: '{pod}.relay.example.com' }, exposure }],
    ['server + mtls', { backplane: { mode: 'server' }, replicas: 2, platform: { ...platform, authMode: 'mtls', mtlsSecretName: 'c' } }],
    ['peer links on another port', { backplane: { ...redis, peerLinks: { port: 9000 } }, replicas: 2 }],
    ['peer links off', { backplane: { ...redis, peerLinks: { enabled: false } }, replicas: 2 }],
    ['gateway', { exposure: { host: 'r.example.com', tls: { secretName: 't' }, httpRoute: { parentRefs: [{ name: 'gw' }] } } }],
    [
      'quantities, images and scheduling in their usual forms',
      {
        image: 'registry.example.com:5000/team/viewport-relay:1.2.3-rc.1@sha256:' + 'a'.repeat(64),
        resources: { requests: { cpu: '250m', memory: '256Mi', 'ephemeral-storage': 1 }, limits: { cpu: 2, memory: '1.5Gi' } },
        podDisruptionBudget: { maxUnavailable: '25%' },
        pod: {
          tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'relay', effect: 'NoSchedule' }, { operator: 'Exists' }],
          affinity: {
            nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, preference: { matchExpressions: [{ key: 'pool', operator: 'In', values: ['edge'] }] } }] },
            podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'x' } } }] },
          },
          priorityClassName: 'viewport-critical',
        },
      },
    ],
    ['a short image name', { image: 'relay' }],
    ['a localhost registry image', { image: 'localhost:5000/relay:dev' }],
  ])('%s', (_name, spec) => {
    const res = parseRelay(relay(spec));
    expect(res.ok ? 'ok' : res.problems).toBe('ok');
  });
});

// Each row breaks exactly one rule; the problem must name the field and say why.
const ruleCases: [string, Record<string, unknown>, string][] = [
  ['replicasWithAutoscaling', { backplane: redis, replicas: 3, autoscaling: { minReplicas: 1, maxReplicas: 3, targetCPUUtilizationPercentage: 50 } }, 'replicas'],
  ['redisConfig', { backplane: { mode: 'redis' } }, 'backplane'],
  ['redisConfig', { backplane: { mode: 'redis', redis: { managed: {}, external: { urlSecretRef: { name: 'r', key: 'u' } } } } }, 'backplane'],
  ['redisOnlyInRedisMode', { backplane: { mode: 'server', redis: { managed: {} } } }, 'backplane.redis'],
  ['serverOnlyInServerMode', { backplane: { mode: 'single', server: {} } }, 'backplane.server'],
  ['peerLinksOnlyInRedisMode', { backplane: { mode: 'server', peerLinks: { enabled: true } } }, 'backplane.peerLinks'],
  ['peerLinksOnlyInRedisMode', { backplane: { mode: 'single', peerLinks: { enabled: false } } }, 'backplane.peerLinks'],
  ['peerLinkPortFree', { backplane: { ...redis, peerLinks: { port: 7781 } } }, 'backplane.peerLinks.port'],
  ['multiReplicaNeedsBackplane', { replicas: 2 }, 'backplane'],
  ['redirectNeedsBackplane', { clientRedirect: { enabled: true } }, 'clientRedirect'],
  ['tlsNeedsHost', { exposure: { tls: { secretName: 't' } } }, 'exposure.tls'],
  ['tlsSource', { exposure: { host: 'r.example.com', tls: {} } }, 'exposure.tls'],
  ['oneExposure', { exposure: { host: 'r.example.com', ingress: {}, httpRoute: { parentRefs: [{ name: 'gw' }] } } }, 'exposure'],
  ['exposureNeedsHost', { exposure: { ingress: {} } }, 'exposure.host'],
  ['pinnedNeedsHostPattern', { backplane: redis, routing: { mode: 'pinned' }, exposure }, 'routing.podHostPattern'],
  ['hostPatternHasPod', { routing: { mode: 'shared', podHostPattern: 'relay.example.com' } }, 'routing.podHostPattern'],
  ['pinnedNeedsExposure', { backplane: redis, routing: { mode: 'pinned', podHostPattern: '{pod}.r.example.com' } }, 'routing'],
  ['pinnedNeedsBackplane', { routing: { mode: 'pinned', podHostPattern: '{pod}.r.example.com' }, exposure }, 'routing'],
  ['autoscalingBounds', { backplane: redis, autoscaling: { minReplicas: 5, maxReplicas: 2, targetCPUUtilizationPercentage: 50 } }, 'autoscaling'],
  ['autoscalingMetric', { backplane: redis, autoscaling: { minReplicas: 1, maxReplicas: 2 } }, 'autoscaling'],
  ['pdbOneOf', { podDisruptionBudget: { minAvailable: 1, maxUnavailable: 1 } }, 'podDisruptionBudget'],
  ['mtlsNeedsSecret', { platform: { ...platform, authMode: 'mtls' } }, 'platform.mtlsSecretName'],
  ['serviceMonitorNeedsAdmin', { admin: { enabled: false }, serviceMonitor: { enabled: true } }, 'serviceMonitor'],
  ['reservedEnv', { pod: { env: [{ name: 'RELAY_INTERNAL_KEY', value: 'x' }] } }, 'pod.env'],
  ['reservedEnv', { pod: { env: [{ name: 'RELAY_PEER_LINK_HOST', value: '10.0.0.1' }] } }, 'pod.env'],
  ['reservedEnv', { pod: { env: [{ name: 'RELAY_PEER_LINK_PORT', value: '0' }] } }, 'pod.env'],
];

describe('parseRelay rejects cross-field contradictions', () => {
  it.each(ruleCases)('%s', (id, spec, field) => {
    const rule = SPEC_RULES.find((r) => r.id === id)!;
    const res = parseRelay(relay(spec));
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect(res.problems).toContainEqual({ path: `spec.${field}`, message: rule.message });
  });

  it('covers every rule in SPEC_RULES', () => {
    expect(new Set(ruleCases.map(([id]) => id))).toEqual(new Set(SPEC_RULES.map((r) => r.id)));
  });
});

describe('parseRelay rejects malformed shapes', () => {
  it.each([
    ['missing platform', { platform: undefined }, 'spec.platform'],
    ['non-http validate URL', { platform: { ...platform, validateUrl: 'ftp://x.example.com' } }, 'spec.platform.validateUrl'],
    ['unknown field', { replicaz: 2 }, 'spec'],
    ['negative replicas', { replicas: -1 }, 'spec.replicas'],
    ['bad backplane mode', { backplane: { mode: 'kafka' } }, 'spec.backplane.mode'],
    ['upper-case host', { exposure: { host: 'Relay.Example.com' } }, 'spec.exposure.host'],
    ['bad secret name', { platform: { ...platform, internalKeySecretRef: { name: 'Bad_Name', key: 'k' } } }, 'spec.platform.internalKeySecretRef.name'],
    ['bad env name', { pod: { env: [{ name: '1X' }] } }, 'spec.pod.env.0.name'],
    ['privileged peer-link port', { backplane: { ...redis, peerLinks: { port: 80 } } }, 'spec.backplane.peerLinks.port'],
    ['peer-link port past 65535', { backplane: { ...redis, peerLinks: { port: 65536 } } }, 'spec.backplane.peerLinks.port'],
    ['fractional peer-link port', { backplane: { ...redis, peerLinks: { port: 8091.5 } } }, 'spec.backplane.peerLinks.port'],
    ['peer-link port as a string', { backplane: { ...redis, peerLinks: { port: '8091' } } }, 'spec.backplane.peerLinks.port'],
    ['unknown peerLinks field', { backplane: { ...redis, peerLinks: { host: '10.0.0.1' } } }, 'spec.backplane.peerLinks'],
    ['cpu: banana', { resources: { limits: { cpu: 'banana' } } }, 'spec.resources.limits.cpu'],
    ['negative memory', { resources: { requests: { memory: '-1Gi' } } }, 'spec.resources.requests.memory'],
    ['bad managed Redis quantity', { backplane: { mode: 'redis', redis: { managed: { resources: { limits: { memory: '1 GB' } } } } } }, 'spec.backplane.redis.managed.resources.limits.memory'],
    ['image with upper-case path', { image: 'ghcr.io/Viewport/Relay:1' }, 'spec.image'],
    ['image with a space', { image: 'relay :1' }, 'spec.image'],
    ['image with an empty tag', { image: 'relay:' }, 'spec.image'],
    ['percentage PDB as garbage', { podDisruptionBudget: { maxUnavailable: 'half' } }, 'spec.podDisruptionBudget.maxUnavailable'],
    ['toleration with a bad effect', { pod: { tolerations: [{ key: 'k', operator: 'Exists', effect: 'Sometimes' }] } }, 'spec.pod.tolerations.0.effect'],
    ['toleration with an unknown field', { pod: { tolerations: [{ key: 'k', opertor: 'Exists' }] } }, 'spec.pod.tolerations.0'],
    ['affinity without a topology key', { pod: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: {} }] } } } }, 'spec.pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution.0.topologyKey'],
    ['node affinity with a bad operator', { pod: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'k', operator: 'Like' }] }] } } } } }, 'spec.pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.0.matchExpressions.0.operator'],
  ])('%s', (_name, spec, path) => {
    const res = parseRelay(relay(spec));
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.problems.map((p) => p.path)).toContain(path);
  });

  it('rejects names that leave no room for child suffixes', () => {
    const res = parseRelay(relay({}, 'a'.repeat(41)));
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.problems[0]!.path).toBe('metadata.name');
  });

  it.each([
    ['null', null],
    ['wrong kind', { ...relay({}), kind: 'Deployment' }],
    ['wrong version', { ...relay({}), apiVersion: 'relay.getviewport.com/v1' }],
  ])('rejects %s', (_name, input) => {
    expect(parseRelay(input).ok).toBe(false);
  });
});
