import { execFileSync } from 'node:child_process';
import { mkdtemp, open, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { issueToken } from '../shared/auth.ts';
import { startLocal } from '../testing/local-process.ts';

/**
 * A full disk under `npm start` (README.md, "When the disk is full"): the
 * embedded event log refuses writes once its folder cannot grow, and LevelDB keeps refusing until
 * it is reopened, so the process says why in one line and exits 1. Started again with space back,
 * every write it acknowledged is there and new ones work. Needs a small filesystem of its own: a
 * tmpfs, which only root may mount.
 */
const secret = 'full-disk-test-secret-0123456789';
const token = issueToken('alice', secret);

function mountTmpfs(dir: string): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=96m', 'tmpfs', dir], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'a small filesystem is needed: mounting a tmpfs needs root';
  }
}

/** Fills the filesystem of `dir` up to `leaveKb` kilobytes. */
async function fill(dir: string, leaveKb: number): Promise<string> {
  const path = join(dir, 'filler');
  const { bavail, bsize } = await statfs(dir);
  const file = await open(path, 'w');
  const chunk = Buffer.alloc(1024 * 1024);
  let left = bavail * bsize - leaveKb * 1024;
  while (left > 0) {
    const { bytesWritten } = await file.write(chunk, 0, Math.min(chunk.length, left));
    left -= bytesWritten;
  }
  await file.close();
  return path;
}

const dir = await mkdtemp(join(tmpdir(), 'cqrs-full-disk-'));
const skip = mountTmpfs(dir);
t.teardown(async () => {
  if (!skip) execFileSync('umount', ['-l', dir]);
  await rm(dir, { recursive: true, force: true });
});

t.test('a full disk stops npm start with one line; restarted with space, nothing acknowledged is missing', { skip: skip ?? false }, async (t) => {
  const dataDir = join(dir, 'data');
  const first = await startLocal(dataDir, { JWT_SECRET: secret });
  const call = async (url: string, method: string, path: string, body?: object) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(60_000),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };
  const chat = (await call(first.url, 'POST', '/command/v1/group-chats', { name: 'Full disk' })).json.groupChatId as string;
  const filler = await fill(dir, 300);

  const acknowledged: string[] = [];
  let exitCode: number | null | undefined;
  void first.exited.then((code) => (exitCode = code));
  for (let n = 0; exitCode === undefined && n < 5_000; n++) {
    const posted = await call(first.url, 'POST', `/command/v1/group-chats/${chat}/messages`, { text: `message ${n} ${'x'.repeat(600)}` }).catch(() => undefined);
    if (posted?.status === 201) acknowledged.push(posted.json.messageId as string);
    else break;
  }
  t.equal(await first.exited, 1, 'the process exits 1 once its log cannot be written');
  const fatal = first.lines.map((line) => JSON.parse(line) as { level?: number; msg?: string }).filter((entry) => entry.level === 60);
  t.match(fatal, [{ msg: new RegExp(`^the event log in ${dataDir}/dynamodb cannot be written \\(.*No space left on device\\): stopping`) }], 'one line that says why');
  t.ok(acknowledged.length > 0, `${acknowledged.length} posts acknowledged before the disk was full`);

  await rm(filler);
  const second = await startLocal(dataDir, { JWT_SECRET: secret });
  t.teardown(() => second.child.kill());
  const ids = new Set<string>();
  for (let cursor: string | null = null, first = true; first || cursor !== null; first = false) {
    const page = await call(second.url, 'GET', `/query/v1/group-chats/${chat}/messages?limit=200${cursor ? `&before=${encodeURIComponent(cursor)}` : ''}`);
    for (const item of page.json.items as { messageId: string }[]) ids.add(item.messageId);
    cursor = page.json.nextCursor as string | null;
  }
  t.same(acknowledged.filter((id) => !ids.has(id)), [], 'every acknowledged post is there');
  t.equal((await call(second.url, 'POST', `/command/v1/group-chats/${chat}/messages`, { text: 'space is back' })).status, 201, 'and writes work again');
});
