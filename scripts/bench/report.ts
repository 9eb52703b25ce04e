// The benchmark's table: each figure next to its baseline from the same run, and the budget.
import type { BundleFigures } from './bundle.ts';
import type { DeliveryFigures } from './deliveries.ts';
import type { DistanceFigures } from './distance.ts';
import type { NoisyFigures } from './noisy-neighbours.ts';
import type { StatsFigures } from './stats.ts';

export interface WorkloadFigures {
  requests: number;
  /** CPU time of the workerd running the Worker (and Miniflare's local KV and rate limiter). */
  workerCpuMsPerRequest: number;
  /** CPU time of wrangler's dev proxy workerd in front of it. */
  proxyCpuMsPerRequest: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  throughputPerSecond: number;
  errors: number;
  /** Counted where the statements reach Postgres (the local SQL endpoint), not by the service. */
  statementsPerRequest: number;
  statuses: Record<string, number>;
}

export interface BenchReport {
  measuredAt: string;
  settings: Record<string, unknown>;
  bare: WorkloadFigures;
  /** The same insert over the WebSocket pool the service used before Neon's HTTP transport. */
  bareWebSocket: WorkloadFigures;
  cached: WorkloadFigures;
  uncached: WorkloadFigures;
  /**
   * Worker-process CPU of the platform operations a cached-key create performs, each measured alone:
   * locally Miniflare runs KV and the rate limiter inside the same workerd, and wrangler forwards
   * console output; on Cloudflare only the binding calls' client side is the Worker's CPU time.
   */
  platformSimulation: { kvGetMs: number; rateLimitMs: number; logLineMs: number };
  /** Concurrency 1 under simulated distance to the database (scripts/bench/distance.ts). */
  distance: DistanceFigures[];
  /** Events published, fanned out and delivered to a verifying receiver (scripts/bench/deliveries.ts). */
  deliveries: DeliveryFigures;
  /** GET /webhooks/{id}/stats of a webhook with 100,000 deliveries in its window (scripts/bench/stats.ts). */
  stats: StatsFigures;
  /** Healthy webhooks beside hanging and rate-limited ones (scripts/bench/noisy-neighbours.ts). */
  noisyNeighbours: NoisyFigures;
  /** With --profile: the Worker isolate's own active CPU per request, from the CPU profiler. */
  isolateProfile?: IsolateProfile;
  bundle: BundleFigures;
}

/** What `--noisy-only` writes: that workload alone. */
export type NoisyOnlyReport = Pick<BenchReport, 'measuredAt' | 'settings' | 'noisyNeighbours'>;

/** Per workload: the isolate's active CPU, and the same net of console output (forwarded only locally). */
export type IsolateProfile = Record<string, { activeMsPerRequest: number; netOfConsoleMsPerRequest: number }>;

