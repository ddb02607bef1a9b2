// Label selectors as kubectl's -l takes them (equality- and set-based): `app=api`, `tier!=cache`,
// `env in (prod,qa)`, `env notin (dev)`, `canary`, `!canary`, comma-separated, all must hold.
// Parsed here so that a bad selector is exit 2 before any request, and matched here for offline
// plans; live, the same string goes to the API server as labelSelector.
import { InputError } from '../errors';

export type Requirement =
  | { readonly op: 'exists' | 'absent'; readonly key: string }
  | { readonly op: 'in' | 'notin'; readonly key: string; readonly values: readonly string[] };

const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Splits on commas outside parentheses. */
function splitTop(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')') depth--;
    else if (s[i] === ',' && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts.map((p) => p.trim());
}

export function parseSelector(raw: string): Requirement[] {
  const bad = (part: string, why: string): never => {
    throw new InputError(`--selector "${raw}": "${part}" ${why}`);
  };
  const key = (part: string, k: string): string =>
    KEY.test(k) ? k : bad(part, `has an invalid label key "${k}"`);
  const value = (part: string, v: string): string =>
    VALUE.test(v) ? v : bad(part, `has an invalid label value "${v}"`);
  if (raw.trim() === '') throw new InputError('--selector is empty');
  return splitTop(raw).map((part): Requirement => {
    if (part === '') return bad(part, 'is empty (a stray comma?)');
    let m = /^!\s*(\S+)$/.exec(part);
    if (m) return { op: 'absent', key: key(part, m[1] ?? '') };
    m = /^(\S+?)\s+(in|notin)\s*\((.*)\)$/.exec(part);
    if (m) {
      const values = (m[3] ?? '').split(',').map((v) => value(part, v.trim()));
      return { op: m[2] === 'in' ? 'in' : 'notin', key: key(part, m[1] ?? ''), values };
    }
    m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
    if (m)
      return {
        op: m[2] === '!=' ? 'notin' : 'in',
        key: key(part, m[1] ?? ''),
        values: [value(part, m[3] ?? '')],
      };
    if (/^[^\s=!()]+$/.test(part)) return { op: 'exists', key: key(part, part) };
    return bad(part, 'is not KEY, !KEY, KEY=V, KEY!=V, KEY in (V,...) or KEY notin (V,...)');
  });
}

/** Whether labels satisfy every requirement (as the API server decides: notin/!= hold for an absent key). */
export function matchesSelector(
  requirements: readonly Requirement[],
  labels: Readonly<Record<string, unknown>>,
): boolean {
  return requirements.every((r) => {
    const v = labels[r.key];
    const has = typeof v === 'string';
    switch (r.op) {
      case 'exists':
        return has;
      case 'absent':
        return !has;
      case 'in':
        return has && r.values.includes(v);
      case 'notin':
        return !has || !r.values.includes(v);
    }
  });
}
