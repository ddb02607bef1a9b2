// Every command's flag table. A flag several commands share is defined once below, so that it has
// the same name, short form and meaning everywhere (kubectl's names where kubectl has one).
import { SECRET_EVENT_TYPES } from '../core/event';
import type { CommandSpec, FlagSpec } from './flags';

export const PLAN_OUTPUTS = ['table', 'json', 'yaml', 'mermaid', 'markdown'] as const;
export const RESULT_OUTPUTS = ['table', 'json', 'yaml'] as const;

const help: FlagSpec = { name: 'help', short: 'h', type: 'boolean', help: 'show this help' };
const secret: FlagSpec = {
  name: 'secret',
  type: 'string',
  value: 'NAME',
  help: 'projects/P/secrets/S, projects/P/locations/L/secrets/S, or S with --project',
};
const version: FlagSpec = {
  name: 'version',
  type: 'string',
  value: 'V',
  help: 'the new version number',
};
const event: FlagSpec = {
  name: 'event',
  type: 'string',
  value: 'TYPE',
  suggestions: SECRET_EVENT_TYPES.filter((t) => t !== 'TOPIC_CONFIGURED'),
  help: 'a Secret Manager event type (default SECRET_VERSION_ADD)',
};
const alias: FlagSpec = {
  name: 'alias',
  type: 'string',
  value: 'A=V,...',
  help: "SECRET_UPDATE: the secret's aliases after the update, e.g. current=7",
};
const kubeconfig: FlagSpec = {
  name: 'kubeconfig',
  type: 'string',
  value: 'FILE',
  complete: 'file',
  help: 'the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)',
};
const context: FlagSpec = {
  name: 'context',
  type: 'string',
  value: 'NAME',
  help: "the kubeconfig context to use (default: the kubeconfig's current context)",
};
const namespace: FlagSpec = {
  name: 'namespace',
  short: 'n',
  type: 'string',
  value: 'NAME',
  help: 'live: only this namespace; offline: the namespace of objects that name none',
};
const allNamespaces: FlagSpec = {
  name: 'all-namespaces',
  short: 'A',
  type: 'boolean',
  help: 'every namespace (the default: a rotation reaches every namespace)',
};
const selector: FlagSpec = {
  name: 'selector',
  short: 'l',
  type: 'string',
  value: 'SELECTOR',
  help: 'only workloads whose labels match, e.g. app=api,tier!=cache,env in (prod,qa)',
};
const projectMap: FlagSpec = {
  name: 'project-map',
  type: 'string',
  value: 'ID=NUMBER,...',
  help: 'project id=number pairs, so names by id and by number compare equal (adds to ROTOR_PROJECT_MAP)',
};
const project: FlagSpec = {
  name: 'project',
  type: 'string',
  value: 'ID',
  help: 'default project for short secret names (default: ROTOR_DEFAULT_PROJECT)',
};
const output = (choices: readonly string[]): FlagSpec => ({
  name: 'output',
  short: 'o',
  type: 'string',
  choices,
  help: 'output format (default table)',
});

export const PLAN_COMMAND: CommandSpec = {
  name: 'plan',
  summary: 'Show what a rotation of a secret does to each dependent workload. Read-only.',
  forms: [
    '--secret NAME [--version V] [--event TYPE] [--alias A=V,...]',
    '(--manifests PATH... | [--kubeconfig FILE] [--context NAME])',
    '[-n NAMESPACE | -A] [-l SELECTOR] [-o table|json|yaml|mermaid|markdown] [flags]',
  ],
  flags: [
    secret,
    version,
    event,
    alias,
    {
      name: 'manifests',
      short: 'f',
      type: 'string',
      multiple: true,
      value: 'PATH',
      complete: 'file',
      help: 'plan offline on files or directories of YAML/JSON manifests (more paths may follow)',
    },
    kubeconfig,
    context,
    namespace,
    allNamespaces,
    selector,
    projectMap,
    project,
    {
      name: 'cluster',
      type: 'string',
      value: 'NAME',
      help: 'the cluster label of an offline plan (default "manifests"); NAME;stage=N gives its stage',
    },
    output(PLAN_OUTPUTS),
    {
      name: 'now',
      type: 'string',
      value: 'TIME',
      help: 'the instant the event happens (ISO 8601), for when each restart falls in ROTOR_RESTART_WINDOWS (default: the clock)',
    },
    {
      name: 'strict',
      type: 'boolean',
      help: 'exit 2 on unresolved references and on any manifest file that does not parse',
    },
    help,
  ],
  notes: `Without --manifests the plan is live: the cluster of the kubeconfig's current context (or
--context), read-only. Notes about what could not be resolved go to stderr in table output, and
into "problems" in json and yaml. Exit codes: 0 planned, 2 bad usage or input.`,
};

