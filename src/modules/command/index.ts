import type { Plugin } from '@hapi/hapi';
import Validate from '@hapi/validate';
import type { Commit, EventStore } from '../../eventstore/index.ts';
import { commandRoutes } from './command.routes.ts';
import { CommandHandler } from './handle-command.ts';

export interface CommandModuleOptions {
  /** The event log commands append to. */
  readonly eventStore: EventStore;
  /**
   * Called with each commit after it is in the log (local one-process mode hands it to the
   * projector), before the command answers. A promise it returns holds the answer until it
   * settles: that is how the local projection pushes back on writers when its queue is full (it
   * returns at once otherwise). A throw or rejection is logged, never fails the command.
   */
  readonly onAppended?: (commit: Commit) => unknown;
  /** Attempts per command while concurrent writers keep winning its stream. */
  readonly maxAttempts?: number;
  /** Source of `occurredAt`; tests pin it. */
  readonly clock?: () => Date;
}

const optionsSchema = Validate.object({
  eventStore: Validate.object({
    append: Validate.func().required(),
    readStream: Validate.func().required(),
    claimKey: Validate.func().required(),
    ping: Validate.func().required(),
  })
    .unknown(true)
    .required(),
  onAppended: Validate.func(),
  maxAttempts: Validate.number().integer().min(1).max(100),
  clock: Validate.func(),
});

/**
 * The write side (docs/api.md, docs/events.md): group-chat commands under /command/v1, decided by
 * pure deciders and appended to the event log. Needs the `auth` plugin for its `user` strategy. A
 * refusal or a store failure is thrown as its HTTP answer where it happens (handle-command.ts); the
 * server's one `onPreResponse` hook (`src/shared/http-errors.ts`) only logs.
 *
 * @example
 * await server.register([
 *   { plugin: authPlugin, options: { secret } },
 *   { plugin: commandModule, options: { eventStore: new DynamoDbEventStore({ client, tableName }) } },
 * ]);
 */
export const commandModule: Plugin<CommandModuleOptions> = {
  name: 'command',
  dependencies: ['auth'],
  register(server, rawOptions) {
    // assert, not attempt: the store is a class instance and must not be cloned.
    Validate.assert(rawOptions, optionsSchema, 'command module options:');
    const options = rawOptions;
    const handler = new CommandHandler(options.eventStore, {
      ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
    });
    const { onAppended } = options;
    server.route(
      commandRoutes({
        handler,
        store: options.eventStore,
        clock: options.clock ?? (() => new Date()),
        appended: async (handled) => {
          if (!onAppended || !handled.appended) return;
          try {
            await onAppended(handled.appended);
          } catch (error) {
            server.log(['error', 'command', 'onAppended'], error as Error);
          }
        },
      }),
    );
  },
};

