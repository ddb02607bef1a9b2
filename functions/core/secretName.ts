// Secret identity. Notifications name projects by NUMBER, manifests usually by ID, regional
// secrets live under `locations/L`: two references denote the same secret only when project
// (after id↔number mapping), location and name all agree.
import { InputError } from '../errors';
import { quoteTenant } from './tenantText';

export interface SecretId {
  /** Project as written: an id (`my-proj`) or a number (`123456789012`). */
  readonly project: string;
  /** Set for regional secrets only; a regional secret differs from a global one of the same name. */
  readonly location?: string;
  readonly secret: string;
}

/** `latest`, a version number (pinned), or an alias name. */
export type VersionSelector = string;

export interface SecretVersionRef {
  readonly id: SecretId;
  /** Undefined when the name had no `/versions/...` part. */
  readonly version?: VersionSelector;
}

const PROJECT = /^[a-z0-9][a-z0-9.:-]{0,62}$/;
const LOCATION = /^[a-z0-9-]{1,63}$/;
const SECRET = /^[A-Za-z0-9_-]{1,255}$/;
const VERSION = /^(latest|[0-9]+|[A-Za-z][A-Za-z0-9_-]{0,62})$/;

/**
 * Parses `projects/P/secrets/S[/versions/V]` and `projects/P/locations/L/secrets/S[/versions/V]`.
 * Throws InputError naming the part that is wrong.
 */
export function parseSecretName(name: string): SecretVersionRef {
  if (typeof name !== 'string' || name.length === 0) throw new InputError('secret name is empty');
  const parts = name.replace(/^\/+/, '').split('/');
  let i = 0;
  const expect = (word: string): void => {
    if (parts[i] !== word) {
      throw new InputError(
        `${quoteTenant(name)} is not a Secret Manager name: expected "${word}" at segment ${i + 1}, found ${quoteTenant(parts[i] ?? '')} (want projects/P/[locations/L/]secrets/S[/versions/V])`,
      );
    }
    i++;
  };
  expect('projects');
  const project = parts[i++] ?? '';
  if (!PROJECT.test(project))
    throw new InputError(`${quoteTenant(name)}: invalid project ${quoteTenant(project)}`);
  let location: string | undefined;
  if (parts[i] === 'locations') {
    i++;
    location = parts[i++] ?? '';
    if (!LOCATION.test(location))
      throw new InputError(`${quoteTenant(name)}: invalid location ${quoteTenant(location)}`);
  }
  expect('secrets');
  const secret = parts[i++] ?? '';
  if (!SECRET.test(secret))
    throw new InputError(
      `${quoteTenant(name)}: invalid secret name ${quoteTenant(secret)} (letters, digits, _ and - only)`,
    );
  let version: string | undefined;
  if (i < parts.length) {
    expect('versions');
    version = parts[i++] ?? '';
    if (!VERSION.test(version))
      throw new InputError(
        `${quoteTenant(name)}: invalid version ${quoteTenant(version)} (latest, a number or an alias)`,
      );
  }
  if (i !== parts.length)
    throw new InputError(
      `${quoteTenant(name)}: unexpected trailing segments ${quoteTenant(parts.slice(i).join('/'))}`,
    );
  return { id: location ? { project, location, secret } : { project, secret }, version };
}

/**
 * Parses what a user may type for a secret: a full resource name, or a short name (`NAME`, or
 * `NAME/versions/V`) resolved against `defaultProject`. `LOCATION/NAME` is not accepted: regional
 * secrets need their full name.
 */
export function parseSecretArg(value: string, defaultProject?: string): SecretVersionRef {
  if (value.startsWith('projects/')) return parseSecretName(value);
  if (value.includes('/') && !/^[^/]+\/versions\/[^/]+$/.test(value)) {
    throw new InputError(
      `secret ${quoteTenant(value)} is neither a short name (NAME or NAME/versions/V) nor a full name (projects/P/[locations/L/]secrets/S): regional secrets need their full name`,
    );
  }
  if (!defaultProject) {
    throw new InputError(
      `secret ${quoteTenant(value)} is a short name: give projects/P/secrets/${value.slice(0, 255)} or a default project`,
    );
  }
  return parseSecretName(`projects/${defaultProject}/secrets/${value}`);
}

export function formatSecretId(id: SecretId): string {
  return id.location
    ? `projects/${id.project}/locations/${id.location}/secrets/${id.secret}`
    : `projects/${id.project}/secrets/${id.secret}`;
}

export function formatSecretVersion(id: SecretId, version: VersionSelector): string {
  return `${formatSecretId(id)}/versions/${version}`;
}

export type VersionKind = 'latest' | 'number' | 'alias';

export function versionKind(v: VersionSelector): VersionKind {
  if (v === 'latest') return 'latest';
  return /^[0-9]+$/.test(v) ? 'number' : 'alias';
}

/**
 * Project id ↔ number mapping (from `--project-map ID=NUMBER,...`, ROTOR_PROJECT_MAP or the
 * Resource Manager API). Identity keys use the project id when it is known.
 */
export class ProjectMap {
  private readonly numberToId = new Map<string, string>();
  private readonly idToNumber = new Map<string, string>();

  constructor(pairs: Iterable<readonly [id: string, number: string]> = []) {
    for (const [id, number] of pairs) this.add(id, number);
  }

  add(id: string, number: string): void {
    if (!/^[0-9]+$/.test(number))
      throw new InputError(`project map: "${number}" is not a project number (for ${id})`);
    if (/^[0-9]+$/.test(id))
      throw new InputError(`project map: "${id}" looks like a number, expected a project id`);
    this.numberToId.set(number, id);
    this.idToNumber.set(id, number);
  }

  /** `ID=NUMBER,ID=NUMBER` */
  static parse(spec: string | undefined): ProjectMap {
    const map = new ProjectMap();
    if (!spec) return map;
    for (const raw of spec.split(',')) {
      const pair = raw.trim();
      if (!pair) continue;
      const m = /^([^=\s]+)=([^=\s]+)$/.exec(pair);
      if (!m) throw new InputError(`project map: "${pair}" is not ID=NUMBER`);
      map.add(m[1], m[2]);
    }
    return map;
  }

  /** The project id when known, else what was given. */
  canonical(project: string): string {
    return this.numberToId.get(project) ?? project;
  }

  numberOf(project: string): string | undefined {
    return /^[0-9]+$/.test(project) ? project : this.idToNumber.get(project);
  }

  entries(): Array<[string, string]> {
    return [...this.idToNumber.entries()];
  }
}

/** A normalised key: two SecretIds with equal keys are the same secret. */
export function secretKey(id: SecretId, projects: ProjectMap): string {
  return formatSecretId({ ...id, project: projects.canonical(id.project) });
}
