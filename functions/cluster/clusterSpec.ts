// The clusters Rotor is configured with (ROTOR_CLUSTERS, --cluster), parsed. Kept apart from
// access.ts, which connects to them: config.ts reads the list, and everything that reads config.ts
// (the offline `rotor plan` too) would otherwise load the Kubernetes and Google client libraries
// (~870 modules, most of a plan's start-up) without ever connecting to anything.
import { InputError } from '../errors';
import { parseStage } from '../core/clusterStages';

/**
 * One configured cluster. `raw` names it everywhere (outcomes, fan-out messages), without its
 * stage: moving a cluster to another stage does not rename it. `stage` (core/clusterStages.ts):
 * absent is stage 0.
 */
export type ClusterSpec = (
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
  | { readonly kind: 'kubeconfig'; readonly raw: string; readonly path: string; readonly context?: string }
) & { readonly stage?: number };

/** The stage of a configured cluster: 0 unless its entry says `;stage=N`. */
export function stageOf(spec: Pick<ClusterSpec, 'stage'>): number {
  return spec.stage ?? 0;
}

/** An entry with its options: `CLUSTER;stage=N` (the only option). */
export function parseClusterSpec(raw: string): ClusterSpec {
  const [entry, ...options] = raw.trim().split(';');
  const spec = parseClusterEntry(entry ?? '', raw);
  let stage: number | undefined;
  for (const option of options) {
    const m = /^\s*stage\s*=(.*)$/.exec(option);
    if (!m)
      throw new InputError(
        `cluster "${raw}": "${option.trim().slice(0, 40)}" is not an option (only stage=N, e.g. ${spec.raw};stage=1)`,
      );
    if (stage !== undefined) throw new InputError(`cluster "${raw}": stage given twice`);
    const parsed = parseStage((m[1] ?? '').trim());
    if (!parsed.ok) throw new InputError(`cluster "${raw}": ${parsed.error}`);
    stage = parsed.stage;
  }
  return stage ? { ...spec, stage } : spec;
}

function parseClusterEntry(text: string, raw: string): ClusterSpec {
  const s = text.trim();
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
  const specs = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(parseClusterSpec);
  // One cluster in two stages could not be ordered: refuse it rather than pick one.
  for (const spec of specs) {
    const other = specs.find((o) => o.raw === spec.raw && stageOf(o) !== stageOf(spec));
    if (other)
      throw new InputError(
        `cluster "${spec.raw}" is listed in stage ${stageOf(spec)} and in stage ${stageOf(other)}`,
      );
  }
  return specs;
}
