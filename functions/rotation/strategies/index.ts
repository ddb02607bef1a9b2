// The strategy registry: name (the `rotor-strategy` label/annotation) → implementation.
import type { StrategyName } from '../config';
import type { CloudSqlOptions } from './cloudsql';
import { cloudSqlStrategy } from './cloudsql';
import { postgresAlternatingStrategy, postgresStrategy } from './postgres';
import { randomStrategy } from './random';
import type { RotationStrategy } from './strategy';

export type StrategyRegistry = Readonly<Record<StrategyName, RotationStrategy>>;

export function defaultStrategies(options: { cloudSql?: CloudSqlOptions } = {}): StrategyRegistry {
  return {
    random: randomStrategy,
    postgres: postgresStrategy,
    'postgres-alternating': postgresAlternatingStrategy,
    cloudsql: cloudSqlStrategy(options.cloudSql),
  };
}

export type { RotationStrategy, PreparedRotation, StrategyContext } from './strategy';
