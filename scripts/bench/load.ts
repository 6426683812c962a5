/** A fixed number of calls at a fixed concurrency, timed one by one: the same runner for both sides of a ratio. */
export interface LoadResult {
  readonly requests: number;
  readonly concurrency: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  /** Calls per second over the whole run. */
  readonly throughput: number;
}

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
  return { requests, concurrency, ...percentiles(latencies), throughput: requests / seconds };
}

export function percentiles(values: readonly number[]): { p50: number; p90: number; p99: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99) };
}

export const median = (values: readonly number[]) => percentiles(values).p50;
