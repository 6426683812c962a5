import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseDockerfile } from '../../src/testing/dockerfile.ts';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** SIGTERM, then SIGKILL if the process is still there after `graceMs`. */
export async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface Function {
  readonly name: string;
  readonly port: number;
  /** The environment the process runs with (the Dockerfile's ENV and the function's settings). */
  readonly env: Readonly<Record<string, string>>;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts one Lambda function the way its container would: the Dockerfile's ENTRYPOINT and CMD
 * (or the function's CMD override) with the Dockerfile's ENV plus the function's environment,
 * `/app/` mapped to the folder holding the bundles, on a free port; then waits, like the Lambda
 * Web Adapter, until the readiness path answers 200 (generously: the machine may be loaded).
 */
export async function startFunction(options: {
  readonly name: string;
  readonly dockerfile: string;
  readonly bundlesDir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly cmd?: readonly string[];
  readonly logFile: string;
  readonly readyWithinMs?: number;
  /** The port to listen on (a restart keeps its function's port); a free one otherwise. */
  readonly port?: number;
}): Promise<Function> {
  const file = await parseDockerfile(options.dockerfile);
  const port = options.port ?? (await freePort());
  const env: Record<string, string> = { ...file.env, ...options.env, PORT: String(port), AWS_LWA_PORT: String(port) };
  const [command, ...args] = [...(file.entrypoint ?? []), ...(options.cmd ?? file.cmd ?? [])].map((part) => part.replace(/^\/app\//, `${options.bundlesDir}/`));
  if (command !== 'node') throw new Error(`${options.dockerfile}: the image runs ${command}, not node`);
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  child.once('exit', () => log.end());
  const readiness = `http://127.0.0.1:${port}${env.AWS_LWA_READINESS_CHECK_PATH ?? '/'}`;
  const deadline = Date.now() + (options.readyWithinMs ?? 60_000);
  for (;;) {
    const ok = await fetch(readiness).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stopProcess(child);
      throw new Error(`${options.name} did not become ready at ${readiness} (see ${options.logFile})`);
    }
    await sleep(100);
  }
  return { name: options.name, port, env, child, stop: () => stopProcess(child) };
}
