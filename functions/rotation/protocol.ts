// The rotation protocol for one secret: claim → add pending version → mark pending → set on the
// backend → test → finish (move aliases), then retire superseded versions.
//
// Why it is safe to crash anywhere and run again:
//   - Every state change is recorded on the secret (the `rotor-rotation` annotation and the
//     `pending` alias) with the secret's etag, so a rerun knows exactly where the last attempt got.
//   - The only step that is not idempotent is adding a version. The claim records the newest
//     version number first (`base`), so a rerun that finds a version above `base` that was never
//     marked pending knows a crashed attempt added it, and adopts it instead of adding another.
//   - set and test are idempotent (set uses an admin credential, never the rotated one).
// Why two concurrent triggers give one rotation: both read the same etag; only one can write the
// claim; the other gets a conflict and reports `skipped`. A claim held by a crashed invocation
// expires (lock TTL), and the next trigger or Pub/Sub redelivery takes it over and resumes.
// Why a backend outage leaves no trace: the strategy's preflight runs before the claim.
import { randomUUID } from 'node:crypto';
import { InputError, TransientError, errorMessage, isTransient } from '../errors';
import type { Logger } from '../log';
import type { SecretId } from '../core/secretName';
import { formatSecretId } from '../core/secretName';
import { SecretManagerError } from '../secretmanager/errors';
import type { SecretManager, SecretMetadata, SecretVersionInfo } from '../secretmanager/types';
import type { SecretValue } from '../secretmanager/secretValue';
import type { RotationDefaults, SecretRotationConfig, StrategyName } from './config';
import { readRotationConfig } from './config';
import { formatDuration } from './duration';
import { ALIASES, STATE_ANNOTATIONS } from './names';
import type { PinnedVersions } from './retire';
import { aliasPins, planRetirement, retire } from './retire';
import type { InProgress, LastRotation } from './rotationState';
import {
  isLive,
  newRotationId,
  readInProgress,
  readLastRotation,
  withFinished,
  withInProgress,
} from './rotationState';
import type { PreparedRotation, StrategyRegistry } from './strategies';

export type RotationOutcome =
  /** A new version is current. */
  | 'rotated'
  /** An interrupted rotation was completed. */
  | 'resumed'
  /** Nothing to do: in progress elsewhere, already done for this trigger, or too soon. */
  | 'skipped'
  /** Only superseded versions were disabled (retire-only runs). */
  | 'retired'
  /** Dry run: what would happen. */
  | 'dry-run'
  /** The backend refused the new value for good; the pending version was withdrawn. */
  | 'abandoned'
  | 'failed';

export interface RotationResult {
  readonly secret: string;
  readonly outcome: RotationOutcome;
  readonly strategy?: StrategyName;
  /** The version that is current after this run. */
  readonly version?: number;
  /** The version that was current before. */
  readonly previous?: number;
  /** Versions disabled by this run. */
  readonly disabled: readonly number[];
  /** One human line: what happened and why. */
  readonly reason: string;
  /** For failed/abandoned: whether a retry can help. */
  readonly retry?: boolean;
}

/** The points between steps where a crash is simulated in tests. */
export const PROTOCOL_STEPS = ['claim', 'add-version', 'mark-pending', 'set', 'test', 'finish'] as const;
export type ProtocolStep = (typeof PROTOCOL_STEPS)[number];

export interface RotationDeps {
  readonly secretManager: SecretManager;
  readonly strategies: StrategyRegistry;
  readonly logger: Logger;
  readonly defaults: RotationDefaults;
  /** How long a claim stays valid without progress; must exceed the longest step. */
  readonly lockTtlMs: number;
  readonly now?: () => Date;
  /** Which versions consumers still read (never disabled). Default: alias pins. */
  readonly pinnedVersions?: PinnedVersions;
  /** Runs after each step completes; tests throw here to simulate a crash between steps. */
  readonly afterStep?: (step: ProtocolStep, secret: SecretId) => void | Promise<void>;
}

export interface RotateOptions {
  /** Identifies the trigger (Pub/Sub message id, `cli:...`): a repeat of it does not rotate again. */
  readonly trigger?: string;
  /** Ignore the minimum interval and the trigger de-duplication (never a live lock). */
  readonly force?: boolean;
  /** Only disable superseded versions. */
  readonly retireOnly?: boolean;
  /** Check everything, change nothing, say what would happen. */
  readonly dryRun?: boolean;
}

