// Secret Manager notifications name a project by NUMBER; manifests, gcloud and Terraform by id.
// Rotor compares secrets by id when it knows the pair (ROTOR_PROJECT_MAP, --project-map, or a
// Resource Manager lookup). A number it cannot map matches only references that use the number
// themselves: a manifest naming the project by id looks like it does not depend on the secret.
import type { ProjectMap } from './secretName';

/** True when `project` is a project number the map has no id for. */
export function isUnmappedNumber(project: string, projects: ProjectMap): boolean {
  return /^[0-9]+$/.test(project) && projects.canonical(project) === project;
}

/** The problem line `rotor plan` prints for such a number. */
export function unmappedNumberProblem(number: string): string {
  return (
    `project number ${number} is not mapped to a project id: references that name the project by id ` +
    `do not match it (give --project-map ID=${number} or ROTOR_PROJECT_MAP)`
  );
}

/**
 * The project id in a Resource Manager v3 `projects.get` answer for `projects/NUMBER`
 * (`{"name": "projects/NUMBER", "projectId": "my-proj", ...}`). Throws when the answer is not for
 * that number or carries no usable id.
 */
export function projectIdFromProjectsGet(number: string, body: unknown): string {
  const b = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  if (b.name !== undefined && b.name !== `projects/${number}`)
    throw new Error(`Resource Manager answered for ${JSON.stringify(b.name)}, not projects/${number}`);
  const id = b.projectId;
  // Project ids: 6 to 30 lowercase letters, digits and hyphens, starting with a letter (legacy
  // domain-scoped ids carry a `domain:` prefix).
  if (typeof id !== 'string' || !/^([a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(id))
    throw new Error(`Resource Manager returned no valid projectId for projects/${number}`);
  return id;
}
