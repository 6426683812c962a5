import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { childEnv } from './child-env.ts';

export interface Running {
  readonly child: ChildProcess;
  readonly url: string;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
}

/** `npm start`'s entry in a child process on a free port, its data under `dataDir`; resolves once it listens. */
export function startLocal(dataDir: string, env: Record<string, string> = {}): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/entry/local.ts'], {
    env: childEnv({ PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'info', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  createInterface({ input: child.stderr! }).on('line', (line) => lines.push(line));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'listening' && entry.url) resolve({ child, url: entry.url, lines, exited });
      } catch {
        // not a log line
      }
    });
    void exited.then((code) => reject(new Error(`exited with ${code}:\n${lines.join('\n')}`)));
  });
}

/** A JSON call to a running server as the holder of `authorization` (a bearer header), bounded by a minute. */
export async function callAs(
  authorization: string,
  url: string,
  method: string,
  path: string,
  body?: object,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(60_000),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/**
 * Every message of a chat in the read model, page by page: id → how many times it was listed.
 * Undefined while the chat itself is not there (not projected yet, or not the caller's).
 */
export async function listedMessages(authorization: string, url: string, chat: string): Promise<Map<string, number> | undefined> {
  const seen = new Map<string, number>();
  let cursor: string | null = null;
  do {
    const before: string = cursor ? `&before=${encodeURIComponent(cursor)}` : '';
    const page = await callAs(authorization, url, 'GET', `/query/v1/group-chats/${chat}/messages?limit=200${before}`);
    if (page.status !== 200) return undefined;
    for (const { messageId } of page.json.items as { messageId: string }[]) seen.set(messageId, (seen.get(messageId) ?? 0) + 1);
    cursor = page.json.nextCursor as string | null;
  } while (cursor !== null);
  return seen;
}
