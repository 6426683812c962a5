// Loaded into the `npm start` process the benchmark runs (node --expose-gc --import <this>): on
// SIGUSR2 it collects garbage and prints one JSON line with process.memoryUsage(), so the bench
// can read RSS "after the load and GC" and tell the JavaScript heap from the rest.
import process from 'node:process';

process.on('SIGUSR2', () => {
  globalThis.gc?.();
  globalThis.gc?.();
  process.stdout.write(`${JSON.stringify({ benchMemory: process.memoryUsage() })}\n`);
});
