import { describe, expect, it } from 'vitest';
import { authorizeWorkerPath, decodeWorkerPath } from './path.js';

const WS = 'ws_1';
const EX = 'exec-A';
const PREFIX = `/api/runtime/workspaces/${WS}/managed-executors/${EX}`;

describe('authorizeWorkerPath', () => {
  it.each([
    ['the prefix itself', PREFIX],
    ['a path below the prefix', `${PREFIX}/claim`],
    ['a deeper path', `${PREFIX}/runs/run-1/events`],
    ['a trailing slash', `${PREFIX}/runs/`],
    ['the prefix with a trailing slash', `${PREFIX}/`],
    ['unreserved characters spelled as escapes', `/api/runtime/workspaces/ws%5F1/managed-executors/exec%2DA/claim`],
    ['lower-case hex escapes', `/api/runtime/workspaces/ws%5f1/managed-executors/${EX}/claim`],
    ['sub-delims and colons in a later segment', `${PREFIX}/runs/a:b@c!$&'()*+,;=`],
    ['a parameter after an ordinary name', `${PREFIX}/runs;v=2`],
    ['three dots before a parameter (not a dot segment)', `${PREFIX}/files/...;x`],
    ['an encoded space in a later segment', `${PREFIX}/files/a%20b`],
    ['a dot inside a segment', `${PREFIX}/files/v1.2`],
    ['three dots (not a dot segment)', `${PREFIX}/files/...`],
  ])('allows %s', (_name, path) => {
    expect(authorizeWorkerPath(path, WS, EX)).toEqual({ ok: true, path });
  });

  it.each([
    ['a parent segment escaping to another executor (docs/protocol.md#weak-worker-path)', `${PREFIX}/../exec-B/claim`],
    ['a parent segment at the end', `${PREFIX}/..`],
    ['a current-directory segment', `${PREFIX}/./claim`],
    ['a trailing current-directory segment', `${PREFIX}/.`],
    ['climbing out of the API entirely', `${PREFIX}/../../../../../internal/relay/validate`],
    ['an encoded parent segment %2e%2e', `${PREFIX}/%2e%2e/exec-B`],
    ['an upper-case encoded parent segment %2E%2E', `${PREFIX}/%2E%2E/exec-B`],
    ['a mixed parent segment %2E.', `${PREFIX}/%2E./exec-B`],
    ['a mixed parent segment .%2e', `${PREFIX}/.%2e/exec-B`],
    ['an encoded current-directory segment', `${PREFIX}/%2e/claim`],
    ['a double-encoded parent segment', `${PREFIX}/%252e%252e/exec-B`],
    ['an empty segment (//)', `${PREFIX}//claim`],
    // Issue 22, item 11: Tomcat/Spring strip a `;` parameter, then resolve the dot segment it hid.
    ['a parent segment with an empty parameter (..;)', `${PREFIX}/..;/exec-B/claim`],
    ['a parent segment with a parameter (..;x=1)', `${PREFIX}/..;x=1/exec-B`],
    ['a current-directory segment with a parameter (.;)', `${PREFIX}/.;/claim`],
    ['an encoded parent segment with a parameter (%2e%2e;)', `${PREFIX}/%2e%2e;/exec-B`],
    ['a parent segment with an encoded semicolon (..%3B)', `${PREFIX}/..%3B/exec-B`],
    ['a segment that is only a parameter (;x, read as //)', `${PREFIX}/;x/claim`],
    ['a protocol-relative form', `//evil.test${PREFIX}`],
    ['a query string', `${PREFIX}/claim?x=1`],
    ['a fragment', `${PREFIX}/claim#frag`],
    ['an encoded query mark', `${PREFIX}/claim%3Fx=1`],
    ['an encoded hash', `${PREFIX}/claim%23x`],
    ['a backslash', `${PREFIX}\\..\\exec-B`],
    ['an encoded backslash', `${PREFIX}/..%5Cexec-B`],
    ['an encoded slash', `${PREFIX}%2F..%2Fexec-B`],
    ['a lower-case encoded slash', `${PREFIX}/a%2fb`],
    ['a NUL byte', `${PREFIX}/claim\u0000`],
    ['an encoded NUL', `${PREFIX}/claim%00`],
    ['a newline', `${PREFIX}/claim\n`],
    ['an encoded CR LF', `${PREFIX}/claim%0D%0AHost:%20evil`],
    ['a DEL character', `${PREFIX}/claim\u007f`],
    ['a tab', `${PREFIX}/cl\taim`],
    ['a raw space', `${PREFIX}/a b`],
    ['a raw non-ASCII character', `${PREFIX}/café`],
    ['a full-width dot pair', `${PREFIX}/\uff0e\uff0e/exec-B`],
    // Decoded segments must be printable ASCII: platform ids are ASCII, and it
    // rules out look-alike dots that a Unicode-normalising server might fold.
    ['encoded UTF-8', `${PREFIX}/files/caf%C3%A9`],
    ['an encoded full-width dot pair', `${PREFIX}/%EF%BC%8E%EF%BC%8E/exec-B`],
    ['a truncated escape', `${PREFIX}/claim%2`],
    ['a non-hex escape', `${PREFIX}/claim%zz`],
    ['an escape that is not UTF-8', `${PREFIX}/claim%C0%AE`],
    ['a relative path', PREFIX.slice(1)],
    ['an absolute URL', `http://evil.test${PREFIX}`],
    ['an empty path', ''],
    ['an over-long path', `${PREFIX}/${'a'.repeat(9000)}`],
  ])('refuses %s as PATH_INVALID', (_name, path) => {
    expect(authorizeWorkerPath(path, WS, EX)).toEqual({ ok: false, reason: 'PATH_INVALID' });
  });

  it.each([
    ['another executor', `/api/runtime/workspaces/${WS}/managed-executors/exec-B/claim`],
    ['an executor id that extends ours (prefix without slash)', `/api/runtime/workspaces/${WS}/managed-executors/${EX}-evil/claim`],
    ['an executor id that extends ours, no suffix path', `/api/runtime/workspaces/${WS}/managed-executors/${EX}evil`],
    ['another workspace', `/api/runtime/workspaces/ws_2/managed-executors/${EX}/claim`],
    ['a workspace id that extends ours', `/api/runtime/workspaces/${WS}x/managed-executors/${EX}`],
    ['the workspace itself, outside managed-executors', `/api/runtime/workspaces/${WS}/runtime-targets`],
    ['the managed-executors list', `/api/runtime/workspaces/${WS}/managed-executors`],
    ['a different collection name', `/api/runtime/workspaces/${WS}/managed-executorz/${EX}`],
    ['an executor id differing only in case', `/api/runtime/workspaces/${WS}/managed-executors/EXEC-A`],
    ['an escaped executor id of someone else', `/api/runtime/workspaces/${WS}/managed-executors/exec%2DB`],
    ['a different API root', `/api/other/workspaces/${WS}/managed-executors/${EX}`],
  ])('refuses %s as PATH_DENIED', (_name, path) => {
    expect(authorizeWorkerPath(path, WS, EX)).toEqual({ ok: false, reason: 'PATH_DENIED' });
  });

  it.each([
    ['no managedExecutorId claim', undefined],
    ['an empty managedExecutorId claim', ''],
  ])('refuses every path with %s', (_name, executor) => {
    expect(authorizeWorkerPath(`${PREFIX}/claim`, WS, executor)).toEqual({ ok: false, reason: 'PATH_DENIED' });
  });

  it.each([
    ['a workspace id with a colon, escaped as encodeURIComponent does', 'org:ws', 'ex', '/api/runtime/workspaces/org%3Aws/managed-executors/ex/x'],
    ['a workspace id with a colon, written literally', 'org:ws', 'ex', '/api/runtime/workspaces/org:ws/managed-executors/ex/x'],
    ['an executor id with a space, escaped', WS, 'exec A', `/api/runtime/workspaces/${WS}/managed-executors/exec%20A`],
    ['an executor id with an @, escaped', WS, 'a@b', `/api/runtime/workspaces/${WS}/managed-executors/a%40b/claim`],
  ])('matches ids the way the encoded prefix of the reference relay does: %s', (_name, ws, executor, path) => {
    expect(authorizeWorkerPath(path, ws, executor)).toEqual({ ok: true, path });
  });

  it('fails closed for an executor id containing a slash, which no path can name unambiguously', () => {
    const path = `/api/runtime/workspaces/${WS}/managed-executors/${encodeURIComponent('a/b')}`;
    expect(authorizeWorkerPath(path, WS, 'a/b').ok).toBe(false);
  });
});

describe('decodeWorkerPath', () => {
  it.each([
    ['plain segments', '/a/b/c', ['a', 'b', 'c']],
    ['escapes decoded', '/a%41/b%20c', ['aA', 'b c']],
    ['a trailing slash dropped', '/a/b/', ['a', 'b']],
  ])('decodes %s', (_name, path, segments) => {
    expect(decodeWorkerPath(path)).toEqual(segments);
  });

  it.each([['root only', '/'], ['double slash at start', '//a']])('refuses %s', (_name, path) => {
    expect(decodeWorkerPath(path)).toBeNull();
  });
});
