// rotor.dev/reload-endpoint is tenant input that reaches a request made with Rotor's cluster-wide
// pods/proxy permission: every way of climbing out of the pod's proxy path is rejected, with why.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseReloadEndpoint } from '../../functions/core/reloadEndpoint';

const valid = (raw: string, port: string, path: string): void => {
  assert.deepEqual(parseReloadEndpoint(raw), { kind: 'valid', endpoint: { port, path } }, raw);
};
const rejected = (raw: string, reason: RegExp): void => {
  const r = parseReloadEndpoint(raw);
  assert.equal(r.kind, 'rejected', `${JSON.stringify(raw)} was accepted`);
  if (r.kind === 'rejected') assert.match(r.reason, reason, JSON.stringify(raw));
};

describe('parseReloadEndpoint: accepted', () => {
  it('PORT/PATH with a port number', () => {
    valid('8080/-/reload', '8080', '/-/reload');
    valid('1/x', '1', '/x');
    valid('65535/x', '65535', '/x');
  });
  it('a container port name (IANA service name syntax)', () => {
    valid('http/admin/reload', 'http', '/admin/reload');
    valid('http-alt/r', 'http-alt', '/r');
    valid('a1/r', 'a1', '/r');
    valid('80a/r', '80a', '/r');
    valid('abcdefghijklmno/r', 'abcdefghijklmno', '/r');
  });
  it('a port alone, or with a lone slash, is the root path', () => {
    valid('9090', '9090', '/');
    valid('9090/', '9090', '/');
  });
  it('surrounding whitespace is ignored', () => {
    valid('  metrics/admin/reload\n', 'metrics', '/admin/reload');
  });
  it('every RFC 3986 unreserved character in a segment, and dots that are not a dot segment', () => {
    valid('8080/AZaz09-._~/x', '8080', '/AZaz09-._~/x');
    valid('8080/.well-known/reload', '8080', '/.well-known/reload');
    valid('8080/.../v1.2', '8080', '/.../v1.2');
  });
});

describe('parseReloadEndpoint: rejected', () => {
  it('nothing, or no port', () => {
    rejected('', /^it is empty$/);
    rejected('   ', /^it is empty$/);
    rejected('/reload', /^no port before the path; expected PORT or PORT\/PATH$/);
  });
  it('port numbers outside 1-65535 or with a leading zero', () => {
    rejected('0/x', /port 0 is outside 1-65535/);
    rejected('65536/x', /port 65536 is outside 1-65535/);
    rejected('99999999/x', /port 99999999 is outside 1-65535/);
    rejected('08080/x', /port "08080" has a leading zero/);
  });
  it('port names Kubernetes would not accept', () => {
    rejected('Http/x', /port "Http" is neither .* \(a name has only a-z, 0-9 and "-"\)/);
    rejected('a-very-long-port-name/x', /at most 15 characters/);
    rejected('http_x/x', /only a-z, 0-9 and "-"/);
    rejected('-http/x', /does not start or end with "-" or contain "--"/);
    rejected('http-/x', /does not start or end with "-" or contain "--"/);
    rejected('ht--tp/x', /does not start or end with "-" or contain "--"/);
    rejected('12-34/x', /at least one letter/);
    rejected('ht tp/x', /only a-z, 0-9 and "-"/);
  });
  it('a URL instead of PORT/PATH', () => {
    rejected('http://pod:8080/reload', /port "http:" is neither/);
    rejected('8080:9153/x', /port "8080:9153" is neither/);
  });
  it('the review finding: dot segments climbing to another pod and port', () => {
    rejected(
      '8080/../../../../kube-system/pods/coredns-abc:9153/proxy/admin/shutdown',
      /^the path has a "\.\." segment$/,
    );
    rejected('8080/..', /^the path has a "\.\." segment$/);
    rejected('8080/a/../b', /^the path has a "\.\." segment$/);
    rejected('8080/./reload', /^the path has a "\." segment$/);
    rejected('8080/reload/.', /^the path has a "\." segment$/);
  });
  it('percent-encoding in any form (%2e%2e is a dot segment to URL parsers)', () => {
    for (const raw of [
      '8080/%2e%2e/x',
      '8080/%2E%2E/x',
      '8080/.%2e/x',
      '8080/%2e./x',
      '8080/a%2fb',
      '8080/%41',
    ])
      rejected(raw, /^the path contains "%" \(percent-encoding is not allowed\)$/);
  });
  it('backslashes (URL parsing turns them into slashes)', () => {
    rejected('8080/..\\..\\kube-system', /^the path contains "\\" \(URL parsing turns it into "\/"\)$/);
    rejected('8080/a\\b', /^the path contains "\\" \(URL parsing turns it into "\/"\)$/);
    // Quoted as tenant text: the backslash itself is escaped, so no escape can be forged.
    rejected('8080\\reload', /port "8080\\\\reload" is neither/);
  });
  it('query strings and fragments', () => {
    rejected('8080/reload?x=1', /^the path contains "\?" \(a query string is not allowed\)$/);
    rejected('8080/?x', /a query string is not allowed/);
    rejected('metrics/admin/reload?x=1', /a query string is not allowed/);
    rejected('8080/reload#frag', /^the path contains "#" \(a fragment is not allowed\)$/);
    rejected('8080/reload?a#b', /query string/);
  });
  it('empty segments', () => {
    rejected('8080//reload', /^the path has an empty segment/);
    rejected('8080/reload/', /^the path has an empty segment/);
    rejected('8080/a//b', /^the path has an empty segment/);
    rejected('8080//', /^the path has an empty segment/);
  });
  it('characters outside the unreserved set', () => {
    for (const raw of [
      '8080/a:b',
      '8080/a@b',
      '8080/a;b',
      '8080/a=b',
      '8080/a+b',
      '8080/a b',
      '8080/a\tb',
      '8080/a\nb',
      '8080/a\u0000b',
      '8080/é',
      '8080/ｒeload',
      '8080/a"b',
      '8080/a<b',
    ])
      rejected(raw, /^path segment ".*" has characters other than A-Z a-z 0-9 - \. _ ~$/);
  });
  it('overlong values', () => {
    rejected(`8080/${'a'.repeat(300)}`, /^it is longer than 256 characters$/);
  });
});
