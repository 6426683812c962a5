/**
 * Fresh processes, timed from spawn: readiness (first 200 on the health route), the first 2xx of a
 * real request, idle RSS. Each figure interleaves baseline and ours (A B A B …) so that whatever
 * else the machine does slows both sides alike.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Launch } from './images.ts';
import type { NodeRuntime } from './node-runtimes.ts';
import { cleanEnv, freePort, rssMb, spawnProcess, stop, waitFor200 } from './processes.ts';

export interface Contender {
  /** "command", "bare hapi", … */
  readonly name: string;
  readonly node: NodeRuntime;
  readonly launch: Launch;
  readonly health: string;
  /** The function's settings (stores, secrets) on top of the image's ENV. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The first real request; must answer 2xx. */
  readonly request?: (base: string) => Promise<Response>;
}

export interface ColdSample {
  /** spawn → first 200 on the health route, ms */
  readonly ready: number;
  /** spawn → first 2xx of the real request, ms */
  readonly first?: number;
  readonly rss?: number;
}

/** Starts `contender` once; with `request` also sends its first request, with `idleMs` reads RSS after that long idle. */
export async function startOnce(contender: Contender, options: { request?: boolean; idleMs?: number; extraArgs?: readonly string[] } = {}): Promise<ColdSample> {
  const port = await freePort();
  const env = cleanEnv({ ...contender.launch.env, ...contender.env, PORT: String(port), AWS_LWA_PORT: String(port), HOST: '127.0.0.1' });
  const args = [...(options.extraArgs ?? []), ...contender.launch.args];
  const spawned = spawnProcess(contender.node.path, args, env, contender.launch.cwd);
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor200(`${base}${contender.health}`, spawned.child);
    const ready = performance.now() - spawned.spawnedAt;
    let first: number | undefined;
    if (options.request) {
      const response = await contender.request!(base);
      const body = await response.text();
      if (response.status < 200 || response.status > 299) throw new Error(`first request → ${response.status} ${body.slice(0, 300)}`);
      first = performance.now() - spawned.spawnedAt;
    }
    let rss: number | undefined;
    if (options.idleMs !== undefined) {
      await sleep(options.idleMs);
      rss = await rssMb(spawned.child.pid!);
    }
    return { ready, ...(first === undefined ? {} : { first }), ...(rss === undefined ? {} : { rss }) };
  } catch (error) {
    throw new Error(`${contender.name} (${contender.node.label}): ${(error as Error).message}\n${spawned.output().slice(-2_000)}`, { cause: error });
  } finally {
    await stop(spawned.child);
  }
}

export interface Pair {
  /** Identifies the figure: "command@22.20.0". */
  readonly key: string;
  readonly baseline: Contender;
  readonly ours: Contender;
}

export interface PairSamples {
  readonly ours: number[];
  readonly baseline: number[];
  /** ours ÷ the baseline started just before it, per round. */
  readonly ratios: number[];
  readonly oursReady: number[];
  readonly baselineReady: number[];
}

/**
 * `rounds` rounds of: for each pair, its baseline then ours. One untimed warm-up round first
 * (file cache, the bench's own JIT). `measure` picks the number a sample contributes.
 */
export async function interleave(
  title: string,
  pairs: readonly Pair[],
  rounds: number,
  options: { request?: boolean; idleMs?: number; warmUp?: boolean },
  measure: (sample: ColdSample) => number,
  log: (message: string) => void,
): Promise<Map<string, PairSamples>> {
  const results = new Map<string, PairSamples>(pairs.map((p) => [p.key, { ours: [], baseline: [], ratios: [], oursReady: [], baselineReady: [] }]));
  if (options.warmUp !== false) {
    for (const pair of pairs) {
      await startOnce(pair.baseline, options);
      await startOnce(pair.ours, options);
    }
  }
  for (let round = 1; round <= rounds; round++) {
    const parts: string[] = [];
    for (const pair of pairs) {
      const baseline = await startOnce(pair.baseline, options);
      const ours = await startOnce(pair.ours, options);
      const into = results.get(pair.key)!;
      into.baseline.push(measure(baseline));
      into.ours.push(measure(ours));
      into.baselineReady.push(baseline.ready);
      into.oursReady.push(ours.ready);
      into.ratios.push(measure(ours) / measure(baseline));
      parts.push(`${pair.ours.name} ${Math.round(measure(ours))} / ${pair.baseline.name} ${Math.round(measure(baseline))} (Node ${pair.ours.node.version})`);
    }
    log(`[${title}] round ${round} of ${rounds}: ${parts.join('; ')}`);
  }
  return results;
}
