import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, open, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import type { Test } from 'tap';
import { issueToken } from '../shared/auth.ts';
import { callAs, listedMessages, startLocal } from '../testing/local-process.ts';
import type { Running } from '../testing/local-process.ts';

/**
 * A full disk under `npm start` (README.md, "When the disk is full"): the
 * embedded event log refuses writes once its folder cannot grow, and LevelDB keeps refusing until
 * it is reopened, so the process says why in one line and exits 1. Started again with space back,
 * every write it acknowledged is there and new ones work. Needs a small filesystem of its own: a
 * tmpfs, which only root may mount.
 */
const secret = 'full-disk-test-secret-0123456789';
// The embedded stores are what fills up here: the servers started below never get a DATABASE_URL
// (`.ci/run` sets one for the tests that use Postgres).
delete process.env.DATABASE_URL;
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

const call = (url: string, method: string, path: string, body?: object) => callAs(`Bearer ${token}`, url, method, path, body);

/** Posts into a new chat until `running` exits (or stops acknowledging); returns the chat and what was acknowledged. */
async function postUntilStopped(running: Running, fillUp: () => Promise<string>) {
  const chat = (await call(running.url, 'POST', '/command/v1/group-chats', { name: 'Full disk' })).json.groupChatId as string;
  const filler = await fillUp();
  const acknowledged: string[] = [];
  let exitCode: number | null | undefined;
  void running.exited.then((code) => (exitCode = code));
  for (let n = 0; exitCode === undefined && n < 20_000; n++) {
    const posted = await call(running.url, 'POST', `/command/v1/group-chats/${chat}/messages`, { text: `message ${n} ${'x'.repeat(600)}` }).catch(() => undefined);
    if (posted?.status === 201) acknowledged.push(posted.json.messageId as string);
    else if (posted === undefined) break;
  }
  const fatal = running.lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as { level?: number; msg?: string }];
    } catch {
      return [];
    }
  });
  // A process that answers no more is on its way out: give it time to exit. One still serving
  // after 20,000 posts never met a full disk: stop it, and say so.
  const stopped = await Promise.race([running.exited, sleep(60_000, undefined, { ref: false }).then(() => `still running after ${acknowledged.length} posts`)]);
  if (typeof stopped === 'string') running.child.kill('SIGKILL');
  return { chat, filler, acknowledged, exitCode: stopped, fatal: fatal.filter((entry) => entry.level === 60).map((entry) => entry.msg) };
}

t.test('a full disk stops npm start with one line; restarted with space, nothing acknowledged is missing', { skip: skip ?? false }, async (t) => {
  const dataDir = join(dir, 'data');
  const first = await startLocal(dataDir, { JWT_SECRET: secret });
  const { chat, filler, acknowledged, exitCode, fatal } = await postUntilStopped(first, () => fill(dir, 300));
  t.equal(exitCode, 1, 'the process exits 1 once a store cannot be written');
  t.match(fatal, [new RegExp(`^the (event log|projection database) in ${dataDir}/(dynamodb|pglite) cannot be written \\(.*(No space left on device|could not extend file).*\\): stopping`)], 'one line that says why');
  t.ok(acknowledged.length > 0, `${acknowledged.length} posts acknowledged before the disk was full`);

  await rm(filler);
  await expectAll(t, dataDir, chat, acknowledged);
});

t.test('the projection database alone on a full filesystem stops npm start too; restarted with space, it is whole', { skip: skip ?? false }, async (t) => {
  // The event log has room; the PGlite folder, on a small filesystem of its own, has none.
  const dataDir = join(dir, 'pglite-only');
  const pglite = join(dataDir, 'pglite');
  await mkdir(pglite, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', pglite], { stdio: 'ignore' });
  t.teardown(() => execFileSync('umount', ['-l', pglite]));
  const first = await startLocal(dataDir, { JWT_SECRET: secret });
  const { chat, filler, acknowledged, exitCode, fatal } = await postUntilStopped(first, () => fill(pglite, 200));
  t.equal(exitCode, 1, 'the process exits 1 once the projection database cannot be written');
  t.match(fatal, [new RegExp(`^the projection database in ${pglite} cannot be written \\(.*\\): stopping`)], 'one line that says why');
  await rm(filler);
  await expectAll(t, dataDir, chat, acknowledged);
});

/** Starts npm start again on `dataDir` and checks every acknowledged post is there and new ones work. */
async function expectAll(t: Test, dataDir: string, chat: string, acknowledged: readonly string[]) {
  const second = await startLocal(dataDir, { JWT_SECRET: secret });
  t.teardown(() => second.child.kill());
  // The projection catches up with the log once the server listens: wait for it to hold them all.
  let missing: string[] = [...acknowledged];
  for (const deadline = Date.now() + 120_000; missing.length > 0 && Date.now() < deadline; await sleep(200)) {
    const ids = (await listedMessages(`Bearer ${token}`, second.url, chat)) ?? new Map<string, number>();
    missing = acknowledged.filter((id) => !ids.has(id));
  }
  t.same(missing, [], `every acknowledged post (${acknowledged.length}) is there`);
  t.equal((await call(second.url, 'POST', `/command/v1/group-chats/${chat}/messages`, { text: 'space is back' })).status, 201, 'and writes work again');
}


t.test('a projection folder PGlite cannot open stops the start with one line saying to remove it; removed, the log rebuilds it', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cqrs-broken-pglite-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const first = await startLocal(dataDir, { JWT_SECRET: secret });
  const chat = (await call(first.url, 'POST', '/command/v1/group-chats', { name: 'Broken' })).json.groupChatId as string;
  const posted = await call(first.url, 'POST', `/command/v1/group-chats/${chat}/messages`, { text: 'kept in the log' });
  first.child.kill('SIGTERM');
  t.equal(await first.exited, 0);
  // What a full disk was seen to leave behind: a folder PGlite refuses to open.
  await writeFile(join(dataDir, 'pglite', 'global', 'pg_control'), Buffer.alloc(8192));
  const refused = await startLocal(dataDir, { JWT_SECRET: secret }).catch((error: Error) => error);
  t.type(refused, Error, 'the start fails');
  t.match((refused as Error).message, new RegExp(`the embedded projection database in ${join(dataDir, 'pglite')} cannot be opened .*remove it \\(rm -rf ${join(dataDir, 'pglite')}\\) and start again`));
  await rm(join(dataDir, 'pglite'), { recursive: true });
  await expectAll(t, dataDir, chat, [posted.json.messageId as string]);
});
