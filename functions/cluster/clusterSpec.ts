// The clusters Rotor is configured with (ROTOR_CLUSTERS, --cluster), parsed. Kept apart from
// access.ts, which connects to them: config.ts reads the list, and everything that reads config.ts
// (the offline `rotor plan` too) would otherwise load the Kubernetes and Google client libraries
// (~870 modules, most of a plan's start-up) without ever connecting to anything.
import { InputError } from '../errors';

export type ClusterSpec =
  | {
      readonly kind: 'gke';
      readonly raw: string;
      readonly project: string;
      readonly location: string;
      readonly name: string;
    }
  | {
      readonly kind: 'membership';
      readonly raw: string;
      readonly project: string;
      readonly location: string;
      readonly name: string;
    }
  | { readonly kind: 'kubeconfig'; readonly raw: string; readonly path: string; readonly context?: string };

export function parseClusterSpec(raw: string): ClusterSpec {
  const s = raw.trim();
  if (s.startsWith('kubeconfig:')) {
    const rest = s.slice('kubeconfig:'.length);
    const hash = rest.lastIndexOf('#');
    const path = hash >= 0 ? rest.slice(0, hash) : rest;
    if (!path) throw new InputError(`cluster "${raw}": kubeconfig: needs a path`);
    return hash >= 0
      ? { kind: 'kubeconfig', raw: s, path, context: rest.slice(hash + 1) }
      : { kind: 'kubeconfig', raw: s, path };
  }
  const m = /^projects\/([^/]+)\/locations\/([^/]+)\/(clusters|memberships)\/([^/]+)$/.exec(s);
  if (!m) {
    throw new InputError(
      `cluster "${raw}" is not projects/P/locations/L/clusters/C, projects/P/locations/L/memberships/M or kubeconfig:PATH[#CONTEXT]`,
    );
  }
  return {
    kind: m[3] === 'clusters' ? 'gke' : 'membership',
    raw: s,
    project: m[1],
    location: m[2],
    name: m[4],
  };
}

export function parseClusterList(raw: string | undefined): ClusterSpec[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(parseClusterSpec);
}
