/** Child processes for the benchmark: free ports, readiness polling, memory readings, clean stops. */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export { freePort } from '../rehearsal/processes.ts';

/**
 * Polls `url` until it answers 200, as the Lambda Web Adapter's readiness check does. Fails when
 * the process exits first (a bundle that cannot start) or after `deadlineMs`.
 */
export async function waitFor200(url: string, child?: ChildProcess, deadlineMs = 60_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const ok = await fetch(url).then(
      async (response) => {
        await response.arrayBuffer().catch(() => undefined);
        return response.status === 200;
      },
      () => false,
    );
    if (ok) return;
    if (child && child.exitCode !== null) throw new Error(`${url}: the process exited with ${child.exitCode} before it was ready`);
    if (Date.now() > deadline) throw new Error(`${url} never answered 200`);
    await sleep(2);
  }
}

/** The environment of a spawned process: only what is given, plus PATH (nothing leaks in from the bench). */
export function cleanEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value;
  return env;
}

export interface Spawned {
  readonly child: ChildProcess;
  /** performance.now() just before spawn. */
  readonly spawnedAt: number;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** Calls `onLine` for each complete stdout line from now on. */
  onLine(listener: (line: string) => void): void;
}

export function spawnProcess(node: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd?: string): Spawned {
  const spawnedAt = performance.now();
  const child = spawn(node, args, { env, stdio: ['ignore', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });
  let output = '';
  let pending = '';
  const listeners: ((line: string) => void)[] = [];
  // Keep the last 64 KB: enough to explain a failure, bounded under a long load.
  const keep = (text: string) => {
    output = (output + text).slice(-65_536);
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    keep(text);
    if (listeners.length === 0) return;
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) for (const listener of listeners) listener(line);
  });
  child.stderr!.on('data', (chunk: Buffer) => keep(chunk.toString()));
  return { child, spawnedAt, output: () => output, onLine: (listener) => listeners.push(listener) };
}

export async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Resident set size of a process: /proc on Linux, `ps` elsewhere. */
export async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  if (status !== undefined) return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
  const { stdout } = await run('ps', ['-o', 'rss=', '-p', String(pid)]);
  return Number(stdout.trim()) / 1024;
}