export const AUDIT_OUTPUTS = ['table', 'json', 'yaml', 'markdown'] as const;

export const AUDIT_COMMAND: CommandSpec = {
  name: 'audit',
  summary:
    'Every Secret Manager secret the workloads use: its consumers by action and its rotation risks. Read-only.',
  forms: [
    '(--manifests PATH... | [--kubeconfig FILE] [--context NAME])',
    '[-o table|json|yaml|markdown] [flags]',
  ],
  flags: [
    {
      name: 'manifests',
      short: 'f',
      type: 'string',
      multiple: true,
      value: 'PATH',
      complete: 'file',
      help: 'audit offline on files or directories of YAML/JSON manifests (more paths may follow)',
    },
    kubeconfig,
    context,
    projectMap,
    project,
    {
      name: 'cluster',
      type: 'string',
      value: 'NAME',
      help: 'the cluster label of an offline audit (default "manifests")',
    },
    output(AUDIT_OUTPUTS),
    help,
  ],
  notes: `Risks: env-only consumers (a restart on every rotation), subPath mounts, pins to fixed versions,
ExternalSecrets that never refresh, CSI mounts that need the driver's rotation, OnDelete StatefulSets,
in-place mounts without a reload endpoint, bare Pods and Jobs. Without --manifests the audit is live:
the cluster of the kubeconfig's current context (or --context). Exit codes: 0 audited, 2 bad usage or input.`,
};

export const APPLY_COMMAND: CommandSpec = {
  name: 'apply',
  summary: 'Act on live clusters for one secret event: restart, reload or wait, per workload.',
  forms: [
    '(--secret NAME --version V [--event TYPE] [--alias A=V,...] | --notification FILE)',
    '([--kubeconfig FILE] [--context NAME] | --cluster SPEC...)',
    '[-n NAMESPACE | --namespaces a,b] [--exclude-namespaces c] [-l SELECTOR]',
    '[--dry-run] [--wait SECONDS] [--workload NS/NAME... | --all-manual] [-o table|json|yaml] [flags]',
  ],
  flags: [
    secret,
    version,
    event,
    alias,
    {
      name: 'notification',
      type: 'string',
      value: 'FILE',
      complete: 'file',
      help: 'a JSON file: an Eventarc CloudEvent, a Pub/Sub push body or a Pub/Sub message; confirmed with Secret Manager (metadata) before acting',
    },
    kubeconfig,
    context,
    {
      name: 'cluster',
      type: 'string',
      multiple: true,
      value: 'SPEC',
      help: 'projects/P/locations/L/clusters/C, projects/P/locations/L/memberships/M, or kubeconfig:PATH[#CONTEXT], each optionally ;stage=N (stages act in order)',
    },
    namespace,
    allNamespaces,
    {
      name: 'namespaces',
      type: 'string',
      value: 'a,b',
      help: 'only these namespaces (globs: team-*)',
    },
    {
      name: 'exclude-namespaces',
      type: 'string',
      value: 'c,d',
      help: 'never these namespaces (globs)',
    },
    selector,
    projectMap,
    project,
    {
      name: 'dry-run',
      type: 'boolean',
      help: 'decide and validate every patch server-side (dryRun=All) without changing anything',
    },
    {
      name: 'wait',
      type: 'string',
      value: 'SECONDS',
      help: 'keep reconciling every 5 s until converged or SECONDS pass (default: one pass)',
    },
    {
      name: 'workload',
      type: 'string',
      multiple: true,
      value: 'NS/NAME',
      help: 'approve acting on this workload although it says rotor.dev/on-rotate: manual (repeatable)',
    },
    {
      name: 'all-manual',
      type: 'boolean',
      help: 'approve every rotor.dev/on-rotate: manual workload (bare Pods and Jobs stay manual)',
    },
    output(RESULT_OUTPUTS),
    help,
  ],
  notes: `Exit codes: 0 converged, 1 not converged or a workload failed, 2 bad usage or input.`,
};

