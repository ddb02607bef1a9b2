// The same object in two files (a base and an overlay rendered side by side, a copy left behind):
// planned once, from the first file, with a note that names both files. Identity is what the API
// server's is: API group, kind, namespace (namespace-less objects are in "default", as kubectl
// applies them) and name.
import type { KubeObject } from '../core/kube';
import { describeObject } from '../core/kube';
import { isClusterScoped } from './namespace';

function identity(o: KubeObject): string | undefined {
  const name = o.metadata?.name;
  if (!name) return undefined; // generateName: every copy is a new object
  const group = (o.apiVersion ?? '').includes('/') ? (o.apiVersion ?? '').split('/')[0] : '';
  const ns = isClusterScoped(o) ? '' : (o.metadata?.namespace ?? 'default');
  return `${group}|${o.kind ?? ''}|${ns}|${name}`;
}

export function dedupeObjects(objects: readonly KubeObject[], note: (message: string) => void): KubeObject[] {
  const first = new Map<string, KubeObject>();
  const out: KubeObject[] = [];
  for (const o of objects) {
    const key = identity(o);
    const seen = key === undefined ? undefined : first.get(key);
    if (key === undefined || !seen) {
      if (key !== undefined) first.set(key, o);
      out.push(o);
      continue;
    }
    const same = JSON.stringify(seen) === JSON.stringify(o);
    note(
      `${describeObject(o)} is defined in ${seen.__source ?? '?'} and in ${o.__source ?? '?'}: planned once, from the first${same ? '' : ' (the two copies differ)'}`,
    );
  }
  return out;
}
