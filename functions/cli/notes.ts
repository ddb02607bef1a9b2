// Which of discovery's problem notes concern the secret a plan is about. A repository holds many
// objects unrelated to one secret; a note about a bad annotation on a workload that never reads
// the secret is noise in that secret's plan. Kept: notes that name an object of the plan (a
// dependent workload, the SecretProviderClass or ExternalSecret its value comes through) or the
// secret itself, and notes about references Rotor could not resolve, since what is missing may be
// exactly what makes a workload depend on the secret.
// Discovery reports problems as text today; the objects are recognised by the names it writes
// (describeObject), the same function both sides use.
import type { DependencySource } from '../core/discovery';
import { describeObject } from '../core/kube';
import type { PlannedDecision } from '../core/plan';
import type { SecretId } from '../core/secretName';

const UNRESOLVED = /was not found|cannot tell|no default project/;

function sourceObjects(source: DependencySource): string[] {
  switch (source.kind) {
    case 'csi':
    case 'csi-sync':
      return [`SecretProviderClass ${source.namespace}/${source.spc}`];
    case 'eso':
      return [`ExternalSecret ${source.namespace}/${source.externalSecret}`];
    default:
      return [];
  }
}

/** A name ends where the next character could not continue it (`db` does not name `db-password`). */
function names(text: string, name: string): boolean {
  for (let i = text.indexOf(name); i >= 0; i = text.indexOf(name, i + 1)) {
    const next = text[i + name.length];
    if (
      next === undefined ||
      !/[\w./-]/.test(next) ||
      (next === '/' && text.startsWith('/versions', i + name.length))
    )
      return true;
  }
  return false;
}

export function concerningProblems(
  problems: readonly string[],
  decisions: readonly PlannedDecision[],
  secret: SecretId,
): string[] {
  const related = new Set<string>();
  for (const d of decisions) {
    related.add(describeObject(d.workload.object));
    for (const dep of d.workload.dependencies) for (const o of sourceObjects(dep.source)) related.add(o);
  }
  const secretName = `secrets/${secret.secret}`;
  return problems.filter(
    (p) => UNRESOLVED.test(p) || names(p, secretName) || [...related].some((o) => names(p, o)),
  );
}