/** Another invocation changed the secret between our read and our write. */
class LostRace extends Error {}

export async function rotateOne(
  id: SecretId,
  deps: RotationDeps,
  options: RotateOptions = {},
): Promise<RotationResult> {
  const name = formatSecretId(id);
  const logger = deps.logger.with({ secret: name, ...(options.trigger ? { trigger: options.trigger } : {}) });
  try {
    const result = await new Rotation(id, deps, options, logger).run();
    if (result.outcome === 'abandoned')
      logger.error(`rotation ${result.outcome}: ${result.reason}`, resultFields(result));
    else logger.info(`rotation ${result.outcome}: ${result.reason}`, resultFields(result));
    return result;
  } catch (err) {
    const retry = isTransient(err);
    const result: RotationResult = {
      secret: name,
      outcome: 'failed',
      disabled: [],
      reason: errorMessage(err),
      retry,
    };
    if (retry) logger.warn(`rotation failed (will retry): ${result.reason}`, { retry });
    else logger.error(`rotation failed: ${result.reason}`, { retry });
    return result;
  }
}

function resultFields(r: RotationResult): Record<string, unknown> {
  return {
    outcome: r.outcome,
    strategy: r.strategy,
    version: r.version,
    previous: r.previous,
    disabled: r.disabled,
  };
}

class Rotation {
  private readonly sm: SecretManager;
  private readonly name: string;
  private readonly owner = randomUUID();

