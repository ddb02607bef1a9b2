// `rotor audit`: every Secret Manager secret the workloads use, its consumers by action and its
// rotation risks, offline on manifests or live on a cluster (read-only). Thin: core/audit.ts decides.
import { envDefaultProject } from '../config';
import { auditIndex, mergeAudits } from '../core/audit';
import type { Audit, AuditedSecret } from '../core/audit';
import { DependencyIndex } from '../core/discovery';
import { inventoryFrom } from '../core/inventory';
import { ProjectMap } from '../core/secretName';
import { InputError } from '../errors';
import { loadManifestsParallel } from '../manifests/parallel';
import { renderAuditMarkdown, renderAuditTable } from '../render/audit';
import { dump } from 'js-yaml';
import { AUDIT_COMMAND } from './commands';
import { helpText, parseFlags } from './flags';
import { requireKubeconfig } from './kubeconfig';
import type { CliIo } from './io';

export async function runAudit(args: string[], io: CliIo): Promise<number> {
  const flags = parseFlags(AUDIT_COMMAND, args);
  if (flags.boolean('help')) {
    io.stdout(helpText(AUDIT_COMMAND));
    return 0;
  }
  const output = flags.string('output') ?? 'table';
  // As plan: paths may follow --manifests; without it the audit is live.
  const manifests = [...flags.strings('manifests'), ...flags.positionals];
  if (flags.positionals.length > 0 && flags.strings('manifests').length === 0)
    throw new InputError(`unexpected argument "${flags.positionals[0] ?? ''}"`);
  const explicitKubeconfig = flags.string('kubeconfig');
  if (manifests.length > 0 && explicitKubeconfig)
    throw new InputError('give either --manifests or --kubeconfig, not both');
  const values = {
    'project-map': flags.string('project-map'),
    project: flags.string('project'),
    cluster: flags.string('cluster'),
    context: flags.string('context'),
    kubeconfig:
      manifests.length > 0
        ? undefined
        : requireKubeconfig(explicitKubeconfig, io.env, 'give --manifests PATH... or --kubeconfig FILE'),
  };
  const projects = ProjectMap.parse(
    [io.env.ROTOR_PROJECT_MAP, values['project-map']].filter(Boolean).join(','),
  );
  const defaultProject = values.project ?? envDefaultProject(io.env);
  // A set: a live audit indexes the small kinds once per page, and would repeat their problems.
  const problems = new Set<string>();
  const discovery = {
    projects,
    ...(defaultProject ? { defaultProject } : {}),
    onProblem: (m: string) => problems.add(m),
  };
  let secrets: AuditedSecret[];
  if (values.kubeconfig) {
    // Live: one page of workloads at a time, audited and let go (memory: a page, not the cluster).
    const { forEachInventoryPartFromKubeconfig } = await import('../cluster/inventory');
    const parts: AuditedSecret[][] = [];
    await forEachInventoryPartFromKubeconfig(values.kubeconfig, values.context, (part, kind) => {
      parts.push(auditIndex(new DependencyIndex(part, discovery), projects, (wd) => wd.ref.kind === kind));
    });
    secrets = mergeAudits(parts);
  } else {
    const inventory = inventoryFrom(
      values.cluster ?? 'manifests',
      await loadManifestsParallel(manifests, { onSkip: (m) => problems.add(m) }),
    );
    secrets = auditIndex(new DependencyIndex(inventory, discovery), projects);
  }
  const audit: Audit = { secrets, ...(problems.size ? { problems: [...problems] } : {}) };
  io.stdout(
    output === 'json'
      ? JSON.stringify(audit, null, 2) + '\n'
      : output === 'yaml'
        ? dump(audit, { noRefs: true, lineWidth: -1 })
        : output === 'markdown'
          ? renderAuditMarkdown(audit)
          : renderAuditTable(audit),
  );
  return 0;
}
