// `random`: a generated value and no backend. Set is a no-op; test checks the value is what was
// asked for, so a hand-added value of the wrong shape is never adopted.
import { InputError } from '../../errors';
import { fitsAlphabet, randomSecret } from '../alphabet';
import type { PreparedRotation, RotationStrategy, StrategyContext } from './strategy';

export const randomStrategy: RotationStrategy = {
  name: 'random',
  prepare(ctx: StrategyContext): Promise<PreparedRotation> {
    const { length, alphabet } = ctx.config;
    return Promise.resolve({
      create: () => randomSecret(length, alphabet),
      adoptable: (value) => fitsAlphabet(value.reveal(), length, alphabet),
      set: () => Promise.resolve(),
      test: (pending) => {
        if (!fitsAlphabet(pending.reveal(), length, alphabet)) {
          return Promise.reject(
            new InputError(
              `pending value is not ${length} characters of the configured alphabet`,
              ctx.secret.name,
            ),
          );
        }
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    });
  },
};
