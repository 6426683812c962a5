import { spawn } from 'node:child_process';
import type { SpawnOptions } from 'node:child_process';

export interface Ended {
  /** The exit code, or null when a signal ended the process. */
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command to its end and hands back what it wrote. There is no time limit on purpose: on
 * a loaded machine a child takes as long as it takes, and a hung one is caught by the test file's
 * own timeout, which is far above anything a busy machine causes. Unlike spawnSync, the test's
 * event loop keeps running meanwhile (servers it started keep answering the child).
 */
export function runToEnd(command: string, args: readonly string[], options: Pick<SpawnOptions, 'cwd' | 'env'> = {}): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}
