import type { Server, ServerRegisterPluginObject } from '@hapi/hapi';
import type { Logger } from 'pino';
import { createHttpServer } from '../shared/http-server.ts';
import { logUncaughtErrors, requestLogging } from '../shared/logging.ts';

export interface ServeOptions {
  readonly port: number;
  readonly host: string;
  readonly logger: Logger;
  /** The entry's plugins, the `auth` plugin first for an entry with user routes. */
  readonly plugins: readonly ServerRegisterPluginObject<unknown>[];
  /** Left out of the request log: the adapter's readiness checks would drown it. */
  readonly healthPaths: readonly string[];
  /** Origins whose pages may call the API from a browser; none when absent. */
  readonly corsOrigins?: readonly string[];
  /** Recognises an escaped error after which the process must stop (a store that can no longer write). */
  readonly fatal?: (error: unknown) => string | undefined;
  /** Closes what the plugins use, after the server stopped taking requests. */
  readonly onStop: () => Promise<void>;
}

/**
 * Starts a server the way every entry point does: JSON request logs with request ids, the
 * entry's plugins, and a clean stop on SIGTERM (which Lambda sends before it ends an execution
 * environment) or SIGINT. Auth is one of the plugins, so an entry without user routes (the
 * projector) carries no auth code at all.
 */
export async function serve(options: ServeOptions): Promise<Server> {
  const { logger } = options;
  logUncaughtErrors(logger, process, options.fatal ? { fatal: options.fatal } : {});
  const server = createHttpServer({ port: options.port, host: options.host, ...(options.corsOrigins ? { corsOrigins: options.corsOrigins } : {}) });
  await server.register([
    requestLogging(logger, { ignorePaths: options.healthPaths }),
    ...options.plugins,
  ]);
  await server.start();
  logger.info({ url: server.info.uri }, 'listening');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    // Whatever fails on the way out (a closed stdout, a store that hangs up), the process ends.
    try {
      logger.info({ signal }, 'shutting down');
      await server.stop({ timeout: 5_000 });
      await options.onStop();
      logger.info('stopped');
    } catch (error) {
      try {
        logger.error({ err: error }, 'stop failed');
      } catch {
        // stdout itself may be what failed
      }
      process.exit(1);
    }
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  return server;
}
