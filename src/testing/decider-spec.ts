import type { Test } from 'tap';
import { DomainError } from '../modules/command/domain-error.ts';
import type { Decision, DomainErrorKind } from '../modules/command/domain-error.ts';

/**
 * Given / when / then for pure deciders: given past events, when a command, then the new events
 * or the rule that refused it. No I/O, no mocks.
 */
export function deciderSpec<C, E, S>(decider: {
  initialState: S;
  evolve: (state: S, event: E) => S;
  decide: (command: C, state: S) => Decision<E>;
}) {
  return (t: Test) => ({
    given: (events: readonly E[]) => ({
      when: (command: C) => {
        const state = events.reduce(decider.evolve, decider.initialState);
        const decision = decider.decide(command, state);
        return {
          then(expected: readonly E[]) {
            t.same(decision, expected);
          },
          thenError(kind: DomainErrorKind, message?: RegExp) {
            t.type(decision, DomainError);
            t.match(decision, { kind, ...(message ? { message } : {}) });
          },
        };
      },
    }),
  });
}
