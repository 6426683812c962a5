/** Timing helpers shared by every figure: the same runner and the same statistics for both sides of a ratio. */
export interface LoadResult extends Spread {
  readonly requests: number;
  readonly concurrency: number;
  /** Calls per second over the whole run. */
  readonly throughput: number;
}

/** A fixed number of calls at a fixed concurrency, timed one by one. */
export async function runLoad(call: (index: number) => Promise<unknown>, requests: number, concurrency: number): Promise<LoadResult> {
  // Warm both sides alike (JIT, connection pools) before anything is timed.
  for (let n = 0; n < Math.min(50, requests); n++) await call(-1 - n);
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < requests) {
      const index = next++;
      const t0 = performance.now();
      await call(index);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, requests) }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { requests, concurrency, ...spread(latencies), throughput: requests / seconds };
}

/** The distribution of a set of samples: how many, the middle, and how far they spread. */
export interface Spread {
  readonly n: number;
  readonly min: number;
  readonly p10: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** Nearest-rank percentiles (no interpolation: every figure is a sample that was measured). */
export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
  return { n: sorted.length, min: sorted[0] ?? Number.NaN, p10: at(0.1), p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1] ?? Number.NaN };
}

export const median = (values: readonly number[]) => spread(values).p50;
