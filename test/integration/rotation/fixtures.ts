// Shared set-up for rotation integration tests: the Secret Manager stand-in behind the real
// client, a controllable clock, memory logs, and the rotation deps wired like production.
import type { SecretId } from '../../../functions/core/secretName';
import { formatSecretId } from '../../../functions/core/secretName';
import { memoryLogger } from '../../../functions/log';
import type { ProtocolStep, RotationDeps } from '../../../functions/rotation/protocol';
import type { StrategyRegistry } from '../../../functions/rotation/strategies';
import { defaultStrategies } from '../../../functions/rotation/strategies';
import { createSecretManager } from '../../../functions/secretmanager/client';
import { SecretValue } from '../../../functions/secretmanager/secretValue';
import type { SecretManager } from '../../../functions/secretmanager/types';
import type { SecretManagerStandIn } from '../../harness/secretManagerStandIn';
import { startSecretManagerStandIn } from '../../harness/secretManagerStandIn';

export const LOCK_TTL_MS = 15 * 60_000;

export interface Clock {
  readonly now: () => Date;
  readonly advance: (ms: number) => void;
}

export function testClock(start = Date.now()): Clock {
  let t = start;
  return { now: () => new Date(t), advance: (ms) => void (t += ms) };
}

export interface World {
  standIn: SecretManagerStandIn;
  sm: SecretManager;
  clock: Clock;
  logs: ReturnType<typeof memoryLogger>;
  deps(overrides?: Partial<RotationDeps> & { crashAfter?: ProtocolStep }): RotationDeps;
  /** Creates a secret with labels/annotations and optional first value; returns its id. */
  secret(
    name: string,
    labels: Record<string, string>,
    annotations: Record<string, string>,
    first?: string,
  ): Promise<SecretId>;
  versions(id: SecretId): Array<{ number: number; state: string; data?: string }>;
  aliases(id: SecretId): Record<string, number>;
  annotations(id: SecretId): Record<string, string>;
  /** Every payload ever stored must be absent from every log line. */
  assertNoValueLogged(): void;
  close(): Promise<void>;
}

export class SimulatedCrash extends Error {}

export async function startWorld(strategies?: StrategyRegistry): Promise<World> {
  const clock = testClock();
  const standIn = await startSecretManagerStandIn({ now: clock.now });
  const sm = createSecretManager({ endpoint: standIn.endpoint });
  const logs = memoryLogger();
  const created: string[] = [];
  const world: World = {
    standIn,
    sm,
    clock,
    logs,
    deps(overrides = {}) {
      const { crashAfter, ...rest } = overrides;
      return {
        secretManager: sm,
        strategies: strategies ?? defaultStrategies(),
        logger: logs,
        defaults: { graceMs: 60 * 60_000, minIntervalMs: 5 * 60_000 },
        lockTtlMs: LOCK_TTL_MS,
        now: clock.now,
        ...(crashAfter
          ? {
              afterStep: (step: ProtocolStep) => {
                if (step === crashAfter) throw new SimulatedCrash(`simulated crash after ${step}`);
              },
            }
          : {}),
        ...rest,
      };
    },
    async secret(name, labels, annotations, first) {
      const id = { project: 'test-proj', secret: name };
      await sm.createSecret(id, { labels, annotations });
      created.push(formatSecretId(id));
      if (first !== undefined) {
        const v = await sm.addVersion(id, SecretValue.fromString(first));
        await sm.updateSecret(id, { versionAliases: { current: v.version } });
      }
      return id;
    },
    versions: (id) => standIn.peek(formatSecretId(id))?.versions ?? [],
    aliases: (id) => standIn.peek(formatSecretId(id))?.aliases ?? {},
    annotations: (id) => standIn.peek(formatSecretId(id))?.annotations ?? {},
    assertNoValueLogged() {
      const text = JSON.stringify(logs.entries);
      for (const name of created) {
        for (const v of standIn.peek(name)?.versions ?? []) {
          if (!v.data) continue;
          // For JSON credentials check the password itself, not just the whole document.
          const needles = [v.data];
          try {
            const parsed = JSON.parse(v.data) as { password?: unknown };
            if (typeof parsed.password === 'string') needles.push(parsed.password);
          } catch {
            /* a plain value */
          }
          for (const n of needles)
            if (n.length >= 8 && text.includes(n))
              throw new Error(`a secret value of ${name} appears in the logs`);
        }
      }
    },
    async close() {
      await sm.close();
      await standIn.close();
    },
  };
  return world;
}
