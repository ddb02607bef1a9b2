// `rotor audit`: every Secret Manager secret the workloads use, each with its consumers by the action
// a new version would take, and the rotation risks a person would otherwise list by hand. Pure:
// it reads a DependencyIndex and the same decision table `rotor plan` uses.
import * as annotations from './annotations';
import type { Action } from './decision';
import { contractAction, decide, describeVia } from './decision';
import type { DependencyIndex, Via, WorkloadDependencies } from './discovery';
import type { WorkloadKind } from './kube';
import { formatSecretId, versionKind } from './secretName';
import type { ProjectMap } from './secretName';
import { kindOf, workloadAnnotation } from './workloadKinds';

export const RISK_KINDS = [
  'env-only',
  'subpath',
  'pinned',
  'eso-never-refreshes',
  'csi-rotation',
  'on-delete',
  'no-reload-endpoint',
  'manual-kind',
] as const;
export type RiskKind = (typeof RISK_KINDS)[number];

export interface AuditRisk {
  readonly risk: RiskKind;
  /** `Kind namespace/name` of the consumer at risk. */
  readonly workload: string;
  readonly detail: string;
}

export interface AuditConsumer {
  readonly cluster: string;
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
  /** What a new version (SECRET_VERSION_ADD) does to it. */
  readonly action: Action;
  readonly via: readonly Via[];
}

export interface AuditedSecret {
  readonly secret: string;
  readonly consumers: readonly AuditConsumer[];
  readonly byAction: Readonly<Partial<Record<Action, number>>>;
  readonly risks: readonly AuditRisk[];
}

export interface Audit {
  readonly secrets: readonly AuditedSecret[];
  readonly problems?: readonly string[];
}

/**
 * Audits every secret the index's workloads use; with `include`, only as used by the workloads it
 * accepts (a streamed audit's part also holds workloads another part reports).
 */
export function auditIndex(
  index: DependencyIndex,
  projects: ProjectMap,
  include: (wd: WorkloadDependencies) => boolean = () => true,
): AuditedSecret[] {
  const out: AuditedSecret[] = [];
  for (const { key, secret, dependents } of index.secretsInUse()) {
    const consumers: AuditConsumer[] = [];
    const risks: AuditRisk[] = [];
    const byAction: Partial<Record<Action, number>> = {};
    for (const wd of dependents) {
      if (!include(wd)) continue;
      const decision = decide(wd, { type: 'SECRET_VERSION_ADD', secret }, { secretKey: key });
      const action = contractAction(decision);
      byAction[action] = (byAction[action] ?? 0) + 1;
      consumers.push({
        cluster: wd.ref.cluster,
        kind: wd.ref.kind,
        namespace: wd.ref.namespace,
        name: wd.ref.name,
        action,
        via: [...new Set(wd.dependencies.map((d) => d.via))],
      });
      risks.push(...risksOf(wd, action));
    }
    if (consumers.length === 0) continue;
    out.push({
      secret: formatSecretId({ ...secret, project: projects.canonical(secret.project) }),
      consumers,
      byAction,
      risks,
    });
  }
  return out;
}

/**
 * One audit from the audits of disjoint sets of workloads (a streamed audit's pages), in order:
 * each secret's consumers and risks in the parts' order, its counts summed, secrets sorted as
 * auditIndex sorts them (by normalised name). Equals auditIndex over all the workloads at once.
 */
export function mergeAudits(parts: ReadonlyArray<readonly AuditedSecret[]>): AuditedSecret[] {
  const merged = new Map<
    string,
    { consumers: AuditConsumer[]; risks: AuditRisk[]; byAction: Partial<Record<Action, number>> }
  >();
  for (const part of parts)
    for (const s of part) {
      let m = merged.get(s.secret);
      if (!m) {
        m = { consumers: [], risks: [], byAction: {} };
        merged.set(s.secret, m);
      }
      m.consumers.push(...s.consumers);
      m.risks.push(...s.risks);
      for (const [action, n] of Object.entries(s.byAction) as Array<[Action, number]>)
        m.byAction[action] = (m.byAction[action] ?? 0) + n;
    }
  return [...merged.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([secret, m]) => ({ secret, ...m }));
}

/** The rotation risks of one consumer of one secret. */
export function risksOf(wd: WorkloadDependencies, action: Action): AuditRisk[] {
  const workload = `${wd.ref.kind} ${wd.ref.namespace}/${wd.ref.name}`;
  const deps = wd.dependencies;
  const out: AuditRisk[] = [];
  const add = (risk: RiskKind, detail: string): void => {
    if (!out.some((r) => r.risk === risk && r.detail === detail)) out.push({ risk, workload, detail });
  };
  const info = kindOf(wd.ref.kind);
  if (info.manual !== undefined) add('manual-kind', info.manual);
  if (
    action === 'restart' &&
    deps.length > 0 &&
    deps.every((d) => d.via === 'env' || d.via === 'envFrom' || d.via === 'init')
  )
    add('env-only', `reads it only through ${describeVia(deps[0])}: every rotation restarts it`);
  for (const d of deps) {
    if (d.via === 'subPath') add('subpath', `${describeVia(d)}: a subPath mount never updates in place`);
    if (versionKind(d.version) === 'number')
      add(
        'pinned',
        `${describeVia(d)} pins version ${d.version}: rotations do not reach it until the pin moves`,
      );
    if (d.source.kind === 'eso' && d.source.neverRefreshes !== undefined)
      add(
        'eso-never-refreshes',
        `ExternalSecret ${d.source.namespace}/${d.source.externalSecret} has ${d.source.neverRefreshes}: ESO never brings a new version into its Secret`,
      );
    // A file that must update in place (reload, or the app re-reads it): the driver's rotation
    // carries it. A restart mounts afresh, and a pin never moves.
    if (
      d.source.kind === 'csi' &&
      d.via === 'csi' &&
      action !== 'restart' &&
      versionKind(d.version) !== 'number'
    )
      add(
        'csi-rotation',
        `${describeVia(d)} updates only if the CSI driver ${d.source.driver} rotates (off by default: --enable-secret-rotation on the open-source driver, --enable-secret-manager-rotation on GKE's add-on)`,
      );
  }
  if (action === 'restart' && !info.rollsOnRestart(wd.object))
    add('on-delete', `updateStrategy OnDelete: a restart does not replace its running pods`);
  const inPlace = deps.find((d) => d.inPlace && d.via !== 'annotation');
  if (
    action === 'restart' &&
    inPlace &&
    workloadAnnotation(wd.object, annotations.RELOAD_ENDPOINT) === undefined
  )
    add(
      'no-reload-endpoint',
      `${describeVia(inPlace)} updates in place, but no ${annotations.RELOAD_ENDPOINT} is declared: it is restarted instead`,
    );
  return out;
}
