/**
 * docs/budgets.md figures of the local one-process service, run as `npm start` runs it
 * (src/entry/local.ts through tsx, in a child process of its own, embedded dynalite in it, a fresh
 * DATA_DIR, and the Postgres of DATABASE_URL or its embedded PGlite):
 *  - projection lag (command answered → the message is in the read model), idle and under
 *    sustained load from concurrent writers, with delivery failures and the time to full
 *    visibility once the load stops;
 *  - memory under mixed load (writers and readers): RSS over time, its peak, and RSS once the
 *    load has stopped and garbage was collected.
 */
import { mkdtemp } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProjectionDatabase } from '../../src/modules/projection/index.ts';
import { issueToken } from '../../src/shared/auth.ts';
import type { BenchContext } from './context.ts';
import { spread } from './load.ts';
import type { Spread } from './load.ts';
import { cleanEnv, freePort, rssMb, spawnProcess, stop, waitFor200 } from './processes.ts';
import { measured, round } from './report.ts';
import type { Row } from './report.ts';

const lagBudget = 50;
const rssBudget = 400;
/** "Back near idle": at most this multiple of the RSS right after start. */
const nearIdle = 1.5;

export interface LocalProcess {
  readonly base: string;
  readonly pid: number;
  readonly database?: ProjectionDatabase;
  /** RSS of the first start on the empty DATA_DIR, when the process was restarted. */
  readonly firstStartRss?: number;
  readonly logged: { warnings: number; deliveryFailures: number; samples: string[] };
  call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }>;
  /** Collects garbage in the process and reads process.memoryUsage() there. */
  memory(): Promise<NodeJS.MemoryUsage | undefined>;
  exited(): boolean;
  output(): string;
  stop(): Promise<void>;
}

export interface LocalOptions {
  /** Projections in Postgres (DATABASE_URL) rather than the embedded PGlite. */
  readonly postgres: boolean;
  /**
   * Start once on the empty DATA_DIR and stop, then start again: the figures are of a process
   * on existing data, as after any restart (the first start also initialises PGlite's files).
   */
  readonly restart?: boolean;
}

export async function startLocal(context: BenchContext, name: string, options: LocalOptions): Promise<LocalProcess> {
  const dataDir = await mkdtemp(join(context.work, `${name}-`));
  const database = options.postgres ? await context.freshDatabase(`bench_${name}`) : undefined;
  let firstStartRss: number | undefined;
  if (options.restart) {
    const first = await launchLocal(context, dataDir, database);
    firstStartRss = await rssMb(first.pid);
    await first.stop();
  }
  const local = await launchLocal(context, dataDir, database);
  return { ...local, ...(firstStartRss === undefined ? {} : { firstStartRss }) };
}

async function launchLocal(context: BenchContext, dataDir: string, database: ProjectionDatabase | undefined): Promise<LocalProcess> {
  const port = await freePort();
  const env = cleanEnv({
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    JWT_SECRET: context.secret,
    DATABASE_URL: database ? context.databaseUrl : undefined,
    DATABASE_SCHEMA: database?.schema,
  });
  const args = ['--expose-gc', '--import', resolve('tools/bench/memory-probe.mjs'), '--import', 'tsx', 'src/entry/local.ts'];
  const spawned = spawnProcess(process.execPath, args, env, process.cwd());
  const logged = { warnings: 0, deliveryFailures: 0, samples: [] as string[] };
  let memoryWaiter: ((usage: NodeJS.MemoryUsage) => void) | undefined;
  spawned.onLine((line) => {
    if (!line.startsWith('{')) return;
    let entry: { level?: number; msg?: string; benchMemory?: NodeJS.MemoryUsage };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      return;
    }
    if (entry.benchMemory) {
      memoryWaiter?.(entry.benchMemory);
      return;
    }
    if ((entry.level ?? 0) >= 40 && !/JWT_SECRET/.test(entry.msg ?? '')) {
      logged.warnings++;
      if (/projection.*fail|fail.*projection/i.test(entry.msg ?? '')) logged.deliveryFailures++;
      if (logged.samples.length < 5) logged.samples.push(line.slice(0, 400));
    }
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor200(`${base}/command/v1/healthcheck`, spawned.child, 120_000);
    await waitFor200(`${base}/query/healthcheck`, spawned.child, 120_000);
  } catch (error) {
    await stop(spawned.child);
    throw new Error(`npm start: ${(error as Error).message}\n${spawned.output().slice(-3_000)}`, { cause: error });
  }
  const headers = { authorization: `Bearer ${issueToken('bench', context.secret)}`, 'content-type': 'application/json' };
  return {
    base,
    pid: spawned.child.pid!,
    ...(database ? { database } : {}),
    logged,
    call: async (method, path, body) => {
      const response = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      const text = await response.text();
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // not JSON: the status tells
      }
      return { status: response.status, json };
    },
    memory: async () => {
      const reading = new Promise<NodeJS.MemoryUsage>((resolve) => (memoryWaiter = resolve));
      spawned.child.kill('SIGUSR2');
      return Promise.race([reading, sleep(10_000).then(() => undefined)]);
    },
    exited: () => spawned.child.exitCode !== null,
    output: spawned.output,
    stop: () => stop(spawned.child),
  };
}

