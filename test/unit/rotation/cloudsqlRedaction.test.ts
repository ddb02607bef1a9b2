// The Cloud SQL users.update request carries the new password; an error that echoes the request
// must not carry any of it, whatever the custom alphabet holds (issue 18: `"` and `\` left the
// tail of the password visible after the old `"password":"[^"]*"` redaction).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactRequestEcho } from '../../../functions/rotation/strategies/cloudsql';

/** Every run of 3 characters of `password`, raw and JSON-escaped: none may remain. */
function assertNoPartOf(password: string, text: string): void {
  for (const form of [password, JSON.stringify(password).slice(1, -1)])
    for (let i = 0; i + 3 <= form.length; i++)
      assert.ok(
        !text.includes(form.slice(i, i + 3)),
        `"${form.slice(i, i + 3)}" of the password in: ${text}`,
      );
}

const URL = 'https://sqladmin.googleapis.com/v1/projects/p/instances/main/users';

describe('Cloud SQL: an echoed request never shows the password', () => {
  for (const [what, password] of [
    ['a double quote', 'Qx"Zk9Wv"Jp'],
    ['a backslash', 'Ab\\Cd7\\Ef'],
    ['a backslash before a quote', 'Mn\\"Op4"\\Rs'],
  ] as const) {
    it(`a password with ${what}, in the JSON body of a network error`, () => {
      const request = { name: 'app', password };
      const message = `Cloud SQL p:main users.update: HTTP error: request to ${URL} failed, body ${JSON.stringify(request)}: socket hang up`;
      const out = redactRequestEcho(message, request);
      assert.equal(
        out,
        `Cloud SQL p:main users.update: HTTP error: request to ${URL} failed, body {"name":"app","password":"[redacted]"}: socket hang up`,
      );
      assertNoPartOf(password, out);
    });
  }

  it('a body cut inside the password: redacted through the end', () => {
    const password = 'Qx"Zk9Wv"Jp';
    const cut = `request to ${URL} failed, body {"name":"app","password":"Qx\\"Zk9W`;
    const out = redactRequestEcho(cut, { name: 'app', password });
    assert.equal(out, `request to ${URL} failed, body {"name":"app","password":"[redacted]"`);
    assertNoPartOf(password, out);
  });

  it("the API's own message quoting the password, raw or escaped", () => {
    const password = 'Ab\\Cd7"Ef';
    const request = { name: 'app', password };
    const raw = redactRequestEcho(`users.update: HTTP 400: password Ab\\Cd7"Ef is too weak`, request);
    assert.equal(raw, 'users.update: HTTP 400: password [redacted] is too weak');
    const escaped = redactRequestEcho(`users.update: HTTP 400: bad value "Ab\\\\Cd7\\"Ef"`, request);
    assert.equal(escaped, 'users.update: HTTP 400: bad value "[redacted]"');
    assertNoPartOf(password, raw + escaped);
  });

  it('a message without the password is left as it is', () => {
    const message = 'users.update: HTTP 409: operation in progress';
    assert.equal(redactRequestEcho(message, { name: 'app', password: 'Qx"Zk9Wv"Jp' }), message);
    assert.equal(redactRequestEcho(message, undefined), message);
  });
});
