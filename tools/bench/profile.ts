/**
 * Where a bundle's start-up time goes: summarises V8 CPU profiles (`node --cpu-prof`) of a bundle
 * by the package or source folder each sampled line came from, through the bundle's source map,
 * with each package's share of the bundle from esbuild's metafile.
 *
 *   npx tsx tools/bench/profile.ts --bundle dist/command/index.mjs CPU.*.cpuprofile
 *
 * Attribution is per line: build the bundle without whitespace minification for profiling
 * (`npm run bench -- --only profile` does), else a minified bundle's few very long lines each
 * mix many packages and only the function where a sample landed can be placed.
 */
import { readFile } from 'node:fs/promises';
import { SourceMap } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number; readonly columnNumber: number };
  readonly positionTicks?: readonly { readonly line: number; readonly ticks: number }[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface BundleFiles {
  /** The bundle (index.mjs); its source map is `<code>.map`, its metafile `meta.json` beside it unless given. */
  readonly code: string;
  readonly map?: string;
  readonly meta?: string;
}

export interface Share {
  readonly name: string;
  /** Self time per profile (start), ms. */
  readonly ms: number;
  /** Of the busy (non-idle) time. */
  readonly share: number;
  /** Bytes the package contributes to the bundle, when a metafile is there. */
  readonly bytes?: number;
}

export interface ProfileSummary {
  readonly profiles: number;
  /** CPU time per profile, idle excluded, ms. */
  readonly busyMs: number;
  /** By package (node_modules), source folder (src/…), or runtime part (node:…, (garbage collector)). */
  readonly packages: readonly Share[];
  readonly functions: readonly Share[];
}

/** "@aws-sdk/core", "src/modules/command", "node:internal/modules/esm/utils", … */
export function packageOf(source: string): string {
  const at = source.lastIndexOf('node_modules/');
  if (at >= 0) {
    const parts = source.slice(at + 'node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  // esbuild plugin namespaces ("trimmed-mime-db:mime-db"), then paths relative to the map's folder.
  const bare = source.replace(/^[a-z][a-z-]*:(?!\/)/, '').replace(/^(\.\.?\/)+/, '');
  const path = /(?:^|\/)((?:src|scripts)\/.*)$/.exec(bare)?.[1] ?? bare;
  const parts = path.split('/');
  if (parts[0] === 'src' && parts[1] === 'modules') return parts.slice(0, 3).join('/');
  if (parts.length > 1) return parts.slice(0, parts.length > 2 ? 2 : 1).join('/');
  return path;
}

/** A source path as a reader wants it: from node_modules/ or the project's root. */
function displayPath(source: string): string {
  const at = source.lastIndexOf('node_modules/');
  if (at >= 0) return source.slice(at);
  const bare = source.replace(/^(\.\.?\/)+/, '');
  return /(?:^|\/)((?:src|scripts)\/.*)$/.exec(bare)?.[1] ?? bare;
}

/**
 * Self time of each node, µs: its share of the samples times the mean sampling interval. Counting
 * samples rather than summing the gaps after each keeps a process descheduled on a busy machine
 * from charging the whole pause to whatever line it happened to stop on.
 */
function selfTimes(profile: CpuProfile): Map<number, number> {
  const counts = new Map<number, number>();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const interval = profile.samples.length === 0 ? 0 : (profile.endTime - profile.startTime) / profile.samples.length;
  return new Map([...counts].map(([id, count]) => [id, count * interval]));
}

/**
 * Lines of the bundle no source maps to: esbuild's own helpers (the banner, the CommonJS module
 * wrappers). V8 compiles a function when it is first called, and charges that to the caller's
 * line, so compiling each CommonJS module on its first require shows up here.
 */
const glue = '(bundle glue: esbuild wrappers, incl. compiling CommonJS modules on first require)';

export async function summariseProfiles(profiles: readonly CpuProfile[], bundle: BundleFiles): Promise<ProfileSummary> {
  const codePath = resolve(bundle.code);
  const url = pathToFileURL(codePath).href;
  const code = await readFile(codePath, 'utf8');
  const map = new SourceMap(JSON.parse(await readFile(bundle.map ?? `${codePath}.map`, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]);
  const lines = code.split('\n');
  const indent = (line: number) => Math.max(0, (lines[line] ?? '').search(/\S/));
  const sourceAt = (line: number, column: number): { source?: string; line?: number; name?: string } => {
    const entry = map.findEntry(line, column) as { originalSource?: string; originalLine?: number; name?: string };
    return { ...(entry.originalSource ? { source: entry.originalSource } : {}), ...(entry.originalLine === undefined ? {} : { line: entry.originalLine }), ...(entry.name ? { name: entry.name } : {}) };
  };

  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const add = (into: Map<string, number>, key: string, us: number) => into.set(key, (into.get(key) ?? 0) + us);
  let busy = 0;
  for (const profile of profiles) {
    const self = selfTimes(profile);
    for (const node of profile.nodes) {
      const us = self.get(node.id) ?? 0;
      if (us === 0) continue;
      const { functionName, url: frameUrl, lineNumber, columnNumber } = node.callFrame;
      if (functionName === '(idle)') continue;
      busy += us;
      if (frameUrl !== url) {
        const where = frameUrl === '' ? functionName : frameUrl.startsWith('node:') ? frameUrl : frameUrl.startsWith('file:') ? 'other files' : frameUrl;
        add(byPackage, where, us);
        add(byFunction, frameUrl === '' ? functionName : `${functionName || '(anonymous)'} (${where})`, us);
        continue;
      }
      const start = sourceAt(lineNumber, columnNumber);
      const fn = `${start.name || functionName || '(anonymous)'} (${start.source ? `${displayPath(start.source)}:${(start.line ?? 0) + 1}` : `bundle glue, line ${lineNumber + 1}`})`;
      add(byFunction, fn, us);
      const ticks = node.positionTicks ?? [];
      const total = ticks.reduce((sum, t) => sum + t.ticks, 0);
      if (total === 0) {
        add(byPackage, start.source ? packageOf(start.source) : glue, us);
        continue;
      }
      for (const tick of ticks) {
        const line = tick.line - 1;
        // A long (minified) line mixes packages: only the function's own start places it.
        const at = (lines[line]?.length ?? 0) > 400 ? start : sourceAt(line, indent(line));
        add(byPackage, at.source ? packageOf(at.source) : glue, (us * tick.ticks) / total);
      }
    }
  }

  const bytes = new Map<string, number>();
  const meta = await readFile(bundle.meta ?? resolve(codePath, '..', 'meta.json'), 'utf8').then(
    (text) => JSON.parse(text) as { outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }> },
    () => undefined,
  );
  const output = meta && (Object.entries(meta.outputs).find(([name]) => name.endsWith('/index.mjs')) ?? Object.entries(meta.outputs).find(([name]) => name.endsWith('.mjs')))?.[1];
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const name = packageOf(input);
    bytes.set(name, (bytes.get(name) ?? 0) + bytesInOutput);
  }

  const runs = Math.max(1, profiles.length);
  const shares = (from: Map<string, number>, withBytes: boolean): Share[] =>
    [...from.entries()]
      .map(([name, us]) => ({ name, ms: us / 1000 / runs, share: busy === 0 ? 0 : us / busy, ...(withBytes && bytes.has(name) ? { bytes: bytes.get(name)! } : {}) }))
      .sort((a, b) => b.ms - a.ms);
  return { profiles: profiles.length, busyMs: busy / 1000 / runs, packages: shares(byPackage, true), functions: shares(byFunction, false) };
}

export async function readProfiles(files: readonly string[]): Promise<CpuProfile[]> {
  return Promise.all(files.map(async (file) => JSON.parse(await readFile(file, 'utf8')) as CpuProfile));
}

/** A Markdown table of the top packages and functions; with `compare`, that profile's time for each package beside it. */
export function summaryMarkdown(title: string, summary: ProfileSummary, top = 12, compare?: { readonly name: string; readonly summary: ProfileSummary }): string {
  const ms = (value: number) => value.toFixed(1);
  const pct = (value: number) => `${(value * 100).toFixed(0)} %`;
  const kb = (value?: number) => (value === undefined ? '' : `${(value / 1024).toFixed(0)} KB`);
  const other = new Map(compare?.summary.packages.map((p) => [p.name, p.ms]));
  return [
    `#### ${title}`,
    '',
    `${summary.profiles} profiled start(s), ${ms(summary.busyMs)} ms of CPU per start (idle excluded)${compare ? ` against ${ms(compare.summary.busyMs)} ms for the ${compare.name}` : ''}; self time:`,
    '',
    `| package or part | ms per start | share | in bundle |${compare ? ` ${compare.name}, ms |` : ''}`,
    `|---|---:|---:|---:|${compare ? '---:|' : ''}`,
    ...summary.packages.slice(0, top).map((p) => `| ${p.name} | ${ms(p.ms)} | ${pct(p.share)} | ${kb(p.bytes)} |${compare ? ` ${ms(other.get(p.name) ?? 0)} |` : ''}`),
    '',
    '| function (where) | ms per start | share |',
    '|---|---:|---:|',
    ...summary.functions.slice(0, Math.ceil(top / 2)).map((f) => `| ${f.name.replaceAll('|', '\\|')} | ${ms(f.ms)} | ${pct(f.share)} |`),
    '',
  ].join('\n');
}

async function main(args: string[]) {
  const at = args.indexOf('--bundle');
  if (at < 0 || !args[at + 1] || args.length < 3) {
    console.error('usage: tsx tools/bench/profile.ts --bundle <bundle.mjs> <profile.cpuprofile>…');
    process.exit(2);
  }
  const bundle = args[at + 1]!;
  const files = args.filter((_, index) => index !== at && index !== at + 1);
  const summary = await summariseProfiles(await readProfiles(files), { code: bundle });
  console.log(summaryMarkdown(`${bundle}: where start-up time goes`, summary, 20));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