async function createChat(local: LocalProcess, name: string): Promise<string> {
  const created = await local.call('POST', '/command/v1/group-chats', { name });
  if (created.status !== 201) throw new Error(`create chat → ${created.status} ${JSON.stringify(created.json)}`);
  return created.json.groupChatId as string;
}

/** Whether a message is in the read model: straight from Postgres when there is one, else through the query API. */
function visibility(local: LocalProcess, probeChat: string): { check: (messageId: string) => Promise<boolean>; how: string } {
  if (local.database) {
    const db = local.database.db;
    return { check: async (messageId) => (await db.selectFrom('messages').select('message_id').where('message_id', '=', messageId).executeTakeFirst()) !== undefined, how: 'polled in Postgres' };
  }
  return {
    check: async (messageId) => {
      const page = await local.call('GET', `/query/v1/group-chats/${probeChat}/messages?limit=1`);
      return (page.json.items as { messageId: string }[] | undefined)?.[0]?.messageId === messageId;
    },
    how: 'polled through the query API (PGlite is inside the process)',
  };
}

interface Probe {
  /** How long a probe waits for its message; one that waits longer counts as this much (censored). */
  readonly limitMs: number;
  /** Including censored probes, at `limitMs`. */
  readonly lags: number[];
  readonly floors: number[];
  /** Probes whose message was not visible within `limitMs`. */
  timeouts: number;
  errors: number;
}

/** Posts one message and polls until it is visible; the poll of a row already there is the probe's floor. */
async function probeOnce(local: LocalProcess, chat: string, check: (id: string) => Promise<boolean>, into: Probe): Promise<void> {
  const posted = await local.call('POST', `/command/v1/group-chats/${chat}/messages`, { text: 'probe' }).catch(() => undefined);
  if (posted?.status !== 201) {
    into.errors++;
    return;
  }
  const t0 = performance.now();
  const id = posted.json.messageId as string;
  for (;;) {
    if (await check(id)) break;
    if (performance.now() - t0 > into.limitMs) {
      into.timeouts++;
      into.lags.push(into.limitMs);
      return;
    }
    await sleep(1);
  }
  into.lags.push(performance.now() - t0);
  const t1 = performance.now();
  await check(id);
  into.floors.push(performance.now() - t1);
}

interface Writers {
  readonly acknowledged: Map<string, number>;
  writes: number;
  failures: number;
  /** Called with each acknowledged post's message id, as the answer arrives. */
  readonly onAcknowledged?: (messageId: string) => void;
}

/** `count` writers, one chat each, posting until `until`. */
async function runWriters(local: LocalProcess, chats: readonly string[], until: number, into: Writers): Promise<void> {
  await Promise.all(
    chats.map(async (chat) => {
      for (let n = 0; performance.now() < until && n < 10_000_000; n++) {
        if (local.exited()) throw new Error(`npm start exited under load\n${local.output().slice(-3_000)}`);
        const posted = await local.call('POST', `/command/v1/group-chats/${chat}/messages`, { text: `load ${n}` }).catch(() => undefined);
        if (posted?.status === 201) {
          into.writes++;
          into.acknowledged.set(chat, (into.acknowledged.get(chat) ?? 0) + 1);
          into.onAcknowledged?.(posted.json.messageId as string);
        } else {
          into.failures++;
        }
      }
    }),
  );
}

