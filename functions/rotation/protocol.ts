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
// Why a label edit by someone else does not stop a rotation: a write that meets another etag
// re-reads the secret and goes on if the claim is still ours (claimedSecret.ts).
// Why a refused value never wedges the secret: withdrawing it (abandon) records its own step
// first and every one of its steps can be repeated, so it resumes like the forward steps.
// Why a backend outage leaves no trace: the strategy's preflight runs before the claim.
import { randomUUID } from 'node:crypto';
import { InputError, TransientError, errorMessage, isTransient } from '../errors';
import type { Logger } from '../log';
import type { SecretId } from '../core/secretName';
import { formatSecretId } from '../core/secretName';
import { ROLLBACK_MARK_KEY, parseRollbackMark } from '../core/rollback';
import { ClaimedSecret, LostRace } from './claimedSecret';
import type { SecretManager, SecretMetadata, SecretVersionInfo } from '../secretmanager/types';
import type { SecretValue } from '../secretmanager/secretValue';
import type { RotationDefaults, SecretRotationConfig, StrategyName } from './config';
import { readRotationConfig } from './config';
import { formatDuration } from './duration';
import { ALIASES } from './names';
import type { PinnedVersions, RetirePlan } from './retire';
import { aliasPins, planRetirement, retire, reusedUserHold } from './retire';
import type { InProgress, LastAbandoned, LastRotation } from './rotationState';
import {
  isLive,
  newRotationId,
  readInProgress,
  readLastAbandoned,
  readRecentTriggers,
  readLastRotation,
  withAbandoned,
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
  /** Superseded versions this run kept enabled, with why (e.g. a rollout that is halted holds one). */
  readonly kept?: ReadonlyArray<{ readonly version: number; readonly why: string }>;
  /** One human line: what happened and why. */
  readonly reason: string;
  /** For failed/abandoned: whether a retry can help. */
  readonly retry?: boolean;
}

/** The points between steps where a crash is simulated in tests. */
export const PROTOCOL_STEPS = ['claim', 'add-version', 'mark-pending', 'set', 'test', 'finish'] as const;
/** The same, between the steps of withdrawing a value the backend refused (see abandon()). */
export const ABANDON_STEPS = [
  'abandon-record',
  'abandon-backend',
  'abandon-disable',
  'abandon-re-add',
] as const;
export type ProtocolStep = (typeof PROTOCOL_STEPS)[number] | (typeof ABANDON_STEPS)[number];

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
  /** Ignore the minimum interval (never the trigger de-duplication, never a live lock). */
  readonly force?: boolean;
  /** Only disable superseded versions. */
  readonly retireOnly?: boolean;
  /** Check everything, change nothing, say what would happen. */
  readonly dryRun?: boolean;
}

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
    // `outcome` as on every other per-secret line: the rotation-failure metric counts by it.
    if (retry) logger.warn(`rotation failed (will retry): ${result.reason}`, { outcome: 'failed', retry });
    else logger.error(`rotation failed: ${result.reason}`, { outcome: 'failed', retry });
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

/** Records a rotation's progress on the claimed secret (and moves aliases with it). */
type WriteProgress = (
  progress: InProgress,
  aliases?: (secret: SecretMetadata) => Record<string, number>,
  what?: string,
) => Promise<void>;

/** One rotation's hold on the secret: the claimed metadata and how to record progress there. */
interface Claim {
  readonly claimed: ClaimedSecret;
  readonly write: WriteProgress;
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

  /** Retire only, or rotate unless something says not now: a live claim, a repeat, too soon, a held user. */
  async run(): Promise<RotationResult> {
    const secret = await this.sm.getSecret(this.id);
    const config = readRotationConfig(secret, this.deps.defaults);
    const versions = await this.sm.listVersions(this.id);
    if (this.options.retireOnly) return this.retireOnly(secret, versions, config);

    const state = readInProgress(secret.annotations);
    // A rotation in progress is resumed: the checks of a new rotation are not asked of it.
    const skipped =
      this.claimedElsewhere(secret, config, state) ??
      (state
        ? undefined
        : (this.alreadyDoneOrTooSoon(secret, config) ??
          (await this.previousUserHeld(secret, versions, config))));
    if (skipped) return skipped;
    return this.prepareAndRotate(secret, versions, config, state);
  }

