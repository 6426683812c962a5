import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { createLogger } from '../shared/logging.ts';

/**
 * The project's logger (shared/logging.ts) writing into memory: tests read exactly what would
 * have reached standard output.
 */
export function capturedLogger(level = 'debug'): { logger: Logger; lines: () => string[]; entries: () => Record<string, unknown>[] } {
  const written: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      written.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ level, destination });
  const lines = () => written.join('').split('\n').filter((line) => line.length > 0);
  return { logger, lines, entries: () => lines().map((line) => JSON.parse(line) as Record<string, unknown>) };
}