/**
 * Lag of a sample of the writers' own posts (every `every`-th acknowledged one), watched in
 * Postgres in batches: each poll asks for all the sampled ids not seen yet, so hundreds of posts
 * are timed at once at the cost of one query every few milliseconds. The time a poll takes is
 * the floor (the resolution) of the figure.
 */
function sampledLag(db: NonNullable<LocalProcess['database']>['db'], every: number, into: Probe) {
  const pending = new Map<string, number>();
  let count = 0;
  let loading = true;
  const watcher = (async () => {
    while (loading || pending.size > 0) {
      const ids = [...pending.keys()].slice(0, 1_000);
      if (ids.length > 0) {
        const t0 = performance.now();
        const seen = await db.selectFrom('messages').select('message_id').where('message_id', 'in', ids).execute();
        const now = performance.now();
        into.floors.push(now - t0);
        for (const { message_id } of seen) {
          into.lags.push(now - pending.get(message_id)!);
          pending.delete(message_id);
        }
        for (const [id, at] of pending) {
          if (now - at <= into.limitMs) continue;
          into.timeouts++;
          into.lags.push(into.limitMs);
          pending.delete(id);
        }
      }
      await sleep(2);
    }
  })();
  return {
    acknowledged: (messageId: string) => {
      if (count++ % every === 0) pending.set(messageId, performance.now());
    },
    /** Waits until every sampled post was seen or censored. */
    drain: async () => {
      loading = false;
      await watcher;
    },
    get pending() {
      return pending.size;
    },
  };
}

/** How long after the load until every acknowledged message is visible (or undefined past `limitMs`). */
/**
 * Polls until every acknowledged post is in the read model. `pollMs` is the last poll's own time
 * (a count over every acknowledged post, or every page of every chat): the figure cannot resolve
 * anything shorter, and includes it.
 */
async function fullVisibility(local: LocalProcess, acknowledged: ReadonlyMap<string, number>, limitMs: number): Promise<{ ms?: number; pollMs?: number; missing: number }> {
  const t0 = performance.now();
  const expected = [...acknowledged.values()].reduce((s, v) => s + v, 0);
  let missing = expected;
  const done = new Set<string>();
  while (performance.now() - t0 < limitMs) {
    const polled = performance.now();
    if (local.database) {
      const chats = [...acknowledged.keys()];
      const counted = await local.database.db.selectFrom('messages').select((eb) => eb.fn.countAll<string>().as('count')).where('group_chat_id', 'in', chats).executeTakeFirstOrThrow();
      missing = expected - Number(counted.count);
    } else {
      missing = 0;
      for (const [chat, count] of acknowledged) {
        if (done.has(chat)) continue;
        let seen = 0;
        let cursor: string | null = null;
        do {
          const page = await local.call('GET', `/query/v1/group-chats/${chat}/messages?limit=200${cursor ? `&before=${encodeURIComponent(cursor)}` : ''}`);
          seen += (page.json.items as unknown[] | undefined)?.length ?? 0;
          cursor = (page.json.nextCursor as string | null | undefined) ?? null;
        } while (cursor);
        if (seen >= count) done.add(chat);
        else missing += count - seen;
      }
    }
    if (missing <= 0) return { ms: performance.now() - t0, pollMs: performance.now() - polled, missing: 0 };
    await sleep(20);
  }
  return { missing };
}

function ticker(context: BenchContext, title: string, seconds: number, describe: () => string): () => void {
  const started = performance.now();
  const every = context.smoke ? 1_000 : 15_000;
  const timer = setInterval(() => context.log(`[${title}] ${Math.round((performance.now() - started) / 1000)} of ${seconds} s: ${describe()}`), every);
  return () => clearInterval(timer);
}

const censored = (probe: Probe, what = 'probes') => (probe.timeouts ? `; ${probe.timeouts} of ${probe.lags.length} ${what} not visible within ${probe.limitMs / 1000} s count as ${probe.limitMs / 1000} s` : '');