  private async retireOnly(
    secret: SecretMetadata,
    versions: SecretVersionInfo[],
    config: SecretRotationConfig,
  ): Promise<RotationResult> {
    const { disabled, kept } = await this.retire(secret, versions, config);
    return this.result(
      'retired',
      (disabled.length ? `disabled ${disabled.join(', ')}` : 'nothing to disable') +
        kept.map((k) => `; kept ${k.version}: ${k.why}`).join(''),
      { strategy: config.strategy, disabled, ...(kept.length ? { kept } : {}) },
    );
  }

  /** Another rotation's live claim, or a rollback under way: skip (or, for our own trigger, retry later). */
  private claimedElsewhere(
    secret: SecretMetadata,
    config: SecretRotationConfig,
    state: InProgress | undefined,
  ): RotationResult | undefined {
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
    // A rollback adding its version (rotation/rollback.ts) must not meet a rotation adding another.
    const rollback = parseRollbackMark(secret.annotations[ROLLBACK_MARK_KEY]);
    if (
      !state &&
      rollback &&
      rollback.version === undefined &&
      this.now().getTime() - Date.parse(rollback.at) < this.deps.lockTtlMs
    )
      return this.result(
        'skipped',
        `a rollback of version ${rollback.replaces} to version ${rollback.restores} is under way since ${rollback.at}`,
        { strategy: config.strategy },
      );
    return undefined;
  }

  /** A trigger that already rotated (or was refused), or a rotation within the minimum interval. */
  private alreadyDoneOrTooSoon(
    secret: SecretMetadata,
    config: SecretRotationConfig,
  ): RotationResult | undefined {
    const last = readLastRotation(secret.annotations);
    const trigger = this.options.trigger;
    // A redelivered trigger is never a new rotation, forced or not: Pub/Sub redelivers a whole
    // batch when one of its secrets failed, and a second rotation within minutes would
    // re-password the role consumers of postgres-alternating have not left yet.
    if (last && trigger !== undefined && (last.trigger === trigger || last.resumedBy === trigger)) {
      return this.result('skipped', `this trigger already rotated it (version ${last.version})`, {
        strategy: config.strategy,
        version: last.version,
      });
    }
    // Nor does a redelivery retry a rotation the backend refused for good.
    const abandoned = readLastAbandoned(secret.annotations);
    if (
      abandoned &&
      trigger !== undefined &&
      (abandoned.trigger === trigger || abandoned.resumedBy === trigger)
    ) {
      return this.result(
        'skipped',
        `this trigger's rotation was abandoned (version ${abandoned.version} refused: ${abandoned.reason})`,
        { strategy: config.strategy },
      );
    }
    // Nor is one that settled an earlier rotation, before newer ones (the last and last
    // abandoned records only remember the newest).
    if (trigger !== undefined && readRecentTriggers(secret.annotations).includes(trigger)) {
      return this.result('skipped', 'this trigger already rotated it (an earlier rotation)', {
        strategy: config.strategy,
      });
    }
    const since = last ? this.now().getTime() - Date.parse(last.finished) : Infinity;
    if (last && !this.options.force && since < config.minIntervalMs) {
      return this.result(
        'skipped',
        `rotated ${formatDuration(since)} ago (version ${last.version}); the minimum interval is ${formatDuration(config.minIntervalMs)}`,
        { strategy: config.strategy, version: last.version },
      );
    }
    return undefined;
  }

  /** postgres-alternating would re-password the previous version's user: not while it is served. */
  private async previousUserHeld(
    secret: SecretMetadata,
    versions: SecretVersionInfo[],
    config: SecretRotationConfig,
  ): Promise<RotationResult | undefined> {
    const held = this.deps.pinnedVersions
      ? reusedUserHold(config.strategy, secret, await this.deps.pinnedVersions(secret, versions))
      : undefined;
    if (!held) return undefined;
    return this.result(
      'skipped',
      `the previous user (version ${held.version}) is still in use: ${held.why}; the rotation waits, since it would change that user's password`,
      { strategy: config.strategy, kept: [held] },
    );
  }

