// The annotations users and Rotor write. These names are a public contract (shared/DESIGN.md).

/** Comma list of Secret Manager secrets the app reads through the API itself. */
export const SECRETS = 'rotor.dev/secrets';
/** `PORT/PATH`: POSTed to every ready pod, through the API server's pod proxy, to re-read files. */
export const RELOAD_ENDPOINT = 'rotor.dev/reload-endpoint';
/** `restart | reload | none`: overrides the default decision. */
export const ON_ROTATE = 'rotor.dev/on-rotate';
/** `"N"` (0..99): the workload's wave; lower waves restart first, unannotated ones last. */
export const WAVE = 'rotor.dev/wave';
/** `"true"`: Rotor leaves the workload alone. */
export const IGNORE = 'rotor.dev/ignore';
/** Written by Rotor: JSON map secret → version it has acted on, so redelivered or older events are no-ops. */
export const APPLIED = 'rotor.dev/applied';
/**
 * Written by Rotor beside rotor.dev/applied, in the same patch: JSON map secret → which action, by
 * which message, at what time, so a later delivery can report work an earlier one did.
 */
export const APPLIED_BY = 'rotor.dev/applied-by';
/** kubectl's restart marker on the pod template; changing it rolls the pods. */
export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
/** External Secrets Operator: changing this annotation on an ExternalSecret forces a sync now. */
export const ESO_FORCE_SYNC = 'force-sync';
/**
 * On a Namespace (cluster-scoped: the operator's, never a tenant's): the namespace's maintenance
 * windows (core/restartWindows.ts syntax), overriding ROTOR_RESTART_WINDOWS for its workloads.
 */
export const RESTART_WINDOWS = 'rotor.dev/restart-windows';
