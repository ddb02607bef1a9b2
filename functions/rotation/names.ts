// Every Secret Manager label, annotation and alias name Rotor's rotation reads or writes, in one
// place: they are a public contract (users set them; dashboards and the cluster side read them).
// Secret Manager annotation keys may not contain `/`, so these use a `rotor-` prefix rather
// than the `rotor.dev/` prefix of Kubernetes annotations.

/** Label or annotation: which strategy rotates this secret. A label makes secrets filterable. */
export const STRATEGY_KEY = 'rotor-strategy';

/** Annotations users set (configuration). */
export const CONFIG_ANNOTATIONS = {
  length: 'rotor-length',
  alphabet: 'rotor-alphabet',
  adminSecret: 'rotor-admin-secret',
  users: 'rotor-users',
  cloudSqlInstance: 'rotor-cloudsql-instance',
  grace: 'rotor-disable-after',
  minInterval: 'rotor-min-interval',
} as const;

/** Annotations Rotor writes (state). */
export const STATE_ANNOTATIONS = {
  /** JSON: the rotation in progress, doubling as the lock (see rotationState.ts). */
  inProgress: 'rotor-rotation',
  /** JSON: the last completed rotation. */
  last: 'rotor-last-rotation',
  /** JSON: the last rotation withdrawn because the backend refused its value. */
  lastAbandoned: 'rotor-last-abandoned',
  /** JSON list: the most recent triggers that finished or withdrew a rotation, newest first. */
  recentTriggers: 'rotor-recent-triggers',
} as const;

/** Version aliases: consumers should follow `current`; `previous` and `pending` are Rotor's. */
export const ALIASES = {
  current: 'current',
  previous: 'previous',
  pending: 'pending',
} as const;
