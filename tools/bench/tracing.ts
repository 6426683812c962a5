/**
 * docs/budgets.md, "tracing on against off": cold start and command latency within 5 % of tracing
 * off. Each bundle is started with tracing off and on (as in AWS: OTEL_TRACES_EXPORTER=xray, spans
 * sent over UDP to a daemon address, here a socket of the bench that reads and drops them),
 * interleaved; then one command process of each kind takes the same commands in turn.
 */
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { issueToken } from '../../src/shared/auth.ts';
import { interleave } from './cold.ts';
import type { Contender, Pair } from './cold.ts';
import type { BenchContext } from './context.ts';
import { functionEnv } from './context.ts';
import { imageLaunch } from './images.ts';
import { spread } from './load.ts';
import { cleanEnv, freePort, spawnProcess, stop, waitFor200 } from './processes.ts';
import { measured, notMeasured, round, spreadText } from './report.ts';
import type { Row } from './report.ts';

const budget = 1.05;

/** A local stand-in for the X-Ray daemon: takes the datagrams, counts them. */
async function daemon(context: BenchContext): Promise<{ address: string; received: () => number }> {
  const socket = createSocket('udp4');
  let received = 0;
  socket.on('message', () => received++);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  context.defer(async () => socket.close());
  return { address: `127.0.0.1:${socket.address().port}`, received: () => received };
}

/** CPU time (user + system) a process has used so far, in ms: unlike wall time, barely moved by other load. */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

export async function tracingFigures(context: BenchContext): Promise<Row[]> {
  const xray = await daemon(context);
  const traced = { OTEL_TRACES_EXPORTER: 'xray', AWS_XRAY_DAEMON_ADDRESS: xray.address };
  const node = context.runtimes.image ?? context.runtimes.development;
  const rows: Row[] = [];

  // Cold start → health 200, each bundle off and on, as in AWS (no DYNAMODB_ENDPOINT).
  const pairs: Pair[] = [];
  for (const spec of context.bundles) {
    const launch = await imageLaunch(spec, context.distRoot);
    const env = functionEnv(context, { DYNAMODB_ENDPOINT: undefined });
    const contender = (name: string, extra: Record<string, string>): Contender => ({ name, node, launch, health: spec.health, env: { ...env, ...extra } });
    pairs.push({ key: spec.service, baseline: contender(`${spec.service}, tracing off`, {}), ours: contender(`${spec.service}, tracing on`, traced) });
  }
  const starts = await interleave('tracing cold start', pairs, context.sizes.coldRounds, { warmUp: !context.smoke }, (s) => s.ready, context.log);
  for (const spec of context.bundles) {
    const samples = starts.get(spec.service)!;
    const on = spread(samples.ours);
    const off = spread(samples.baseline);
    const ratios = spread(samples.ratios);
    rows.push(
      measured('tracing', `tracing on vs off: cold start → health 200, ${spec.service}, ${node.label}`, on.p50, off.p50, 'ms', 'within 5 % of tracing off', on.p50 / off.p50 <= budget, {
        spread: spreadText(on, off, 'ms'),
        note: `paired ratio median ${round(ratios.p50, 2)}×; on: OTEL_TRACES_EXPORTER=xray (the SDK and the UDP exporter loaded at start, the health request traced)`,
      }),
    );
  }

  // Command latency: a command process with tracing off and one with it on, each creating chats
  // in turn (one request at a time, alternating), against the same dynalite table.
  const spec = context.bundles.find((b) => b.service === 'command')!;
  const launch = await imageLaunch(spec, context.distRoot);
  const table = await context.freshTable('bench-tracing');
  const start = async (extra: Record<string, string>) => {
    const port = await freePort();
    const env = cleanEnv({ ...launch.env, ...functionEnv(context, { EVENTS_TABLE: table }), ...extra, PORT: String(port), AWS_LWA_PORT: String(port), HOST: '127.0.0.1' });
    const spawned = spawnProcess(node.path, launch.args, env, launch.cwd);
    context.defer(() => stop(spawned.child));
    await waitFor200(`http://127.0.0.1:${port}${spec.health}`, spawned.child);
    return { base: `http://127.0.0.1:${port}`, pid: spawned.child.pid! };
  };
  const offProcess = await start({});
  const onProcess = await start(traced);
  const off = offProcess.base;
  const on = onProcess.base;
  const headers = { authorization: `Bearer ${issueToken('bench', context.secret)}`, 'content-type': 'application/json' };
  const create = async (base: string): Promise<number> => {
    const t0 = performance.now();
    const response = await fetch(`${base}/command/v1/group-chats`, { method: 'POST', headers, body: '{"name":"Traced"}' });
    await response.text();
    if (response.status !== 201) throw new Error(`create chat → ${response.status}`);
    return performance.now() - t0;
  };
  // 600 in a full run (50 per cold-start round), fewer when the rounds are cut.
  const requests = context.smoke ? 20 : 50 * context.sizes.coldRounds;
  for (let warm = 0; warm < Math.min(50, requests); warm++) {
    await create(off);
    await create(on);
  }
  const offTimes: number[] = [];
  const onTimes: number[] = [];
  const cpuBefore = { off: await cpuMs(offProcess.pid), on: await cpuMs(onProcess.pid) };
  for (let n = 0; n < requests; n++) {
    // Alternate which goes first, so neither always meets a warmer store.
    if (n % 2 === 0) {
      offTimes.push(await create(off));
      onTimes.push(await create(on));
    } else {
      onTimes.push(await create(on));
      offTimes.push(await create(off));
    }
  }
  const cpuOff = ((await cpuMs(offProcess.pid)) - cpuBefore.off) / requests;
  const cpuOn = ((await cpuMs(onProcess.pid)) - cpuBefore.on) / requests;
  const latencyOn = spread(onTimes);
  const latencyOff = spread(offTimes);
  context.raw.tracing = { coldStart: Object.fromEntries(starts), command: { on: onTimes, off: offTimes, cpuMsPerRequest: { on: cpuOn, off: cpuOff } }, datagrams: xray.received() };
  rows.push(
    measured('tracing', `tracing on vs off: command latency (create a chat), concurrency 1, ${node.label}`, latencyOn.p50, latencyOff.p50, 'ms', 'within 5 % of tracing off', latencyOn.p50 / latencyOff.p50 <= budget, {
      spread: spreadText(latencyOn, latencyOff, 'ms', 2),
      note: `p50 of ${requests} requests each, alternating between the two processes; p99 ${round(latencyOn.p99, 2)} vs ${round(latencyOff.p99, 2)} ms; ${xray.received()} datagrams reached the daemon address`,
    }),
  );
  const cpuFigure = `tracing on vs off: command CPU time per request (create a chat), ${node.label}`;
  rows.push(
    cpuOff > 0
      ? measured('tracing', cpuFigure, cpuOn, cpuOff, 'ms', 'info', undefined, {
          note: `user + system CPU of each command process over the same ${requests} requests (/proc, 10 ms ticks): what tracing adds to the work itself, which the wall-clock latency on a loaded machine hides`,
        })
      : notMeasured('tracing', cpuFigure, 'ms', 'info', `${requests} requests used less than one 10 ms CPU tick`),
  );
  return rows;
}
