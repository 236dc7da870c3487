import type { V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { readyBackends, type EndpointPod } from './service-proxy.js';

const service = (targetPort: number | string): V1Service => ({
  metadata: { name: 's', namespace: 'ns' },
  spec: { selector: { app: 'relay' }, ports: [{ name: 'ws', port: 80, targetPort: targetPort as never }] },
});
const pod = (ip: string, o: Partial<EndpointPod> = {}): EndpointPod => ({
  ip,
  labels: { app: 'relay' },
  ready: true,
  containerPorts: [{ name: 'ws', containerPort: 7781 }],
  ...o,
});

describe('readyBackends', () => {
  it('selects ready matching pods, resolves a named target port, sorts by address', () => {
    const pods = [pod('127.0.5.10'), pod('127.0.5.9'), pod('127.0.5.11', { ready: false }), pod('127.0.5.12', { labels: { app: 'x' } })];
    expect(readyBackends(service('ws'), 'ws', pods)).toEqual([
      { address: '127.0.5.9', port: 7781 },
      { address: '127.0.5.10', port: 7781 },
    ]);
  });

  it.each([
    ['numeric target port', service(9000), 'ws', 1],
    ['unknown port name', service('ws'), 'other', 0],
    ['named port the pod lacks', service('admin'), 'ws', 0],
  ])('%s', (_name, svc, portName, count) => {
    expect(readyBackends(svc, portName, [pod('127.0.5.9')])).toHaveLength(count);
  });

  it('a Service without a selector has no backends', () => {
    expect(readyBackends({ spec: { ports: [{ name: 'ws', port: 80 }] } }, 'ws', [pod('127.0.5.9')])).toEqual([]);
  });
});