function isolateTable(profile: IsolateProfile): string {
  const bare = profile['bare insert'];
  return table([
    [
      'Worker isolate CPU per request (--profile)',
      'active (ms)',
      'net of console forwarding (ms)',
      'net / bare insert',
    ],
    ...Object.entries(profile).map(([name, figures]) => [
      name,
      fixed(figures.activeMsPerRequest, 3),
      fixed(figures.netOfConsoleMsPerRequest, 3),
      bare ? ratio(figures.netOfConsoleMsPerRequest, bare.netOfConsoleMsPerRequest) : '',
    ]),
  ]);
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

const fixed = (value: number, digits = 2) => value.toFixed(digits);
const ratio = (value: number, baseline: number) => `${fixed(value / baseline)}×`;

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  const line = (row: string[]) => `| ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  return [
    line(rows[0] ?? []),
    `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`,
    ...rows.slice(1).map(line),
  ].join('\n');
}

/** Workloads as rows; p50, p99 and round trips per request at each RTT as columns. */
function distanceTable(distance: DistanceFigures[]): string {
  const rtts = [...new Set(distance.map((row) => row.rttMs))];
  const workloads = [...new Set(distance.map((row) => row.workload))];
  const cell = (workload: string, rttMs: number) => distance.find((r) => r.workload === workload && r.rttMs === rttMs);
  return table([
    [
      'workload (concurrency 1)',
      ...rtts.flatMap((rtt) => [`p50 @${rtt} ms`, `p99 @${rtt} ms`, `round trips @${rtt} ms`]),
    ],
    ...workloads.map((workload) => [
      workload,
      ...rtts.flatMap((rtt) => {
        const row = cell(workload, rtt);
        return row ? [fixed(row.latencyP50Ms), fixed(row.latencyP99Ms), fixed(row.roundTripsPerRequest)] : ['', '', ''];
      }),
    ]),
  ]);
}

/** The round-trip goals: a cached-key create and every lifecycle route 1 round trip, the create's p50 at most 1 RTT + 15 ms. */
function distanceGoals(distance: DistanceFigures[]): string[][] {
  const far = Math.max(...distance.map((row) => row.rttMs));
  const at = (workload: string) => distance.find((row) => row.workload === workload && row.rttMs === far);
  const cached = at('create, cached key');
  const uncached = at('create, uncached key');
  if (!cached || !uncached) return [];
  const lifecycle = ['get', 'list', 'update', 'reset circuit', 'delivery log'].map(at);
  return [
    [
      `round trips per create at ${far} ms RTT: cached / uncached key`,
      '1 / 2',
      `${fixed(cached.roundTripsPerRequest)} / ${fixed(uncached.roundTripsPerRequest)}`,
      yes(cached.roundTripsPerRequest <= 1.01 && uncached.roundTripsPerRequest <= 2.01),
    ],
    [
      `round trips at ${far} ms RTT: get / list / update / reset circuit / delivery log`,
      '1 / 1 / 1 / 1 / 1',
      lifecycle.map((row) => (row ? fixed(row.roundTripsPerRequest) : '–')).join(' / '),
      yes(lifecycle.every((row) => row !== undefined && row.roundTripsPerRequest <= 1.01)),
    ],
    [
      `cached-key create p50 at ${far} ms RTT`,
      `≤ ${far + 15} ms`,
      `${fixed(cached.latencyP50Ms)} ms`,
      yes(cached.latencyP50Ms <= far + 15),
    ],
  ];
}

/** Deliveries: their figures, and the statement budgets of the fan-out and of each attempt. */
function deliverySection(deliveries: DeliveryFigures): string {
  const perEventGoal = 1 + Math.ceil(deliveries.webhooksPerEvent / 100);
  return `Deliveries: ${deliveries.events} events × ${deliveries.webhooksPerEvent} webhooks, published through POST /events, delivered to a local receiver verifying every signature\n\n${table(
    [
      ['figure', 'measured'],
      [
        'deliveries received, verified',
        `${deliveries.deliveries - deliveries.errors} of ${deliveries.events * deliveries.webhooksPerEvent}`,
      ],
      ['deliveries per second (first publish to last delivery)', fixed(deliveries.deliveriesPerSecond, 0)],
      [
        'event to delivery p50 / p99, all events at once (ms)',
        `${fixed(deliveries.eventToDeliveryP50Ms, 0)} / ${fixed(deliveries.eventToDeliveryP99Ms, 0)}`,
      ],
      [
        'event to delivery p50 / p99, one event at a time (ms)',
        `${fixed(deliveries.idleEventToDeliveryP50Ms, 0)} / ${fixed(deliveries.idleEventToDeliveryP99Ms, 0)}`,
      ],
      [
        'Worker workerd CPU per delivery, publishing and fan-out included (ms)',
        fixed(deliveries.workerCpuMsPerDelivery, 3),
      ],
    ],
  )}\n\n${table([
    ['budget', 'goal', 'measured', 'met'],
    [
      'statements per event (fan-out, then 1 per 100 deliveries queued)',
      `≤ ${perEventGoal}`,
      fixed(deliveries.statementsPerEvent),
      yes(deliveries.statementsPerEvent <= perEventGoal + 0.01),
    ],
    [
      'statements per attempt (claim, record)',
      '≤ 2',
      fixed(deliveries.statementsPerAttempt),
      yes(deliveries.statementsPerAttempt <= 2.01),
    ],
  ])}`;
}

/** The noisy-neighbour workload and its goals (issue 16). */
function noisySection(noisy: NoisyFigures): string {
  const { absent, present, presentProven, hanging, rateLimited } = noisy;
  const p99Goal = Math.min(2 * absent.p99Ms, 2000);
  const phase = (figure: (phase: typeof absent) => string) => [figure(absent), figure(present), figure(presentProven)];
  return `Noisy neighbours: ${noisy.healthyWebhooks} healthy webhooks, ${noisy.eventsPerPhase} events at ${noisy.eventsPerSecond}/s each to every webhook, alone, then beside ${noisy.hangingWebhooks} new webhooks whose receiver never answers (timeout ${noisy.hangTimeoutMs} ms) and 1 limited to ${noisy.rateLimitPerSecond}/s, then beside ${noisy.hangingWebhooks} more hanging webhooks that had answered a delivery before\n\n${table(
    [
      [
        'healthy webhooks, event to delivery',
        'noisy absent',
        'present: new hanging',
        'present: hanging that had answered',
      ],
      ['received, verified', ...phase((p) => `${p.received} of ${p.expected}`)],
      ['p50 / p99 (ms)', ...phase((p) => `${fixed(p.p50Ms, 0)} / ${fixed(p.p99Ms, 0)}`)],
      ['max (ms)', ...phase((p) => fixed(p.maxMs, 0))],
      [`later than one hang timeout (${noisy.hangTimeoutMs} ms)`, ...phase((p) => String(p.laterThanHangTimeout))],
      ['first publish to last delivery (s)', ...phase((p) => fixed(p.seconds, 1))],
    ],
  )}\n\n${table([
    ['budget', 'goal', 'measured', 'met'],
    [
      'healthy p99 beside new hanging webhooks',
      `≤ 2× absent and ≤ 2000 ms (≤ ${fixed(p99Goal, 0)})`,
      `${fixed(present.p99Ms, 0)} ms (${ratio(present.p99Ms, absent.p99Ms)})`,
      yes(present.p99Ms <= p99Goal),
    ],
    [
      'healthy p99 beside hanging webhooks that had answered before',
      `≤ 2× absent and ≤ 2000 ms (≤ ${fixed(p99Goal, 0)})`,
      `${fixed(presentProven.p99Ms, 0)} ms (${ratio(presentProven.p99Ms, absent.p99Ms)})`,
      yes(presentProven.p99Ms <= p99Goal),
    ],
    [
      'rate-limited receiver: most deliveries in any one second',
      `≤ ${noisy.rateLimitPerSecond + 1}`,
      `${rateLimited.mostInOneSecond} (${rateLimited.received} of ${rateLimited.expected} received)`,
      yes(rateLimited.mostInOneSecond <= noisy.rateLimitPerSecond + 1),
    ],
    [
      'hanging webhooks (both sets): lane-seconds held (sum of delivery_attempts.duration_ms)',
      '(reported)',
      `${fixed(hanging.laneSeconds, 1)} s in ${hanging.attempts} attempts`,
      '',
    ],
    [
      'hanging webhooks (both sets): deliveries attempted',
      '(reported)',
      `${hanging.attemptedDeliveries} of ${hanging.deliveries} (${hanging.skippedUnattempted} never: circuit open)`,
      '',
    ],
  ])}`;
}

/** The stats route at volume, and its budget (issue 17): ≤ 50 ms, one statement. */
function statsSection(stats: StatsFigures): string {
  return `GET /webhooks/{id}/stats: ${stats.deliveriesInWindow} deliveries in the 24h window, ${stats.rollupRows} rollup rows (30 days), one request at a time\n\n${table(
    [
      ['budget', 'goal', 'measured', 'met'],
      [
        'stats p50 / p99, window=24h (ms, end to end)',
        '≤ 50',
        `${fixed(stats.window24hP50Ms, 1)} / ${fixed(stats.window24hP99Ms, 1)}`,
        yes(stats.window24hP50Ms <= 50),
      ],
      [
        'stats p50 / p99, window=30d (ms, end to end)',
        '≤ 50',
        `${fixed(stats.window30dP50Ms, 1)} / ${fixed(stats.window30dP99Ms, 1)}`,
        yes(stats.window30dP50Ms <= 50),
      ],
      ['statements per stats request', '1', fixed(stats.statementsPerRequest), yes(stats.statementsPerRequest <= 1.01)],
    ],
  )}`;
}

/** Prints the report; returns true when the run itself failed (any request not answered as expected). */
export function printReport(report: BenchReport): boolean {
  const { bare, bareWebSocket, cached, uncached, bundle, settings, platformSimulation, distance, isolateProfile } =
    report;
  const deliveries = `${deliverySection(report.deliveries)}\n\n${statsSection(report.stats)}\n\n${noisySection(report.noisyNeighbours)}`;
  const distanceErrors = distance.reduce((sum, row) => sum + row.errors, 0);
  const distanceSection = `Under simulated distance to the database (one request at a time)\n\n${distanceTable(distance)}\n\n${table(
    [['budget', 'goal', 'measured', 'met'], ...distanceGoals(distance)],
  )}`;
  if (settings.rounds === 0) {
    console.log(`\n${distanceSection}\n\n${deliveries}\n`);
    return distanceErrors + report.deliveries.errors + report.stats.errors + report.noisyNeighbours.errors > 0;
  }
  const startup = median(bundle.startupActiveMs);
  type Figure = keyof Omit<WorkloadFigures, 'statuses'>;
  /** A figure for the three workloads, with the creates as ratios to the bare insert. */
  const row = (label: string, figure: Figure, digits: number, withRatios = true) => [
    label,
    ...[cached, uncached, bare, bareWebSocket].map((workload) => fixed(workload[figure], digits)),
    ...[cached, uncached].map((workload) => (withRatios ? ratio(workload[figure], bare[figure]) : '')),
  ];
  const simulated = platformSimulation.kvGetMs + platformSimulation.rateLimitMs + platformSimulation.logLineMs;
  const netCached = cached.workerCpuMsPerRequest - simulated;
  const figures = table([
    [
      'figure',
      'create, cached key',
      'create, uncached key',
      'bare insert',
      'bare insert, WebSocket pool',
      'cached / bare',
      'uncached / bare',
    ],
    row('CPU per request, Worker workerd (ms)', 'workerCpuMsPerRequest', 3),
    row('CPU per request, dev proxy workerd (ms)', 'proxyCpuMsPerRequest', 3),
    row('latency p50 (ms)', 'latencyP50Ms', 2),
    row('latency p99 (ms)', 'latencyP99Ms', 2),
    row('throughput (req/s)', 'throughputPerSecond', 0),
    row('statements per request (at the SQL endpoint)', 'statementsPerRequest', 2, false),
    row('errors (not 201)', 'errors', 0, false),
  ]);
  const attribution = table([
    ['inside a cached-key create, measured alone', 'CPU (ms)'],
    ['KV get (Miniflare simulates KV in the same workerd)', fixed(platformSimulation.kvGetMs, 3)],
    ['rate-limit binding (Miniflare simulates it in the same workerd)', fixed(platformSimulation.rateLimitMs, 3)],
    ['the request log line (wrangler dev forwards console output)', fixed(platformSimulation.logLineMs, 3)],
    [
      'create CPU without these local stand-ins',
      `${fixed(netCached, 3)} = ${ratio(netCached, bare.workerCpuMsPerRequest)} the bare insert`,
    ],
  ]);
  const goals = table([
    ['budget', 'goal', 'measured', 'met'],
    [
      'create CPU / bare-insert CPU (cached key)',
      '≤ 1.5',
      ratio(cached.workerCpuMsPerRequest, bare.workerCpuMsPerRequest),
      yes(cached.workerCpuMsPerRequest / bare.workerCpuMsPerRequest <= 1.5),
    ],
    [
      'create / bare-insert CPU, net of the local stand-ins (table below)',
      '≤ 1.5',
      ratio(netCached, bare.workerCpuMsPerRequest),
      yes(netCached / bare.workerCpuMsPerRequest <= 1.5),
    ],
    [
      'create p50 / bare-insert p50',
      '≤ 1.25',
      ratio(cached.latencyP50Ms, bare.latencyP50Ms),
      yes(cached.latencyP50Ms / bare.latencyP50Ms <= 1.25),
    ],
    [
      'create throughput / bare-insert throughput',
      '≥ 0.8',
      ratio(cached.throughputPerSecond, bare.throughputPerSecond),
      yes(cached.throughputPerSecond / bare.throughputPerSecond >= 0.8),
    ],
    [
      'statements per create: cached / uncached key',
      '1 / 2',
      `${fixed(cached.statementsPerRequest)} / ${fixed(uncached.statementsPerRequest)}`,
      yes(Math.abs(cached.statementsPerRequest - 1) < 0.01 && Math.abs(uncached.statementsPerRequest - 2) < 0.01),
    ],
    [
      'minified bundle, gzip',
      '≤ 120 KiB',
      `${bundle.gzipKiB} KiB (raw ${bundle.rawKiB} KiB)`,
      yes(bundle.gzipKiB <= 120),
    ],
    [
      'Worker startup (wrangler check startup, median active CPU)',
      '(reported)',
      `${fixed(startup, 1)} ms of [${bundle.startupActiveMs.join(', ')}]`,
      '',
    ],
  ]);
  console.log(
    `\nPOST /webhooks against its baseline (${JSON.stringify(settings)})\n\n${figures}\n\n${goals}\n\n${attribution}\n\n${isolateProfile ? `${isolateTable(isolateProfile)}\n\n` : ''}${distanceSection}\n\n${deliveries}\n`,
  );
  return (
    cached.errors +
      uncached.errors +
      bare.errors +
      bareWebSocket.errors +
      distanceErrors +
      report.deliveries.errors +
      report.stats.errors +
      report.noisyNeighbours.errors >
    0
  );
}

/** Prints the noisy-neighbour workload alone; returns true when any of its deliveries failed. */
export function printNoisyOnly(report: NoisyOnlyReport): boolean {
  console.log(`\n${noisySection(report.noisyNeighbours)}\n`);
  return report.noisyNeighbours.errors > 0;
}

function yes(met: boolean): string {
  return met ? 'yes' : 'NO';
}
