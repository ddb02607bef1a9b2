// `rotor audit`: every Secret Manager secret the workloads use, its consumers by action and its
// rotation risks, offline on manifests or live on a cluster (read-only). Thin: core/audit.ts decides.
import { envDefaultProject } from '../config';
import { auditIndex } from '../core/audit';
import type { Audit } from '../core/audit';
import { DependencyIndex } from '../core/discovery';
import type { Inventory } from '../core/inventory';
import { inventoryFrom } from '../core/inventory';
import { ProjectMap } from '../core/secretName';
import { InputError } from '../errors';
import { loadManifestsParallel } from '../manifests/parallel';
import { renderAuditMarkdown, renderAuditTable } from '../render/audit';
import { oneOf, parse } from './args';
import type { CliIo } from './io';

export const AUDIT_USAGE = `Usage: rotor audit (--manifests PATH... | --kubeconfig FILE [--context C])
                   [--project-map ID=NUMBER,...] [--project DEFAULT] [--output table|json|markdown]

  Every Secret Manager secret the workloads use; for each, its consumers by the action a new version
  takes, and the rotation risks: env-only consumers, subPath mounts, pinned versions, ExternalSecrets
  that never refresh, CSI mounts that need the driver's rotation, OnDelete StatefulSets, in-place
  mounts without a reload endpoint, bare Pods and Jobs.
`;

export async function runAudit(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      manifests: { type: 'string', multiple: true },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      'project-map': { type: 'string' },
      project: { type: 'string' },
      cluster: { type: 'string' },
      output: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h' },
    },
    'audit',
  );
  if (values.help) {
    io.stdout(AUDIT_USAGE);
    return 0;
  }
  const output = oneOf(values.output, ['table', 'json', 'markdown'] as const, '--output', 'table');
  const manifests = [...(values.manifests ?? []), ...positionals];
  if (positionals.length > 0 && (values.manifests ?? []).length === 0)
    throw new InputError(`unexpected argument "${positionals[0]}"`);
  if (manifests.length > 0 && values.kubeconfig)
    throw new InputError('give either --manifests or --kubeconfig, not both');
  if (manifests.length === 0 && !values.kubeconfig)
    throw new InputError('give --manifests PATH... (offline) or --kubeconfig FILE (live)');
  const projects = ProjectMap.parse(
    [io.env.ROTOR_PROJECT_MAP, values['project-map']].filter(Boolean).join(','),
  );
  const defaultProject = values.project ?? envDefaultProject(io.env);
  const problems: string[] = [];
  let inventory: Inventory;
  if (values.kubeconfig) {
    const { liveInventoryFromKubeconfig } = await import('../cluster/inventory');
    inventory = await liveInventoryFromKubeconfig(values.kubeconfig, values.context);
  } else {
    inventory = inventoryFrom(
      values.cluster ?? 'manifests',
      await loadManifestsParallel(manifests, { onSkip: (m) => problems.push(m) }),
    );
  }
  const index = new DependencyIndex(inventory, {
    projects,
    ...(defaultProject ? { defaultProject } : {}),
    onProblem: (m) => problems.push(m),
  });
  const audit: Audit = { secrets: auditIndex(index, projects), ...(problems.length ? { problems } : {}) };
  io.stdout(
    output === 'json'
      ? JSON.stringify(audit, null, 2) + '\n'
      : output === 'markdown'
        ? renderAuditMarkdown(audit)
        : renderAuditTable(audit),
  );
  return 0;
}