  /** The backend's preflight, then the rotation (or, dry, what it would do); the backend released after. */
  private async prepareAndRotate(
    secret: SecretMetadata,
    versions: SecretVersionInfo[],
    config: SecretRotationConfig,
    state: InProgress | undefined,
  ): Promise<RotationResult> {
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
      if (this.options.dryRun) return await this.dryRun(secret, versions, config, state, fromVersion);
      return await this.rotate(secret, versions, config, state, fromVersion, current, prepared);
    } catch (err) {
      if (err instanceof LostRace) return this.result('skipped', err.message, { strategy: config.strategy });
      throw err;
    } finally {
      await prepared.close();
    }
  }

  private async dryRun(
    secret: SecretMetadata,
    versions: SecretVersionInfo[],
    config: SecretRotationConfig,
    state: InProgress | undefined,
    fromVersion: number,
  ): Promise<RotationResult> {
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

  /** The protocol's steps in order, each recorded on the secret before the next, so a crash resumes. */
  private async rotate(
    initial: SecretMetadata,
    versions: SecretVersionInfo[],
    config: SecretRotationConfig,
    state: InProgress | undefined,
    fromVersion: number,
    current: SecretValue | undefined,
    prepared: PreparedRotation,
  ): Promise<RotationResult> {
    const claim = this.claimOn(initial);
    // 1. Claim (or take over an expired claim).
    let progress = await this.takeClaim(claim, versions, state, fromVersion);
    if (progress.step === 'abandoning' && progress.pending !== undefined) {
      return this.abandon(claim.claimed, claim.write, config, progress, progress.pending, current, prepared);
    }

    // 2. The pending version: recorded, adopted from a crashed attempt, or added now.
    const withPending = await this.pendingVersion(claim, progress, prepared);
    progress = withPending.progress;
    const pending = withPending.pending;
    const pendingValue = (await this.sm.accessVersion(this.id, String(pending))).value;
    const refused = (err: InputError, restoreBackend: boolean): Promise<RotationResult> =>
      this.abandon(
        claim.claimed,
        claim.write,
        config,
        { ...progress, error: err.message, ...(restoreBackend ? { restoreBackend } : {}) },
        pending,
        current,
        prepared,
      );

    // 3. Set on the backend (idempotent; repeated after a crash unless recorded as done).
    if (progress.step === 'claimed' || progress.step === 'created') {
      try {
        await prepared.set(pendingValue);
      } catch (err) {
        // A refused set changed nothing on the backend: withdraw the value, nothing to restore.
        if (err instanceof InputError) return refused(err, false);
        throw err;
      }
      progress = { ...progress, step: 'set' };
      await claim.write(progress, undefined, 'record set');
      this.logger.info('backend accepts the pending value', { version: pending });
      await this.after('set');
    }

    // 4. Test: a real login with the pending value.
    if (progress.step !== 'tested') {
      try {
        await prepared.test(pendingValue);
      } catch (err) {
        // The value will never work (a login the server rejects for good, a value of the wrong
        // shape): the backend may hold it already, so withdrawing puts the value in use back.
        if (err instanceof InputError) return refused(err, true);
        throw err;
      }
      progress = { ...progress, step: 'tested' };
      await claim.write(progress, undefined, 'record test');
      await this.after('test');
    }

    // 5. Finish: current → pending, previous → what was current; release the claim.
    const secret = await this.finish(claim.claimed, progress, pending, state);

    // 6. Retire what the grace period and the pins allow.
    return this.retireAfter(secret, config, state, progress, pending);
  }

  /** Step 6: retire what the grace period and the pins allow, and say what the rotation did. */
  private async retireAfter(
    secret: SecretMetadata,
    config: SecretRotationConfig,
    state: InProgress | undefined,
    progress: InProgress,
    pending: number,
  ): Promise<RotationResult> {
    const { disabled, kept } = await this.retire(secret, await this.sm.listVersions(this.id), config);
    return this.result(
      state ? 'resumed' : 'rotated',
      `version ${pending} is current${progress.from ? ` (was ${progress.from})` : ''}` +
        kept.map((k) => `; kept ${k.version}: ${k.why}`).join(''),
      {
        strategy: config.strategy,
        version: pending,
        ...(progress.from ? { previous: progress.from } : {}),
        disabled,
        ...(kept.length ? { kept } : {}),
      },
    );
  }

  /** This rotation's hold on the secret, and how it records progress there (the claim's expiry renewed each time). */
  private claimOn(initial: SecretMetadata): Claim {
    const claimed = new ClaimedSecret(this.sm, this.id, this.owner, initial, this.logger);
    const expires = (): string => new Date(this.now().getTime() + this.deps.lockTtlMs).toISOString();
    const write: WriteProgress = async (progress, aliases, what = 'record progress') => {
      await claimed.update(
        (secret) => ({
          annotations: withInProgress(secret.annotations, { ...progress, expires: expires() }),
          ...(aliases ? { versionAliases: aliases(secret) } : {}),
        }),
        what,
      );
    };
    return { claimed, write };
  }

  /** Step 1: a new claim, or this owner taking over an expired one (resuming where it stopped). */
  private async takeClaim(
    claim: Claim,
    versions: SecretVersionInfo[],
    state: InProgress | undefined,
    fromVersion: number,
  ): Promise<InProgress> {
    const progress: InProgress = state
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
    await claim.write(progress, undefined, 'claim');
    if (state)
      this.logger.notice('resuming interrupted rotation', {
        rotation: state.id,
        step: state.step,
        pending: state.pending,
      });
    await this.after('claim');
    return progress;
  }

  /** Step 2: the pending version recorded, the `pending` alias, a crashed attempt's orphan, or a new one. */
  private async pendingVersion(
    claim: Claim,
    claimedProgress: InProgress,
    prepared: PreparedRotation,
  ): Promise<{ progress: InProgress; pending: number }> {
    let progress = claimedProgress;
    let pending = progress.pending;
    if (pending === undefined) {
      const aliasPending = claim.claimed.secret.versionAliases[ALIASES.pending];
      if (aliasPending !== undefined && aliasPending > progress.base) pending = aliasPending;
    }
    if (pending === undefined) {
      pending = await this.adoptOrphan(progress.base, prepared);
      if (pending === undefined) {
        const added = await this.sm.addVersion(this.id, prepared.create());
        pending = added.version;
        this.logger.info('added pending version', { version: pending });
        await this.after('add-version');
      }
      const marked = pending;
      progress = { ...progress, step: 'created', pending };
      await claim.write(
        progress,
        (secret) => ({ ...secret.versionAliases, [ALIASES.pending]: marked }),
        'mark pending',
      );
      await this.after('mark-pending');
    }
    return { progress, pending };
  }

  /** Step 5: `current` → pending, `previous` → what was current, the rotation recorded; the claim released. */
  private async finish(
    claimed: ClaimedSecret,
    finished: InProgress,
    pending: number,
    state: InProgress | undefined,
  ): Promise<SecretMetadata> {
    const last: LastRotation = {
      id: finished.id,
      version: pending,
      previous: finished.from,
      finished: this.now().toISOString(),
      ...(finished.trigger !== undefined ? { trigger: finished.trigger } : {}),
      ...(state && this.options.trigger !== undefined && this.options.trigger !== finished.trigger
        ? { resumedBy: this.options.trigger }
        : {}),
    };
    const secret = await claimed.update((s) => {
      const aliases: Record<string, number> = { ...s.versionAliases, [ALIASES.current]: pending };
      delete aliases[ALIASES.pending];
      if (finished.from && finished.from !== pending) aliases[ALIASES.previous] = finished.from;
      return { versionAliases: aliases, annotations: withFinished(s.annotations, last) };
    }, 'finish');
    await this.after('finish');
    return secret;
  }

  private async after(step: ProtocolStep): Promise<void> {
    this.logger.debug('rotation step done', { step });
    await this.deps.afterStep?.(step, this.id);
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
   * The backend refused the pending value for good. Withdraw it so the secret and the backend
   * agree again: put the value in use back on the backend if it may have taken the refused one,
   * disable the pending version and, if it is `latest`, re-add the value in use so `latest`
   * readers keep a working credential; `current` follows it.
   *
   * Resumable like the forward steps: the claim records `abandoning` (and why) first, so a crash
   * anywhere after that resumes the withdrawal. Each step checks before it acts: restoring the
   * backend is idempotent, a version already disabled is left alone, and a value already re-added
   * by a crashed attempt (a version above the pending one holding the value in use) is reused.
   */
  private async abandon(
    claimed: ClaimedSecret,
    write: (progress: InProgress, aliases: undefined, what: string) => Promise<void>,
    config: SecretRotationConfig,
    refusal: InProgress,
    pending: number,
    current: SecretValue | undefined,
    prepared: PreparedRotation,
  ): Promise<RotationResult> {
    const reason = refusal.error ?? 'refused';
    // 1. Record that this rotation is being withdrawn.
    if (refusal.step !== 'abandoning') {
      const progress: InProgress = { ...refusal, step: 'abandoning' };
      await write(progress, undefined, 'record abandon');
      this.logger.warn('the backend refused the new value; withdrawing it', { version: pending, reason });
      await this.after('abandon-record');
    }
    // 2. The backend back on the value in use.
    if (refusal.restoreBackend && current) {
      await prepared.set(current);
      await this.after('abandon-backend');
    }
    // 3. Disable the refused version.
    const versions = await this.sm.listVersions(this.id);
    if (versions.find((v) => v.version === pending)?.state === 'ENABLED') {
      await this.sm.disableVersion(this.id, pending);
      await this.after('abandon-disable');
    }
    // 4. Re-add the value in use, unless a crashed attempt did, or someone added a newer version.
    let restored: number | undefined;
    if (current) {
      const newer = versions.filter((v) => v.version > pending && v.state === 'ENABLED');
      if (newer.length === 0) {
        restored = (await this.sm.addVersion(this.id, current)).version;
        await this.after('abandon-re-add');
      } else {
        for (const v of newer) {
          if ((await this.sm.accessVersion(this.id, String(v.version))).value.equals(current)) {
            restored = v.version;
            break;
          }
        }
      }
    }
    // 5. Release the claim: `current` on the re-added value, `pending` gone, the trigger recorded.
    const record: LastAbandoned = {
      id: refusal.id,
      version: pending,
      finished: this.now().toISOString(),
      reason: reason.length > 500 ? `${reason.slice(0, 500)}...` : reason,
      ...(refusal.trigger !== undefined ? { trigger: refusal.trigger } : {}),
      ...(this.options.trigger !== undefined && this.options.trigger !== refusal.trigger
        ? { resumedBy: this.options.trigger }
        : {}),
    };
    await claimed.update((s) => {
      const aliases: Record<string, number> = { ...s.versionAliases };
      delete aliases[ALIASES.pending];
      if (restored !== undefined) aliases[ALIASES.current] = restored;
      return { versionAliases: aliases, annotations: withAbandoned(s.annotations, record) };
    }, 'abandon');
    return this.result(
      'abandoned',
      `the backend refused the new value (${reason}); version ${pending} disabled${restored ? `, value in use re-added as version ${restored}` : ''}`,
      {
        strategy: config.strategy,
        retry: false,
        ...((restored ?? refusal.from) ? { version: restored ?? refusal.from } : {}),
      },
    );
  }

  private async retire(
    secret: SecretMetadata,
    versions: SecretVersionInfo[],
    config: SecretRotationConfig,
  ): Promise<{ disabled: number[]; kept: RetirePlan['kept'] }> {
    const plan = await planRetirement(
      secret,
      versions,
      config.graceMs,
      this.now(),
      this.deps.pinnedVersions ?? aliasPins,
    );
    return { disabled: await retire(this.sm, secret, plan, this.logger), kept: plan.kept };
  }
}
