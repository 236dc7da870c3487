import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../object.js';
import { quantityValue } from '../desired/quantity.js';
import { covers, drifted, repairOps } from './drift.js';

const service = (ports: Record<string, unknown>[], annotations: Record<string, string> = { 'relay.getviewport.com/spec-hash': 'h' }): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'relay', namespace: 'viewport', annotations, resourceVersion: '7' },
  spec: { type: 'ClusterIP', ports },
});
const ws = { name: 'ws', port: 7781, targetPort: 'ws', protocol: 'TCP' };

describe('covers', () => {
  it.each([
    ['fields others add are not drift', { a: 1, b: { c: 2, d: 3 } }, { b: { c: 2 } }, true],
    ['a changed value is drift', { a: 1 }, { a: 2 }, false],
    ['a removed field is drift', {}, { a: 1 }, false],
    ['an empty object matches a missing field', {}, { a: {} }, true],
    ['a zero value the API server does not store matches a missing field', {}, { publishNotReadyAddresses: false, n: 0 }, true],
    ['quantities compare by value', { cpu: '1', memory: '1Gi', n: '1k' }, { cpu: '1000m', memory: '1024Mi', n: '1000' }, true],
    ['scalar lists are owned whole', { args: ['--save', '', '--appendonly', 'no', '--extra'] }, { args: ['--save', '', '--appendonly', 'no'] }, false],
    ['object lists match in order, extra items allowed', { l: [{ n: 1, x: 1 }, { n: 9 }, { n: 2 }] }, { l: [{ n: 1 }, { n: 2 }] }, true],
    ['an object list item changed is drift', { l: [{ n: 1 }, { n: 3 }] }, { l: [{ n: 1 }, { n: 2 }] }, false],
  ])('%s', (_name, got, want, ok) => {
    expect(covers(got, want)).toBe(ok);
  });

  it('parses quantities the API server writes', () => {
    expect(quantityValue('500m')).toBe(0.5);
    expect(quantityValue('2Ki')).toBe(2048);
    expect(quantityValue('1e3')).toBe(1000);
    expect(quantityValue('banana')).toBeUndefined();
  });
});

describe('drifted and repairOps', () => {
  it('an edited annotation and a patched port are drift; the API server defaults are not', () => {
    const desired = service([ws], { 'relay.getviewport.com/spec-hash': 'h', 'nginx.org/websocket-services': 'relay' });
    const live = service([{ ...ws, nodePort: undefined }], { 'relay.getviewport.com/spec-hash': 'h', 'nginx.org/websocket-services': 'relay', other: 'x' });
    (live.spec as Record<string, unknown>).clusterIP = '10.96.0.7';
    expect(drifted(desired, live)).toBe(false);
    expect(drifted(desired, { ...live, metadata: { ...live.metadata, annotations: { 'relay.getviewport.com/spec-hash': 'h', 'nginx.org/websocket-services': 'evil' } } })).toBe(true);
    expect(drifted(desired, service([{ ...ws, port: 7782 }], desired.metadata.annotations))).toBe(true);
  });

  it('puts a patched port list back wholesale, guarded by the resourceVersion', () => {
    const desired = service([ws]);
    const live = service([{ ...ws, port: 7782 }]);
    expect(repairOps(desired, live)).toEqual([
      { op: 'test', path: '/metadata/resourceVersion', value: '7' },
      { op: 'replace', path: '/spec/ports', value: [ws] },
    ]);
    expect(repairOps(desired, service([ws]))).toBeUndefined();
  });
});