export const ROTATE_COMMAND: CommandSpec = {
  name: 'rotate',
  summary: "Rotate secrets now with each one's configured strategy (the rotor-strategy label).",
  forms: [
    '--secret NAME [--secret NAME ...] [--project ID] [--force] [--retire-only]',
    '[--dry-run] [--concurrency N] [-o table|json|yaml]',
  ],
  flags: [
    { ...secret, multiple: true, help: `${secret.help}; a comma-separated list too` },
    project,
    {
      name: 'force',
      type: 'boolean',
      help: 'rotate even within the minimum interval since the last rotation',
    },
    { name: 'retire-only', type: 'boolean', help: 'only disable versions whose grace period is over' },
    { name: 'dry-run', type: 'boolean', help: 'say what would rotate, change nothing' },
    { name: 'concurrency', type: 'string', value: 'N', help: 'secrets rotated at once, 1 to 100' },
    output(RESULT_OUTPUTS),
    help,
  ],
  notes: `Exit codes: 0 every secret rotated, resumed, retired or skipped; 1 some secret failed; 2 bad
usage or input. Output names versions and outcomes, never a value.`,
};

export const ROLLBACK_COMMAND: CommandSpec = {
  name: 'rollback',
  summary:
    "Restore a secret's previous value as a new version (the workloads that applied the bad one follow).",
  forms: ['--secret NAME [--project ID] [--to VERSION] [--dry-run] [-o table|json|yaml]'],
  flags: [
    secret,
    project,
    {
      name: 'to',
      type: 'string',
      value: 'VERSION',
      help: 'the version whose value comes back (default: the one before the version in use)',
    },
    { name: 'dry-run', type: 'boolean', help: 'say what would be restored, change nothing' },
    output(RESULT_OUTPUTS),
    help,
  ],
  notes: `The same rollback as ROTOR_ON_HALT=rollback (docs/rotation.md): the version in use (current, else
the newest enabled one) is replaced by a new version carrying the earlier version's payload. Never past
a version a rotation retired; with postgres and cloudsql never at all after their rotation (the old
password no longer works). Exit codes: 0 rolled back, skipped (already done) or dry run; 1 a failure
a retry may fix; 2 bad usage, or the rollback was refused (the reason says why). Never prints a value.`,
};

export const COMPLETION_COMMAND: CommandSpec = {
  name: 'completion',
  summary: 'Print a shell completion script (commands, flags and their values).',
  forms: ['bash|zsh'],
  flags: [help],
  notes: `bash: source <(rotor completion bash), e.g. in ~/.bashrc.
zsh: rotor completion zsh > "\${fpath[1]}/_rotor", or source <(rotor completion zsh).`,
  positionals: ['bash', 'zsh'],
};

export const STATUS_OUTPUTS = ['table', 'json', 'yaml', 'markdown'] as const;

export const STATUS_COMMAND: CommandSpec = {
  name: 'status',
  summary:
    "Is a secret's rotation done, and where is it stuck? Per dependent: versions served, rollout. Read-only.",
  forms: [
    '--secret NAME [--version V] ([--kubeconfig FILE] [--context NAME] | --cluster SPEC...)',
    '[-o table|json|yaml|markdown] [flags]',
  ],
  flags: [
    secret,
    { ...version, help: 'the version to check (default: the newest version recorded in rotor.dev/applied)' },
    kubeconfig,
    context,
    {
      name: 'cluster',
      type: 'string',
      multiple: true,
      value: 'SPEC',
      help: 'projects/P/locations/L/clusters/C, projects/P/locations/L/memberships/M, or kubeconfig:PATH[#CONTEXT], each optionally ;stage=N',
    },
    projectMap,
    project,
    output(STATUS_OUTPUTS),
    help,
  ],
  notes: `Reads the dependents of the secret, their pods and ReplicaSets and the CSI driver's pod
statuses (list only). A pod serves the version when its CSI mount status records it, or when it
belongs to the template revision Rotor's restart for that version created. Exit codes: 0 the
rotation is done everywhere, 1 something is still pending, 2 bad usage or input.`,
};

export const COMMANDS: readonly CommandSpec[] = [
  PLAN_COMMAND,
  AUDIT_COMMAND,
  APPLY_COMMAND,
  ROTATE_COMMAND,
  ROLLBACK_COMMAND,
  STATUS_COMMAND,
  COMPLETION_COMMAND,
];
