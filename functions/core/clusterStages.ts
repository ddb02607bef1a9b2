// Cluster stages: the order in which one event reaches the configured clusters. The operator gives
// ROTOR_CLUSTERS entries a stage (`stage=0` for staging, `stage=1` for production…; no stage is
// stage 0, so a list without stages behaves as before: every cluster at once). A cluster acts on an
// event only when every cluster of every earlier stage has converged healthy on it; a halt in an
// earlier stage holds every later one until a person resumes (rotor apply) or the value is rolled
// back. Clusters of one stage go together. Pure.

/** Stages are 0..MAX_STAGE. */
export const MAX_STAGE = 9;

/** Where one cluster's part of the event stands, as its last pass (or its fan-out outcome) said. */
export type ClusterProgress = 'converged' | 'pending' | 'halted';

export interface StagedCluster {
  readonly name: string;
  readonly stage: number;
}

export type StageGate =
  | { readonly kind: 'go' }
  /** An earlier stage is still rolling out (or has not been seen yet). */
  | {
      readonly kind: 'wait';
      readonly stage: number;
      readonly clusters: readonly string[];
      readonly reason: string;
    }
  /** An earlier stage halted: this cluster is held until a person acts. */
  | {
      readonly kind: 'held';
      readonly stage: number;
      readonly clusters: readonly string[];
      readonly reason: string;
    };

/**
 * The gate of each cluster, given how far each one got. A cluster whose progress is unknown counts
 * as pending: a later stage never starts on a guess.
 */
export function stageGates(
  clusters: readonly StagedCluster[],
  progress: ReadonlyMap<string, ClusterProgress>,
): ReadonlyMap<string, StageGate> {
  const gates = new Map<string, StageGate>();
  for (const cluster of clusters) gates.set(cluster.name, gateOf(cluster, clusters, progress));
  return gates;
}

function gateOf(
  cluster: StagedCluster,
  clusters: readonly StagedCluster[],
  progress: ReadonlyMap<string, ClusterProgress>,
): StageGate {
  const earlier = clusters.filter((c) => c.stage < cluster.stage);
  const halted = earlier.filter((c) => progress.get(c.name) === 'halted');
  if (halted.length > 0) {
    const stage = Math.min(...halted.map((c) => c.stage));
    const names = halted.filter((c) => c.stage === stage).map((c) => c.name);
    return {
      kind: 'held',
      stage,
      clusters: names,
      reason: `held: stage ${stage} halted in ${list(names)}; stage ${cluster.stage} starts only after every earlier stage converged healthy`,
    };
  }
  const unfinished = earlier.filter((c) => progress.get(c.name) !== 'converged');
  if (unfinished.length === 0) return { kind: 'go' };
  const stage = Math.min(...unfinished.map((c) => c.stage));
  const names = unfinished.filter((c) => c.stage === stage).map((c) => c.name);
  return {
    kind: 'wait',
    stage,
    clusters: names,
    reason: `waiting for stage ${stage} (${list(names)}) to converge before stage ${cluster.stage}`,
  };
}

/** The stages to run in order, each with its clusters, lowest first. */
export function stagesInOrder(clusters: readonly StagedCluster[]): ReadonlyArray<readonly StagedCluster[]> {
  const stages = [...new Set(clusters.map((c) => c.stage))].sort((a, b) => a - b);
  return stages.map((s) => clusters.filter((c) => c.stage === s));
}

/** Parses the `stage=N` option of a ROTOR_CLUSTERS entry. */
export function parseStage(text: string): number | string {
  if (!/^[0-9]$/.test(text))
    return `stage "${text.slice(0, 20)}" is not a whole number from 0 to ${MAX_STAGE}`;
  return Number(text);
}

function list(names: readonly string[]): string {
  const shown = names.slice(0, 3).join(', ');
  return names.length > 3 ? `${shown} and ${names.length - 3} more` : shown;
}