const lagSpread = (lag: Spread, floor: Spread) => `p50 ${round(lag.p50)} vs ${round(floor.p50)} ms, p90 ${round(lag.p90)} vs ${round(floor.p90)} ms, max ${round(lag.max)} ms, n = ${lag.n}`;

/** `shared`: a process to use and leave running (a smoke run measures lag and memory on one). */
export async function projectionLag(context: BenchContext, shared?: LocalProcess): Promise<Row[]> {
  const { lagSamples, writers, loadSeconds } = context.sizes;
  if (!shared) context.log('[lag] starting npm start (src/entry/local.ts) in a child process…');
  const local = shared ?? (await startLocal(context, 'lag', { postgres: context.databaseUrl !== undefined }));
  try {
    const probeChat = await createChat(local, 'Lag probe');
    const { check, how } = visibility(local, probeChat);
    const store = local.database ? 'Postgres (DATABASE_URL)' : 'PGlite';
    const limitMs = context.smoke ? 10_000 : 60_000;
    const idle: Probe = { limitMs, lags: [], floors: [], timeouts: 0, errors: 0 };
    for (let n = 0; n < lagSamples; n++) {
      await probeOnce(local, probeChat, check, idle);
      if ((n + 1) % 50 === 0 || n + 1 === lagSamples) context.log(`[lag] idle probe ${n + 1} of ${lagSamples}`);
      await sleep(5);
    }
    const idleLag = spread(idle.lags);
    const idleFloor = spread(idle.floors);
    const rows: Row[] = [
      measured('lag', `projection lag, npm start, idle, ${store} (p99)`, idleLag.p99, idleFloor.p99, 'ms', `p99 ≤ ${lagBudget} ms`, idleLag.p99 <= lagBudget && idle.timeouts === 0, {
        spread: lagSpread(idleLag, idleFloor),
        note: `201 of a post → the message is in the read model, ${how}; baseline: one poll of a row already there (the probe's resolution)${censored(idle)}`,
      }),
    ];

    context.log(`[lag] creating ${writers} chats for the writers…`);
    const chats: string[] = [];
    for (let n = 0; n < writers; n++) chats.push(await createChat(local, `Writer ${n}`));
    const failuresBefore = local.logged.deliveryFailures;
    const warningsBefore = local.logged.warnings;
    const loaded: Probe = { limitMs, lags: [], floors: [], timeouts: 0, errors: 0 };
    // With Postgres, a sample of the writers' own posts is timed; without, one probe at a time through the API.
    const sampler = local.database ? sampledLag(local.database.db, 10, loaded) : undefined;
    const written: Writers = { acknowledged: new Map(), writes: 0, failures: 0, ...(sampler ? { onAcknowledged: sampler.acknowledged } : {}) };
    const until = performance.now() + loadSeconds * 1000;
    const stopTicker = ticker(
      context,
      `lag under load, ${writers} writers`,
      loadSeconds,
      () =>
        `${written.writes} posts, ${written.failures} failed; lag of ${loaded.lags.length} ${sampler ? 'sampled posts' : 'probes'} so far: p50 ${round(spread(loaded.lags).p50 || 0)} ms, ${loaded.timeouts} over ${loaded.limitMs / 1000} s${sampler ? `, ${sampler.pending} waiting` : ''}; ${local.logged.deliveryFailures - failuresBefore} delivery failures logged`,
    );
    const started = performance.now();
    const prober = sampler
      ? Promise.resolve()
      : (async () => {
          while (performance.now() < until) {
            await probeOnce(local, probeChat, check, loaded);
            await sleep(20);
          }
        })();
    try {
      await Promise.all([runWriters(local, chats, until, written), prober]);
    } finally {
      stopTicker();
    }
    const seconds = (performance.now() - started) / 1000;
    context.log('[lag] load stopped; waiting until every acknowledged post is visible…');
    const visibilityLimit = context.smoke ? 30_000 : 300_000;
    const [visible] = await Promise.all([fullVisibility(local, written.acknowledged, visibilityLimit), sampler?.drain()]);
    const loadLag = spread(loaded.lags);
    const loadFloor = spread(loaded.floors);
    const failures = local.logged.deliveryFailures - failuresBefore;
    const warnings = local.logged.warnings - warningsBefore;
    context.raw.lag = { store, how, idle: { lag: idleLag, floor: idleFloor, ...idle, lags: undefined, floors: undefined }, load: { writers, seconds, writes: written.writes, failedPosts: written.failures, lag: loadLag, floor: loadFloor, timeouts: loaded.timeouts, probeErrors: loaded.errors, deliveryFailures: failures, warnings, warningSamples: local.logged.samples, visibility: visible } };
    rows.push(
      measured('lag', `projection lag, npm start, ${writers} concurrent writers for ${loadSeconds} s, ${store} (p99)`, loadLag.p99, loadFloor.p99, 'ms', `p99 ≤ ${lagBudget} ms`, loadLag.p99 <= lagBudget && loaded.timeouts === 0, {
        spread: lagSpread(loadLag, loadFloor),
        note: `${round(written.writes / seconds)} posts/s acknowledged, ${written.failures} failed; ${failures} projection delivery failures logged ("projection failed"), ${warnings} warnings in all${censored(loaded, sampler ? 'sampled posts' : 'probes')}; ${sampler ? 'every 10th acknowledged post timed from its 201 until it is in Postgres (polled in batches); baseline: one such poll' : `one probe post at a time, ${how}; baseline: one poll of a row already there`}`,
      }),
    );
    rows.push(
      visible.ms === undefined
        ? { group: 'lag', figure: `time to full visibility after the load, ${store}`, ours: null, baseline: round(idleLag.p99, 2), unit: 'ms', ratio: null, budget: `≤ ${lagBudget} ms`, verdict: 'over', note: `${visible.missing} of ${written.writes} acknowledged posts still not visible ${visibilityLimit / 1000} s after the load stopped` }
        : measured('lag', `time to full visibility after the load, ${store}`, visible.ms, visible.pollMs!, 'ms', `≤ ${lagBudget} ms beyond one poll`, visible.ms - visible.pollMs! <= lagBudget, {
            note: `from the last writer's answer until all ${written.writes} acknowledged posts are in the read model; baseline: the time of the poll that found them all (counting every acknowledged post), which the figure includes: the verdict is on the difference`,
          }),
    );
    return rows;
  } finally {
    if (!shared) await local.stop();
  }
}

