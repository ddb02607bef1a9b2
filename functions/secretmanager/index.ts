// Public surface of the Secret Manager adapter, for the rest of Rotor.
export type {
  SecretManager,
  SecretMetadata,
  SecretVersionInfo,
  SecretPatch,
  NewSecret,
  AccessedVersion,
  VersionState,
} from './types';
export { createSecretManager, secretManagerFromEnv } from './client';
export type { SecretManagerClientOptions } from './client';
export { SecretManagerError, classifyError, asPipelineError } from './errors';
export type { SecretManagerErrorKind } from './errors';
export { SecretValue } from './secretValue';