  constructor(
    private readonly id: SecretId,
    private readonly deps: RotationDeps,
    private readonly options: RotateOptions,
    private readonly logger: Logger,
  ) {
    this.sm = deps.secretManager;
    this.name = formatSecretId(id);
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  private result(
    outcome: RotationOutcome,
    reason: string,
    extra: Partial<RotationResult> = {},
  ): RotationResult {
    return { secret: this.name, outcome, disabled: [], reason, ...extra };
  }

  async run(): Promise<RotationResult> {
    const secret = await this.sm.getSecret(this.id);
    const config = readRotationConfig(secret, this.deps.defaults);
    const versions = await this.sm.listVersions(this.id);

    if (this.options.retireOnly) {
      const disabled = await this.retire(secret, versions, config);
      return this.result(
        'retired',
        disabled.length ? `disabled ${disabled.join(', ')}` : 'nothing to disable',
        { strategy: config.strategy, disabled },
      );
    }

    const state = readInProgress(secret.annotations);
    if (state && isLive(state, this.now())) {
      if (state.trigger !== undefined && state.trigger === this.options.trigger) {
        // Our own trigger, redelivered while the claim it made is still live: the invocation
        // holding it may have died. Ask for redelivery later, when the claim has expired.
        throw new TransientError(
          `rotation ${state.id} for this trigger is at step "${state.step}", claimed until ${state.expires}; retry after that`,
        );
      }
      return this.result(
        'skipped',
        `rotation ${state.id} is in progress (step "${state.step}"), claimed until ${state.expires}`,
        { strategy: config.strategy },
      );
    }
    if (!state && !this.options.force) {
      const last = readLastRotation(secret.annotations);
      const trigger = this.options.trigger;
      if (
        last &&
        trigger !== undefined &&
        (last.trigger === trigger || (last as { resumedBy?: string }).resumedBy === trigger)
      ) {
        return this.result('skipped', `this trigger already rotated it (version ${last.version})`, {
          strategy: config.strategy,
          version: last.version,
        });
      }
      const since = last ? this.now().getTime() - Date.parse(last.finished) : Infinity;
      if (last && since < config.minIntervalMs) {
        return this.result(
          'skipped',
          `rotated ${formatDuration(since)} ago (version ${last.version}); the minimum interval is ${formatDuration(config.minIntervalMs)}`,
          {
            strategy: config.strategy,
            version: last.version,
          },
        );
      }
    }

    // The version in use: the one a resumed rotation started from, else `current`, else the
    // newest enabled version (a secret Rotor has not rotated yet).
    const fromVersion =
      state?.from ||
      secret.versionAliases[ALIASES.current] ||
      versions.find((v) => v.state === 'ENABLED')?.version ||
      0;
    const current = fromVersion
      ? (await this.sm.accessVersion(this.id, String(fromVersion))).value
      : undefined;
    const strategy = this.deps.strategies[config.strategy];
    // Preflight before any write: a backend that is down leaves the secret untouched.
    const prepared = await strategy.prepare({
      secret,
      config,
      secretManager: this.sm,
      logger: this.logger,
      current,
    });
    try {
      if (this.options.dryRun) {
        const plan = await planRetirement(
          secret,
          versions,
          config.graceMs,
          this.now(),
          this.deps.pinnedVersions ?? aliasPins,
        );
        return this.result(
          'dry-run',
          `would ${state ? `resume rotation ${state.id} from step "${state.step}"` : 'rotate'} with ${config.strategy} (backend preflight passed)` +
            (plan.disable.length ? `; would disable ${plan.disable.map((v) => v.version).join(', ')}` : ''),
          { strategy: config.strategy, ...(fromVersion ? { version: fromVersion } : {}) },
        );
      }
      return await this.rotate(secret, versions, config, state, fromVersion, current, prepared);
    } catch (err) {
      if (err instanceof LostRace) return this.result('skipped', err.message, { strategy: config.strategy });
      throw err;
    } finally {
      await prepared.close();
    }
  }

  private async rotate(
    initial: SecretMetadata,
    versions: SecretVersionInfo[],
    config: SecretRotationConfig,
    state: InProgress | undefined,
    fromVersion: number,
    current: SecretValue | undefined,
    prepared: PreparedRotation,
  ): Promise<RotationResult> {
    let secret = initial;
    const expires = (): string => new Date(this.now().getTime() + this.deps.lockTtlMs).toISOString();
    const write = async (
      progress: InProgress,
      aliases?: Record<string, number>,
      what = 'record progress',
    ): Promise<void> => {
      try {
        secret = await this.sm.updateSecret(
          this.id,
          {
            annotations: withInProgress(secret.annotations, { ...progress, expires: expires() }),
            ...(aliases ? { versionAliases: aliases } : {}),
          },
          secret.etag,
        );
      } catch (err) {
        if (err instanceof SecretManagerError && err.kind === 'conflict') {
          throw new LostRace(
            `another invocation changed the secret first (${what}); leaving the rotation to it`,
          );
        }
        throw err;
      }
    };
    const after = async (step: ProtocolStep): Promise<void> => {
      this.logger.debug('rotation step done', { step });
      await this.deps.afterStep?.(step, this.id);
    };

    // 1. Claim (or take over an expired claim).
    let progress: InProgress = state
      ? { ...state, owner: this.owner }
      : {
          id: newRotationId(),
          owner: this.owner,
          step: 'claimed',
          base: versions[0]?.version ?? 0,
          from: fromVersion,
          ...(this.options.trigger !== undefined ? { trigger: this.options.trigger } : {}),
          started: this.now().toISOString(),
          expires: '',
        };
    await write(progress, undefined, 'claim');
    if (state)
      this.logger.notice('resuming interrupted rotation', {
        rotation: state.id,
        step: state.step,
        pending: state.pending,
      });
    await after('claim');

    // 2. The pending version: recorded, adopted from a crashed attempt, or added now.
    let pending = progress.pending;
    if (pending === undefined) {
      const aliasPending = secret.versionAliases[ALIASES.pending];
      if (aliasPending !== undefined && aliasPending > progress.base) pending = aliasPending;
    }
    if (pending === undefined) {
      pending = await this.adoptOrphan(progress.base, prepared);
      if (pending === undefined) {
        const added = await this.sm.addVersion(this.id, prepared.create());
        pending = added.version;
        this.logger.info('added pending version', { version: pending });
        await after('add-version');
      }
      progress = { ...progress, step: 'created', pending };
      await write(progress, { ...secret.versionAliases, [ALIASES.pending]: pending }, 'mark pending');
      await after('mark-pending');
    }
    const pendingValue = (await this.sm.accessVersion(this.id, String(pending))).value;

    // 3. Set on the backend (idempotent; repeated after a crash unless recorded as done).
    if (progress.step === 'claimed' || progress.step === 'created') {
      try {
        await prepared.set(pendingValue);
      } catch (err) {
        if (err instanceof InputError) return this.abandon(secret, config, progress, pending, current, err);
        throw err;
      }
      progress = { ...progress, step: 'set' };
      await write(progress, undefined, 'record set');
      this.logger.info('backend accepts the pending value', { version: pending });
      await after('set');
    }

    // 4. Test: a real login with the pending value.
    if (progress.step !== 'tested') {
      await prepared.test(pendingValue);
      progress = { ...progress, step: 'tested' };
      await write(progress, undefined, 'record test');
      await after('test');
    }

    // 5. Finish: current → pending, previous → what was current; release the claim.
    const aliases: Record<string, number> = { ...secret.versionAliases, [ALIASES.current]: pending };
    delete aliases[ALIASES.pending];
    if (progress.from && progress.from !== pending) aliases[ALIASES.previous] = progress.from;
    const last: LastRotation & { resumedBy?: string } = {
      id: progress.id,
      version: pending,
      previous: progress.from,
      finished: this.now().toISOString(),
      ...(progress.trigger !== undefined ? { trigger: progress.trigger } : {}),
      ...(state && this.options.trigger !== undefined && this.options.trigger !== progress.trigger
        ? { resumedBy: this.options.trigger }
        : {}),
    };
    try {
      secret = await this.sm.updateSecret(
        this.id,
        { versionAliases: aliases, annotations: withFinished(secret.annotations, last) },
        secret.etag,
      );
    } catch (err) {
      if (err instanceof SecretManagerError && err.kind === 'conflict')
        throw new LostRace(
          'another invocation changed the secret first (finish); leaving the rotation to it',
        );
      throw err;
    }
    await after('finish');

    // 6. Retire what the grace period and the pins allow.
    const disabled = await this.retire(secret, await this.sm.listVersions(this.id), config);
    return this.result(
      state ? 'resumed' : 'rotated',
      `version ${pending} is current${progress.from ? ` (was ${progress.from})` : ''}`,
      {
        strategy: config.strategy,
        version: pending,
        ...(progress.from ? { previous: progress.from } : {}),
        disabled,
      },
    );
  }

  /** A version above `base` that a crashed attempt added but never marked pending. */
  private async adoptOrphan(base: number, prepared: PreparedRotation): Promise<number | undefined> {
    const candidates = (await this.sm.listVersions(this.id)).filter(
      (v) => v.version > base && v.state === 'ENABLED',
    );
    for (const v of candidates) {
      const value = (await this.sm.accessVersion(this.id, String(v.version))).value;
      if (prepared.adoptable(value)) {
        this.logger.notice('adopting a version added by an interrupted attempt', { version: v.version });
        return v.version;
      }
    }
    return undefined;
  }

  /**
   * The backend refused the pending value for good (InputError from set). Withdraw it so the
   * secret and the backend agree again: disable the pending version and, since it is `latest`,
   * re-add the value in use so `latest` readers keep a working credential; `current` follows it.
   */
  private async abandon(
    secret: SecretMetadata,
    config: SecretRotationConfig,
    progress: InProgress,
    pending: number,
    current: SecretValue | undefined,
    cause: InputError,
  ): Promise<RotationResult> {
    await this.sm.disableVersion(this.id, pending);
    const aliases: Record<string, number> = { ...secret.versionAliases };
    delete aliases[ALIASES.pending];
    let restored: number | undefined;
    const newest = (await this.sm.listVersions(this.id))[0]?.version;
    if (current && newest === pending) {
      restored = (await this.sm.addVersion(this.id, current)).version;
      aliases[ALIASES.current] = restored;
    }
    const annotations = { ...secret.annotations };
    delete annotations[STATE_ANNOTATIONS.inProgress];
    await this.sm.updateSecret(this.id, { versionAliases: aliases, annotations }, secret.etag);
    return this.result(
      'abandoned',
      `the backend refused the new value (${cause.message}); version ${pending} disabled${restored ? `, value in use re-added as version ${restored}` : ''}`,
      {
        strategy: config.strategy,
        retry: false,
        ...((restored ?? progress.from) ? { version: restored ?? progress.from } : {}),
      },
    );
  }

  private async retire(
    secret: SecretMetadata,
    versions: SecretVersionInfo[],
    config: SecretRotationConfig,
  ): Promise<number[]> {
    const plan = await planRetirement(
      secret,
      versions,
      config.graceMs,
      this.now(),
      this.deps.pinnedVersions ?? aliasPins,
    );
    return retire(this.sm, secret, plan, this.logger);
  }
}