/**
 * `postgres`: the projections in the Postgres of DATABASE_URL (the event log's memory alone), else
 * `npm start` as it comes (dynalite and PGlite both in the process).
 */
export async function memoryUnderLoad(context: BenchContext, postgres: boolean, shared?: LocalProcess): Promise<Row[]> {
  const { soakWriters, soakReaders, soakSeconds, settleSeconds } = context.sizes;
  const stores = shared ? (shared.database ? 'Postgres' : 'PGlite') : postgres ? 'Postgres' : 'PGlite';
  const title = `memory, ${stores === 'PGlite' ? 'embedded dynalite + PGlite' : 'embedded dynalite, Postgres'}`;
  if (!shared) context.log(`[${title}] starting npm start (src/entry/local.ts) in a child process, on a DATA_DIR it already initialised…`);
  const local = shared ?? (await startLocal(context, `memory_${stores.toLowerCase()}`, { postgres, restart: !context.smoke }));
  try {
    const chats: string[] = [];
    for (let n = 0; n < soakWriters; n++) chats.push(await createChat(local, `Soak ${n}`));
    await sleep(context.smoke ? 500 : 5_000);
    const idleUsage = await local.memory();
    const idle = await rssMb(local.pid);
    const samples: [number, number][] = [];
    const started = performance.now();
    const until = started + soakSeconds * 1000;
    const written: Writers = { acknowledged: new Map(), writes: 0, failures: 0 };
    const reads: number[] = [];
    let readFailures = 0;
    const sampler = setInterval(() => {
      rssMb(local.pid).then(
        (rss) => samples.push([round((performance.now() - started) / 1000), round(rss)]),
        () => undefined,
      );
    }, context.smoke ? 250 : 1_000);
    const peakSoFar = () => Math.max(0, ...samples.map(([, rss]) => rss));
    const stopTicker = ticker(context, `${title}, ${soakWriters} writers + ${soakReaders} readers`, soakSeconds, () => `${written.writes} posts, ${reads.length} reads, RSS ${samples[samples.length - 1]?.[1] ?? '?'} MB (peak ${peakSoFar()} MB)`);
    const readers = (measure: number[], deadline: number) =>
      Promise.all(
        Array.from({ length: soakReaders }, async (_, r) => {
          for (let n = 0; performance.now() < deadline && n < 10_000_000; n++) {
            const path = n % 4 === 3 ? '/query/v1/group-chats' : `/query/v1/group-chats/${chats[(r + n) % chats.length]}/messages?limit=50`;
            const t0 = performance.now();
            const answer = await local.call('GET', path).catch(() => undefined);
            if (answer?.status === 200) measure.push(performance.now() - t0);
            else readFailures++;
          }
        }),
      );
    try {
      await Promise.all([runWriters(local, chats, until, written), readers(reads, until)]);
    } finally {
      stopTicker();
      clearInterval(sampler);
    }
    const seconds = (performance.now() - started) / 1000;
    context.log(`[${title}] load stopped; ${settleSeconds} s quiet, then garbage collection…`);
    await sleep(settleSeconds * 1000);
    const afterUsage = await local.memory();
    await sleep(500);
    const after = await rssMb(local.pid);
    // Read-only for comparison: the same readers, no writers, on the same data.
    const readOnly: number[] = [];
    const readOnlySeconds = context.smoke ? 1 : 20;
    context.log(`[${title}] ${readOnlySeconds} s of reads alone, for the query latency baseline…`);
    await readers(readOnly, performance.now() + readOnlySeconds * 1000);
    const peak = Math.max(idle, ...samples.map(([, rss]) => rss));
    const mixed = spread(reads);
    const alone = spread(readOnly);
    const mb = (usage?: NodeJS.MemoryUsage) => (usage ? `heap ${round(usage.heapUsed / 1048576)} MB, external ${round(usage.external / 1048576)} MB` : 'not read');
    context.raw[`memory:${stores}`] = { soakSeconds: seconds, writers: soakWriters, readers: soakReaders, idle, peak, after, idleUsage, afterUsage, writes: written.writes, failedPosts: written.failures, reads: reads.length, readFailures, rssOverTime: samples, readLatency: { mixed, readOnly: alone } };
    const load = `${soakWriters} writers + ${soakReaders} readers for ${soakSeconds} s`;
    const where = stores === 'PGlite' ? 'npm start as it comes (dynalite and PGlite in the process)' : 'npm start with DATABASE_URL (dynalite in the process, projections in Postgres)';
    const first = local.firstStartRss === undefined ? '' : `; first start on the empty DATA_DIR: ${round(local.firstStartRss)} MB`;
    return [
      measured('memory', `npm start RSS peak, ${load}, ${stores}`, peak, idle, 'MB', `≤ ${rssBudget} MB`, peak <= rssBudget, {
        spread: `${samples.length} readings, one per ${context.smoke ? '0.25' : '1'} s`,
        note: `${where}; ${written.writes} posts (${written.failures} failed), ${reads.length} reads (${readFailures} failed); baseline: RSS idle after start (${mb(idleUsage)})${first}`,
      }),
      measured('memory', `npm start RSS after the load (${settleSeconds} s quiet, GC), ${stores}`, after, idle, 'MB', `≤ ${nearIdle}× idle (back near idle)`, after <= idle * nearIdle, {
        note: `${mb(afterUsage)} after GC (the JavaScript heap against the rest: dynalite's LevelDB, PGlite's WebAssembly memory, buffers); baseline: RSS idle after start`,
      }),
      measured('memory', `query latency under mixed load (p50), ${stores}`, mixed.p50, alone.p50, 'ms', 'info', undefined, {
        spread: `p90 ${round(mixed.p90)} vs ${round(alone.p90)} ms, n = ${mixed.n} vs ${alone.n}`,
        note: `the readers during the load; baseline: the same readers alone for ${readOnlySeconds} s afterwards`,
      }),
    ];
  } finally {
    if (!shared) await local.stop();
  }
}
