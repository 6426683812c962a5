/** The rows of BENCHMARKS.md and bench-results.json, and how they are written. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Spread } from './load.ts';

/** Parts of `npm run bench` that `--only` selects. */
export const groups = ['build', 'cold-start', 'first-request', 'rss', 'events', 'lag', 'memory', 'command', 'query', 'history', 'rebuild', 'tracing', 'profile', 'loops', 'pipeline'] as const;
/**
 * Measured only when asked for (`--only loops`, `--only pipeline`): the maintainer's loops run the
 * whole test suite on two fresh clones, longer than every other figure together; the pipeline's
 * steps run on a clone of their own. A run without them keeps their rows.
 */
export const optInGroups: readonly Group[] = ['loops', 'pipeline'];
export type Group = (typeof groups)[number];

export type Verdict = 'within' | 'over' | 'info' | 'not measured';

export interface Row {
  readonly group: Group;
  readonly figure: string;
  /** null when not measured (then `note` says why). */
  readonly ours: number | null;
  readonly baseline: number | null;
  readonly unit: string;
  /** ours / baseline */
  readonly ratio: number | null;
  readonly budget: string;
  readonly verdict: Verdict;
  /** Medians and spread of both sides, with the number of samples. */
  readonly spread?: string;
  readonly note?: string;
}

export const round = (value: number, digits = 1) => Number(value.toFixed(digits));

export function measured(
  group: Group,
  figure: string,
  ours: number,
  baseline: number,
  unit: string,
  budget: string,
  within: boolean | undefined,
  details: { spread?: string; note?: string } = {},
): Row {
  return {
    group,
    figure,
    ours: round(ours, 2),
    baseline: round(baseline, 2),
    unit,
    ratio: round(ours / baseline, 2),
    budget,
    verdict: within === undefined ? 'info' : within ? 'within' : 'over',
    ...(details.spread ? { spread: details.spread } : {}),
    ...(details.note ? { note: details.note } : {}),
  };
}

export function notMeasured(group: Group, figure: string, unit: string, budget: string, reason: string): Row {
  return { group, figure, ours: null, baseline: null, unit, ratio: null, budget, verdict: 'not measured', note: `not measured: ${reason}` };
}

/** "p10–p90 250–300 vs 130–150 ms, n = 10" */
export function spreadText(ours: Spread, baseline: Spread | undefined, unit: string, digits = 0): string {
  const f = (value: number) => round(value, digits).toLocaleString('en-US');
  const range = (s: Spread) => `${f(s.p10)}–${f(s.p90)}`;
  return baseline
    ? `p10–p90 ${range(ours)} vs ${range(baseline)} ${unit}, n = ${ours.n}${baseline.n === ours.n ? '' : ` vs ${baseline.n}`}`
    : `p10–p90 ${range(ours)} ${unit}, n = ${ours.n}`;
}

export interface Report {
  readonly generatedAt: string;
  readonly machine: { readonly cpus: number; readonly load: readonly number[]; readonly node: string; readonly imageNode: string };
  readonly stores: Readonly<Record<string, string>>;
  readonly smoke: boolean;
  /** The groups this run measured; the other rows were carried over from `carriedFrom`. */
  readonly measuredGroups: readonly Group[];
  readonly carriedFrom?: string;
  readonly rows: readonly Row[];
  /** Start-up profiles (a profile for each figure over budget), in Markdown. */
  readonly profiles?: string;
  readonly raw: Record<string, unknown>;
}

export const notesMarker = '<!-- analysis: kept across runs -->';

/**
 * Writes bench-results.json and BENCHMARKS.md into `out`. A run of some groups (`--only`) keeps
 * the other groups' rows from the previous results; the hand-written analysis below the marker
 * in BENCHMARKS.md survives every run.
 */
export async function writeReport(out: string, report: Report): Promise<Report> {
  const previous = await readFile(join(out, 'bench-results.json'), 'utf8')
    .then((text) => JSON.parse(text) as Partial<Report>)
    .catch(() => undefined);
  let merged = report;
  const allGroups = groups.every((group) => report.measuredGroups.includes(group));
  if (!allGroups && previous?.rows && !previous.smoke && !report.smoke) {
    const kept = previous.rows.filter((row) => row.group && !report.measuredGroups.includes(row.group));
    const order = (row: Row) => groups.indexOf(row.group);
    merged = {
      ...report,
      carriedFrom: previous.carriedFrom ?? previous.generatedAt ?? 'an earlier run',
      rows: [...report.rows, ...kept].sort((a, b) => order(a) - order(b)),
      raw: { ...(previous.raw ?? {}), ...report.raw },
      ...(report.profiles === undefined && previous.profiles ? { profiles: previous.profiles } : {}),
    };
  }
  await writeFile(join(out, 'bench-results.json'), `${JSON.stringify(merged, null, 2)}\n`);
  const previousMarkdown = await readFile(join(out, 'BENCHMARKS.md'), 'utf8').catch(() => '');
  const marker = previousMarkdown.indexOf(notesMarker);
  await writeFile(join(out, 'BENCHMARKS.md'), markdown(merged) + (marker >= 0 ? `\n${previousMarkdown.slice(marker)}` : `\n${notesMarker}\n`));
  return merged;
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

function value(row: Row, which: 'ours' | 'baseline'): string {
  const number = row[which];
  return number === null ? '–' : `${number.toLocaleString('en-US')} ${row.unit}`;
}

export function markdown(report: Report): string {
  const lines = [
    '# Benchmarks',
    '',
    'Reproduce with one command: `npm run bench` (about 20 minutes; `npm run bench -- --help` for the options,',
    '`DATABASE_URL` for real Postgres). Every figure is measured against a baseline in the same run; ratios',
    'are ours ÷ baseline. Starts are interleaved (baseline, ours, baseline, ours, …) so that a busy',
    'machine slows both sides alike. Raw numbers are in `bench-results.json`. What each budget is, and',
    'why, is in [docs/budgets.md](docs/budgets.md).',
    '',
    `Measured on ${report.generatedAt.slice(0, 16).replace('T', ' ')} UTC: ${report.machine.cpus} cores (load average ${report.machine.load.map((l) => l.toFixed(1)).join(', ')} at the start), development ${report.machine.node}, images' ${report.machine.imageNode}${report.smoke ? ' (**smoke run: tiny sizes, not meaningful**)' : ''}.`,
    ...Object.entries(report.stores).map(([name, text]) => `- ${name}: ${text}`),
    ...(report.carriedFrom ? [`- Partial run: ${report.measuredGroups.join(', ')} measured now; the other rows are carried over from ${report.carriedFrom}.`] : []),
    '',
    '| figure | ours | baseline | ratio | budget | verdict | spread | notes |',
    '|---|---:|---:|---:|---|---|---|---|',
    ...report.rows.map(
      (r) =>
        `| ${cell(r.figure)} | ${value(r, 'ours')} | ${value(r, 'baseline')} | ${r.ratio === null ? '–' : `${r.ratio}×`} | ${cell(r.budget)} | ${r.verdict === 'over' ? '**over**' : r.verdict} | ${cell(r.spread ?? '')} | ${cell(r.note ?? '')} |`,
    ),
    '',
    ...(report.profiles ? [report.profiles, ''] : []),
  ];
  return lines.join('\n');
}
