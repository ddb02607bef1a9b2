// ExternalSecret `dataFrom[].find.name.regexp` is tenant input that ESO compiles with Go's regexp
// package (RE2 syntax, matched unanchored with MatchString). JavaScript's backtracking RegExp would
// both reject valid RE2 (`(?i)`, `\pL`, `(?P<n>...)`) and take exponential time on patterns such
// as `^(([\w-])+)+[^\w-]$`, stalling every event; RE2 matches in time linear in the name.
import { RE2JS } from 're2js';

/** A compiled find.name.regexp: `test` is true when the pattern matches anywhere in the name. */
export interface NameMatcher {
  readonly source: string;
  test(name: string): boolean;
}

/** Throws (RE2's own description, e.g. "error parsing regexp: missing closing )") on invalid RE2. */
export function compileNameRegexp(source: string): NameMatcher {
  const compiled = RE2JS.compile(source);
  return { source, test: (name) => compiled.test(name) };
}
