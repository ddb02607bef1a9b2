// The Plan as a Mermaid flowchart: secret → SecretProviderClass / ExternalSecret / synced Secret
// → workload → action. Paste into any Markdown that renders Mermaid (GitHub, GitLab, docs sites).
import type { DependencySource } from '../core/discovery';
import type { Plan, PlannedDecision } from '../core/plan';
import { escapeControls } from '../core/tenantText';

/** `decisions` are the ones the plan was built from (they carry each dependency's source). */
export function renderMermaid(plan: Plan, decisions: readonly PlannedDecision[]): string {
  const nodes = new Map<string, string>();
  const edges = new Set<string>();
  const id = (key: string, label: string, shape: 'box' | 'round' | 'hex' | 'stadium' = 'box'): string => {
    let nid = nodes.get(key);
    if (!nid) {
      nid = `n${nodes.size}`;
      const text = escapeControls(label).replace(/"/g, '#quot;');
      const decl =
        shape === 'round'
          ? `(["${text}"])`
          : shape === 'hex'
            ? `{{"${text}"}}`
            : shape === 'stadium'
              ? `(("${text}"))`
              : `["${text}"]`;
      nodes.set(key, nid);
      declarations.push(`  ${nid}${decl}`);
    }
    return nid;
  };
  const declarations: string[] = [];
  const secret = id(
    `secret:${plan.secret}`,
    `${plan.secret}${plan.version ? `<br/>version ${plan.version}` : ''}`,
    'round',
  );
  // Several clusters: objects of the same name in two clusters are two nodes, labelled with their cluster.
  const multiCluster = new Set(plan.workloads.map((w) => w.cluster)).size > 1;
  const inCluster = (cluster: string): string => (multiCluster ? `${cluster}: ` : '');
  for (const [i, w] of plan.workloads.entries()) {
    const workload = id(
      `w:${w.cluster}/${w.kind}/${w.namespace}/${w.name}`,
      `${inCluster(w.cluster)}${w.kind} ${w.namespace}/${w.name}`,
    );
    for (const d of decisions[i]?.workload.dependencies ?? []) {
      const chain = intermediaries(d.source);
      let from = secret;
      for (const step of chain) {
        const n = id(
          `${w.cluster}/${step.kind}:${step.name}`,
          `${inCluster(w.cluster)}${step.kind} ${step.name}`,
          'hex',
        );
        edges.add(`  ${from} --> ${n}`);
        from = n;
      }
      edges.add(`  ${from} -- ${d.via} --> ${workload}`);
    }
    const action = id(`a:${w.cluster}/${w.kind}/${w.namespace}/${w.name}`, w.action.toUpperCase(), 'stadium');
    edges.add(`  ${workload} --> ${action}`);
    declarations.push(`  class ${action} ${w.action}`);
  }
  return [
    'flowchart LR',
    ...declarations,
    ...edges,
    '  classDef restart fill:#f8d7da,stroke:#a71d2a',
    '  classDef reload fill:#d1ecf1,stroke:#0c5460',
    '  classDef none fill:#e2e3e5,stroke:#6c757d',
    '  classDef wait fill:#fff3cd,stroke:#856404',
    '  classDef manual fill:#e2d9f3,stroke:#4b2a86',
    '',
  ].join('\n');
}

/** The objects a dependency's value passes through on its way from Secret Manager. */
function intermediaries(source: DependencySource): Array<{ kind: string; name: string }> {
  switch (source.kind) {
    case 'csi':
      return [{ kind: 'SecretProviderClass', name: `${source.namespace}/${source.spc}` }];
    case 'eso':
      return [
        { kind: 'ExternalSecret', name: `${source.namespace}/${source.externalSecret}` },
        { kind: 'Secret', name: `${source.namespace}/${source.secretName}` },
      ];
    case 'csi-sync':
      return [
        { kind: 'SecretProviderClass', name: `${source.namespace}/${source.spc}` },
        { kind: 'Secret', name: `${source.namespace}/${source.secretName}` },
      ];
    case 'gke-sync':
      return [
        { kind: 'SecretProviderClass', name: `${source.namespace}/${source.spc}` },
        { kind: 'SecretSync', name: `${source.namespace}/${source.secretSync}` },
        { kind: 'Secret', name: `${source.namespace}/${source.secretName}` },
      ];
    case 'api':
      return [];
  }
}
