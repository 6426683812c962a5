/**
 * The maintainer's loops, timed on clean clones of the committed tree as a newcomer runs them:
 * `npm ci`, `npm test` alone (no DATABASE_URL, as the README gives it), two `npm test` at once
 * (both must pass: no test may depend on the machine being idle), `npm run typecheck` on the
 * fresh clone and again with nothing changed, and `npm run test:all`.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runToEnd } from '../../src/testing/run-to-end.ts';
import type { Row } from './report.ts';

export interface Ran {
  readonly ms: number;
  readonly code: number;
  /** tap's closing counts, when the command was a test run. */
  readonly tests?: { readonly pass: number; readonly fail: number };
  /** The last lines the command wrote, to explain a failure. */
  readonly tail: string;
}

/** Runs a command to its end (no time limit: the point is to see how long it takes). */
export type Runner = (command: string, args: readonly string[], options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv }) => Promise<Ran>;

/** tap's last summary line, `# { total: 2981, pass: 2966, fail: 1, skip: 15 }`. */
export function tapCounts(output: string): { pass: number; fail: number } | undefined {
  const summary = output.match(/^# \{ total: \d+[^}]*\}$/gm)?.at(-1);
  if (!summary) return undefined;
  const count = (name: string) => Number(new RegExp(`${name}: (\\d+)`).exec(summary)?.[1] ?? 0);
  return { pass: count('pass'), fail: count('fail') };
}

export const runCommand: Runner = async (command, args, { cwd, env }) => {
  const started = performance.now();
  const ended = await runToEnd(command, args, { cwd, env });
  const output = ended.stdout + ended.stderr;
  const tests = tapCounts(ended.stdout);
  return { ms: performance.now() - started, code: ended.status ?? 1, ...(tests ? { tests } : {}), tail: output.split('\n').slice(-15).join('\n') };
};

export interface LoopOptions {
  /** The repository to clone (its committed HEAD). */
  readonly root: string;
  /** For `npm run test:all`'s real-Postgres tests; `npm test` never gets it. */
  readonly databaseUrl?: string;
  readonly log: (message: string) => void;
  readonly run?: Runner;
}

export interface LoopFigures {
  readonly rows: Row[];
  readonly raw: Record<string, Ran>;
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

/** Every variable of this process but DATABASE_URL (and any of npm's own, which a nested npm sets again). */
function newcomerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (key !== 'DATABASE_URL' && !key.startsWith('npm_')) env[key] = value;
  return env;
}

export async function loopFigures(options: LoopOptions): Promise<LoopFigures> {
  const run = options.run ?? runCommand;
  const work = await mkdtemp(join(tmpdir(), 'bench-loops-'));
  try {
    const [a, b] = [join(work, 'a'), join(work, 'b')];
    const env = newcomerEnv();
    const step = async (name: string, cwd: string, command: string, args: readonly string[], extra: NodeJS.ProcessEnv = {}) => {
      options.log(`loops: ${name}`);
      return run(command, args, { cwd, env: { ...env, ...extra } });
    };
    for (const clone of [a, b]) {
      const cloned = await run('git', ['clone', '-q', options.root, clone], { cwd: work, env });
      if (cloned.code !== 0) throw new Error(`git clone of ${options.root} failed: ${cloned.tail}`);
    }
    const install = await step('npm ci', a, 'npm', ['ci', '--no-audit', '--no-fund']);
    if (install.code !== 0) throw new Error(`npm ci failed: ${install.tail}`);
    // The second clone gets the same installation, as a second checkout on one machine would.
    await cp(join(a, 'node_modules'), join(b, 'node_modules'), { recursive: true, verbatimSymlinks: true });
    const alone = await step('npm test, alone', a, 'npm', ['test']);
    options.log('loops: npm test, two at once');
    const [first, second] = await Promise.all([run('npm', ['test'], { cwd: a, env }), run('npm', ['test'], { cwd: b, env })]);
    const typecheck = await step('npm run typecheck, fresh clone', a, 'npm', ['run', 'typecheck']);
    const again = await step('npm run typecheck, again', a, 'npm', ['run', 'typecheck']);
    const all = await step('npm run test:all', a, 'npm', ['run', 'test:all'], options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {});

    const passed = (ran: Ran) => ran.code === 0 && ran.tests !== undefined && ran.tests.fail === 0;
    const counts = (ran: Ran) => (ran.tests ? `${ran.tests.pass} passed, ${ran.tests.fail} failed` : `exit ${ran.code}, no tap summary`);
    const row = (figure: string, ran: Ran, budget: string, within: boolean | undefined, note: string): Row => ({
      group: 'loops',
      figure,
      ours: seconds(ran.ms),
      baseline: null,
      unit: 's',
      ratio: null,
      budget,
      verdict: within === undefined ? 'info' : within ? 'within' : 'over',
      note,
    });
    const rows: Row[] = [
      row('npm ci, clean clone', install, 'info', undefined, "npm's cache as this machine has it"),
      row('npm test (fast tier), alone', alone, '≤ 120 s on 2 cores, passing', passed(alone) && alone.ms <= 120_000, `no DATABASE_URL, as the README gives it; ${counts(alone)}`),
      row(
        'npm test, two at once (the slower of the two)',
        first.ms > second.ms ? first : second,
        'both pass',
        passed(first) && passed(second),
        `two clones side by side; ${counts(first)} and ${counts(second)}; ${seconds(first.ms)} s and ${seconds(second.ms)} s`,
      ),
      row('npm run typecheck, fresh clone', typecheck, '≤ 60 s', typecheck.code === 0 && typecheck.ms <= 60_000, 'writes the API types, then tsc over everything'),
      row('npm run typecheck, again with nothing changed', again, '≤ 60 s', again.code === 0 && again.ms <= 60_000, 'the API types kept, tsc incremental'),
      row('npm run test:all', all, 'passing', passed(all), `${options.databaseUrl ? 'with DATABASE_URL (real Postgres)' : 'without DATABASE_URL: the real-Postgres tests skip'}; ${counts(all)}`),
    ];
    return { rows, raw: { install, alone, first, second, typecheck, again, all } };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
