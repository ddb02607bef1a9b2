// The slice of Secret Manager that Rotor uses, as plain typed data. Everything above this layer
// (rotation, discovery, the CLI) talks to this interface, so tests can run it against the real
// client + stand-in and nothing depends on the generated protobuf types.
import type { SecretId, VersionSelector } from '../core/secretName';
import type { SecretValue } from './secretValue';

// The version states, defined once as plain data in the core (which checks notifications by them).
import type { VersionState } from '../core/notificationCheck';
export type { VersionState };

export interface SecretMetadata {
  readonly id: SecretId;
  /** Full resource name as the service returns it (project by number in production). */
  readonly name: string;
  /** Opaque, quoted (`"abc"`); changes on every update of the Secret (not on version changes). */
  readonly etag: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** alias → version number */
  readonly versionAliases: Readonly<Record<string, number>>;
  readonly createTime?: Date;
  readonly rotation?: { readonly nextRotationTime?: Date; readonly rotationPeriodSeconds?: number };
  readonly topics: readonly string[];
}

export interface SecretVersionInfo {
  readonly id: SecretId;
  readonly version: number;
  readonly name: string;
  readonly state: VersionState;
  readonly createTime: Date;
  readonly etag: string;
}

export interface AccessedVersion {
  readonly version: number;
  readonly value: SecretValue;
}

/** Each given map replaces the stored one whole (Secret Manager's update-mask semantics). */
export interface SecretPatch {
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly versionAliases?: Record<string, number>;
}

export interface NewSecret {
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export interface SecretManager {
  getSecret(id: SecretId): Promise<SecretMetadata>;
  createSecret(id: SecretId, init?: NewSecret): Promise<SecretMetadata>;
  /**
   * Updates labels/annotations/aliases. With `etag`, the update succeeds only if the secret is
   * unchanged since it was read (SecretManagerError kind `conflict` otherwise).
   */
  updateSecret(id: SecretId, patch: SecretPatch, etag?: string): Promise<SecretMetadata>;
  /** Newest first. */
  listVersions(id: SecretId): Promise<SecretVersionInfo[]>;
  getVersion(id: SecretId, version: VersionSelector): Promise<SecretVersionInfo>;
  /** The payload of a version (`latest`, a number or an alias). Disabled: `failed-precondition`. */
  accessVersion(id: SecretId, version: VersionSelector): Promise<AccessedVersion>;
  addVersion(id: SecretId, value: SecretValue): Promise<SecretVersionInfo>;
  disableVersion(id: SecretId, version: number, etag?: string): Promise<SecretVersionInfo>;
  close(): Promise<void>;
}

/**
 * The metadata calls that confirm a notification (core/notificationCheck.ts): secrets.get and
 * versions.get, i.e. secretmanager.secrets.get and secretmanager.versions.get
 * (roles/secretmanager.viewer). Never a payload: onSecretEvent holds no secretAccessor.
 */
export type SecretMetadataReader = Pick<SecretManager, 'getSecret' | 'getVersion'>;
