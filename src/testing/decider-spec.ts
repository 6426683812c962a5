import type { Test } from 'tap';
import { DomainError } from '../modules/command/decider.ts';
import type { Decider, DomainErrorKind } from '../modules/command/decider.ts';

/**
 * Given / when / then for a decider value: given past events, when a command, then the new events
 * or the rule that refused it, with the exact message a client reads. No I/O, no mocks. `read` is
 * the state of the other stream the decision reads (a message's chat).
 *
 * Bound to the subtest's own `t`, so each subtest asserts under its own name.
 */
export function deciderSpec<S, C, E, R>(decider: Decider<S, C, E, R>, ...read: undefined extends R ? [] : [R]) {
  return (t: Test) => ({
    given: (events: readonly E[]) => ({
      when: (command: C) => {
        const state = events.reduce(decider.evolve, decider.initialState());
        const decision = decider.decide(command, state, read[0] as R);
        return {
          then(expected: readonly E[]) {
            t.same(decision, expected);
          },
          thenError(kind: DomainErrorKind, message: string) {
            t.type(decision, DomainError);
            const refusal = decision instanceof DomainError ? { name: decision.name, kind: decision.kind, message: decision.message } : decision;
            t.same(refusal, { name: 'DomainError', kind, message });
          },
        };
      },
    }),
  });
}
