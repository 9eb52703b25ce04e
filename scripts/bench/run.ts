// npm run bench: how close POST /webhooks is to the least work it could do, on this machine, and
// what delivering events costs.
//
// Runs the service under `wrangler dev` (workerd, Neon's HTTP driver through the local SQL endpoint) against a
// real Postgres (DATABASE_URL, default the machine's server), in a scratch database it drops after.
// Three workloads, interleaved over several rounds: create with a cached key, create with an uncached
// key, and the bench-only bare insert (bench/worker.ts). workerd is pinned to core 0; the load
// generator, relay and this script to core 1. Then deliveries: events published, fanned out and sent
// to a local receiver that verifies each one (bench/deliveries.ts). Prints the tables, writes JSON.
// Then noisy neighbours: healthy webhooks' delivery latency alone and beside hanging and rate-limited ones
// (bench/noisy-neighbours.ts). Last, memory: workerd's growth per request, this service against a
// hello-world Worker (bench/memory.ts).
//
//   npm run bench                      # full run (a few minutes)
//   npm run bench -- --smoke           # a few hundred requests: checks the benchmark still works
//   npm run bench -- --requests 5000 --concurrency 8 --rounds 3
//   npm run bench -- --profile         # also CPU profiles of the Worker: cached-key creates, deliveries
//   npm run bench -- --noisy-only      # only the noisy-neighbour workload (add --smoke for its short form)
//   npm run bench -- --cold-start-ms 3000   # the database starts scaled to zero, as a Neon compute
//                                      # does after 5 idle minutes: its first request waits that long
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hashApiToken } from '../../src/auth/api-token.ts';
import { tokenCacheKey } from '../../src/auth/token-cache-key.ts';
import { migrateDatabase } from '../db/migrate.ts';
import { projectRoot } from '../local/dev-database.ts';
import { newEncryptionKeys } from '../local/dev-secrets.ts';
import { startNeonHttpEndpoint } from '../local/neon-http-endpoint.ts';
import { startNeonRelay } from '../local/neon-relay.ts';
import { createScratchDatabase } from '../local/scratch-database.ts';
import { waitUntilServing, wranglerBin } from '../local/wrangler.ts';
import { type BundleFigures, measureBundle } from './bundle.ts';
import { measureDeliveries } from './deliveries.ts';
import { measureDistance } from './distance.ts';
import type { LoadPlan, LoadResult } from './load.ts';
import { measureMemory, printMemory } from './memory.ts';
import { measureNoisyNeighbours } from './noisy-neighbours.ts';
import { cpuTimeMs, findWorkerd, pinToCore } from './processes.ts';
import { activeMs, isConsoleCall, startProfiler, summariseProfile } from './profile.ts';
import {
  type BenchReport,
  type IsolateProfile,
  median,
  type NoisyOnlyReport,
  printNoisyOnly,
  printReport,
  type WorkloadFigures,
} from './report.ts';
import { seedBench, seedDeliveryAccount } from './seed.ts';
import { measureStats } from './stats.ts';

const { values: options } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    requests: { type: 'string' },
    concurrency: { type: 'string' },
    rounds: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'distance-only': { type: 'boolean', default: false },
    'db-rtt-ms': { type: 'string' },
    'distance-requests': { type: 'string' },
    events: { type: 'string' },
    'webhooks-per-event': { type: 'string' },
    'cold-start-ms': { type: 'string' },
    'noisy-only': { type: 'boolean', default: false },
  },
});
const smoke = options.smoke;
const noisyOnly = options['noisy-only'];
const requests = Number(options.requests ?? (smoke ? 100 : 3000));
const concurrency = Number(options.concurrency ?? (smoke ? 4 : 8));
const rounds = options['distance-only'] || noisyOnly ? 0 : Number(options.rounds ?? (smoke ? 1 : 3));
/** The distance run: requests per workload at each RTT, one at a time. */
const distanceRequests = noisyOnly ? 0 : Number(options['distance-requests'] ?? (smoke ? 10 : 200));
const distanceRtts = [0, Number(options['db-rtt-ms'] ?? 50)];
/** Keys of their own for the distance run, so its creates fit each account's limit. */
const DISTANCE_KEYS = 20;
const startupRuns = smoke ? 1 : 9;
/** The delivery workload: events published, each to this many webhooks. */
const deliveryEvents = Number(options.events ?? (smoke ? 20 : 300));
const webhooksPerEvent = Number(options['webhooks-per-event'] ?? 10);
/** Then events published one at a time, each once the last is delivered: the path's own latency. */
const idleDeliveryEvents = smoke ? 5 : 30;
/**
 * The noisy-neighbour workload: each phase publishes this many events a second for `noisySeconds`. The pace
 * is above the rate-limited webhook's limit, so its limit has work to do, and well under what the healthy
 * webhooks can take alone. The hanging webhooks' timeout is short so that the smoke run stays short.
 */
const NOISY_EVENTS_PER_SECOND = 3;
const NOISY_RATE_LIMIT = 2;
const NOISY_HANG_TIMEOUT_MS = 2000;
const noisySeconds = smoke ? 5 : 30;
const WORKER_CORE = 0;
const OTHER_CORE = 1;

const CREATE_BODY = JSON.stringify({
  url: 'https://hooks.example.com/instaview',
  events: ['INTERVIEW_COMPLETED', 'ANALYSIS_FAILED'],
  name: 'bench',
  headers: [
    { name: 'Authorization', value: 'Bearer partner-token-1234567890' },
    { name: 'X-Partner-Id', value: '42' },
  ],
});

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/** Runs the load generator as its own process on the other core. */
function runLoad(plan: LoadPlan): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'taskset',
      ['-c', String(OTHER_CORE), process.execPath, join(projectRoot, 'scripts/bench/load.ts')],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(output) as LoadResult) : reject(new Error(`load generator exited with ${code}`)),
    );
    child.stdin.end(JSON.stringify(plan));
  });
}

pinToCore(process.pid, OTHER_CORE);
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const work = mkdtempSync(join(tmpdir(), 'webhooks-bench-'));
const database = await createScratchDatabase(serverUrl, 'webhooks_bench');
const cleanups: (() => Promise<void> | void)[] = [
  () => database.close(),
  () => rmSync(work, { recursive: true, force: true }),
];

try {
  // First, while nothing else runs: startup profiles are sensitive to a busy machine.
  let bundle: BundleFigures | undefined;
  if (!noisyOnly) {
    log(`bundle: wrangler deploy --dry-run --minify, and wrangler check startup ×${startupRuns}`);
    bundle = measureBundle(projectRoot, startupRuns);
  }
  log(
    `scratch database on ${new URL(serverUrl).host}; ${requests} requests × ${rounds} rounds per workload at concurrency ${concurrency}`,
  );
  await migrateDatabase(database.url);
  // The rate limit is 60 creates per key per minute: spread the cached phase over enough keys.
  const cachedKeys = Math.max(10, Math.ceil((requests * rounds) / 30));
  const seed = await seedBench(
    database.url,
    cachedKeys + DISTANCE_KEYS,
    requests * rounds + distanceRequests * distanceRtts.length,
  );
  const distanceTokens = seed.cachedTokens.splice(cachedKeys);
  const distanceUncachedTokens = seed.uncachedTokens.splice(requests * rounds);
  const deliveryAccount = await seedDeliveryAccount(database.url);
  const statsAccount = await seedDeliveryAccount(database.url);
  const noisyAccount = await seedDeliveryAccount(database.url);
  const publishToken = `pub_bench_${crypto.randomUUID()}`;
  const endpoint = await startNeonHttpEndpoint({
    databaseUrl: database.url,
    conditions: { coldStartMs: Number(options['cold-start-ms'] ?? 0) },
  });
  cleanups.unshift(() => endpoint.close());
  // Only for the transport comparison: the same bare insert over the WebSocket pool the service used before.
  const relay = await startNeonRelay({ databaseUrl: database.url });
  cleanups.unshift(() => relay.close());

  const port = await freePort();
  const inspectorPort = await freePort();
  const envFile = join(work, 'bench.env');
  writeFileSync(
    envFile,
    `ENCRYPTION_KEYS="${newEncryptionKeys('bench')}"\nDATABASE_URL="${endpoint.databaseUrl}"\nEVENTS_PUBLISH_TOKEN="${publishToken}"\n`,
  );
  const wrangler = spawn(
    wranglerBin,
    [
      'dev',
      'bench/worker.ts',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--env-file',
      envFile,
      '--persist-to',
      join(work, 'state'),
      '--var',
      `BENCH_WS_PROXY:${relay.wsProxy}`,
      '--var',
      `BENCH_WS_DATABASE_URL:${database.url}`,
      '--var',
      'BENCH_ROUTES:enabled',
      // The delivery workload's receiver is on 127.0.0.1.
      '--var',
      'DELIVERY_ALLOW_PRIVATE_TARGETS:true',
      '--var',
      `BENCH_ACCOUNT_ID:${seed.accountId}`,
      '--var',
      `BENCH_API_KEY_ID:${seed.apiKeyId}`,
      '--var',
      `BENCH_KV_KEY:${tokenCacheKey(await hashApiToken(seed.cachedTokens[0] as string))}`,
      '--inspector-port',
      String(inspectorPort),
      '--show-interactive-dev-session=false',
      '--log-level',
      'warn',
    ],
    { cwd: projectRoot, stdio: ['ignore', 'ignore', 'inherit'], detached: true },
  );
  cleanups.unshift(() => {
    if (wrangler.pid && wrangler.exitCode === null) process.kill(-wrangler.pid, 'SIGTERM');
  });
  const base = `http://127.0.0.1:${port}`;
  await waitUntilServing(`${base}/`, wrangler);
  const workerd = findWorkerd(wrangler.pid as number, port);
  const pinned = pinToCore(workerd.worker, WORKER_CORE) && pinToCore(workerd.proxy, WORKER_CORE);
  log(
    `workerd: worker pid ${workerd.worker}, dev proxy pid ${workerd.proxy}${pinned ? `, pinned to core ${WORKER_CORE}` : ' (not pinned)'}`,
  );

  // Statements the Worker sent, counted where they reach Postgres: the SQL endpoint (and the relay).
  const statementCount = async () => {
    let total = 0;
    for (const control of [endpoint.controlUrl, relay.controlUrl]) {
      total += ((await (await fetch(`${control}/round-trips`)).json()) as { statementCount: number }).statementCount;
    }
    return total;
  };

  /** Everything but the noisy neighbours: creates against their baselines, distance, deliveries, stats. */
  const measureTheRest = async (bundle: BundleFigures): Promise<Omit<BenchReport, 'noisyNeighbours'>> => {
    const createUrl = `${base}/webhooks`;
    const bareUrl = `${base}/__bench/bare-insert`;
    const bareWebSocketUrl = `${base}/__bench/bare-insert-websocket`;
    log('warming up: the bare insert, and every cached-phase key once (fills KV)');
    await runLoad({ url: bareUrl, concurrency, body: '{}', tokens: Array(Math.min(200, requests)).fill(null) });
    const warmTokens = [...seed.cachedTokens, ...distanceTokens];
    const warm = await runLoad({ url: createUrl, concurrency, body: CREATE_BODY, tokens: warmTokens });
    if (warm.statuses['201'] !== warmTokens.length) throw new Error(`warm-up failed: ${JSON.stringify(warm.statuses)}`);

    const idleBefore = cpuTimeMs(workerd.worker);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const idleCpuMsPerSecond = (cpuTimeMs(workerd.worker) - idleBefore) / 2;

    let isolateProfile: IsolateProfile | undefined;
    if (options.profile) {
      // Before the measured rounds, not among them (profiling slows the isolate down). Placed after them, in
      // full runs, the profiled requests ran workerd out of file descriptors (EMFILE); here they do not.
      // The profile samples only the Worker's own isolate: Miniflare's KV and rate-limiter simulators run
      // elsewhere and are not in it; what remains that exists only locally is wrangler's forwarding of
      // console output.
      // One request at a time: the profiler samples wall time, so with requests overlapping on a busy core
      // it would charge the isolate for waiting its turn. A few hundred requests are enough for stable
      // figures (and under the profiler wrangler's dev proxy holds on to sockets: 3000 ran it out of files).
      const profiledRequests = Math.min(requests, 400);
      const profiled: [name: string, plan: LoadPlan][] = [
        ['bare insert', { url: bareUrl, concurrency: 1, body: '{}', tokens: Array(profiledRequests).fill(null) }],
        [
          'bare insert, WebSocket pool',
          { url: bareWebSocketUrl, concurrency: 1, body: '{}', tokens: Array(profiledRequests).fill(null) },
        ],
        [
          'create, cached key',
          {
            url: createUrl,
            concurrency: 1,
            body: CREATE_BODY,
            tokens: Array.from(
              { length: profiledRequests },
              (_, i) => seed.cachedTokens[(i + 7) % cachedKeys] as string,
            ),
          },
        ],
      ];
      isolateProfile = {};
      mkdirSync(join(projectRoot, 'bench-results'), { recursive: true });
      for (const [name, plan] of profiled) {
        const profiler = await startProfiler(inspectorPort);
        await runLoad(plan);
        const profile = await profiler.stop();
        isolateProfile[name] = {
          activeMsPerRequest: activeMs(profile) / profiledRequests,
          netOfConsoleMsPerRequest: activeMs(profile, isConsoleCall) / profiledRequests,
        };
        const file = `${name.replace(/[^a-z]+/g, '-')}.cpuprofile`;
        writeFileSync(join(projectRoot, 'bench-results', file), JSON.stringify(profile));
        if (name === 'create, cached key') {
          console.log(
            `Self time over ${profiledRequests} cached-key creates (bench-results/${file}):\n${summariseProfile(profile)}\n`,
          );
        }
      }
    }

    async function measure(plan: LoadPlan): Promise<WorkloadFigures> {
      const before = { worker: cpuTimeMs(workerd.worker), proxy: cpuTimeMs(workerd.proxy), db: await statementCount() };
      const result = await runLoad(plan);
      const after = { db: await statementCount(), worker: cpuTimeMs(workerd.worker), proxy: cpuTimeMs(workerd.proxy) };
      return {
        requests: result.requests,
        workerCpuMsPerRequest: (after.worker - before.worker) / result.requests,
        proxyCpuMsPerRequest: (after.proxy - before.proxy) / result.requests,
        latencyP50Ms: result.latenciesMs.p50,
        latencyP99Ms: result.latenciesMs.p99,
        throughputPerSecond: (result.requests / result.durationMs) * 1000,
        errors: result.requests - (result.statuses['201'] ?? 0),
        statementsPerRequest: (after.db - before.db) / result.requests,
        statuses: result.statuses,
      };
    }

    const samples = new Map<string, WorkloadFigures[]>();
    let uncachedOffset = 0;
    const workloads: { name: string; plan: () => LoadPlan }[] = [
      {
        name: 'bare insert',
        plan: () => ({ url: bareUrl, concurrency, body: '{}', tokens: Array(requests).fill(null) }),
      },
      {
        name: 'bare insert, WebSocket pool',
        plan: () => ({ url: bareWebSocketUrl, concurrency, body: '{}', tokens: Array(requests).fill(null) }),
      },
      {
        name: 'create, cached key',
        plan: () => ({
          url: createUrl,
          concurrency,
          body: CREATE_BODY,
          tokens: Array.from({ length: requests }, (_, i) => seed.cachedTokens[i % cachedKeys] as string),
        }),
      },
      {
        name: 'create, uncached key',
        plan: () => {
          uncachedOffset += requests;
          return {
            url: createUrl,
            concurrency,
            body: CREATE_BODY,
            tokens: seed.uncachedTokens.slice(uncachedOffset - requests, uncachedOffset),
          };
        },
      },
    ];
    for (let round = 1; round <= rounds; round++) {
      for (const workload of workloads) {
        const figures = await measure(workload.plan());
        samples.set(workload.name, [...(samples.get(workload.name) ?? []), figures]);
        log(
          `round ${round}/${rounds} ${workload.name}: ${figures.workerCpuMsPerRequest.toFixed(3)} ms CPU/req, p50 ${figures.latencyP50Ms} ms, ` +
            `${figures.throughputPerSecond.toFixed(0)} req/s, ${figures.statementsPerRequest.toFixed(2)} statements/req, ${figures.errors} errors`,
        );
      }
    }

    // What the local platform stand-ins cost inside one create: each operation alone, less a no-op.
    const probeCpu: Record<string, number> = {};
    for (const probe of rounds > 0 ? ['noop', 'kv-get', 'rate-limit', 'log-line'] : []) {
      const figures = await measure({
        url: `${base}/__bench/${probe}`,
        concurrency,
        body: '{}',
        tokens: Array(requests).fill(null),
      });
      if (figures.errors > 0) throw new Error(`probe ${probe} failed: ${JSON.stringify(figures.statuses)}`);
      probeCpu[probe] = figures.workerCpuMsPerRequest;
    }
    const platformSimulation = {
      kvGetMs: (probeCpu['kv-get'] ?? 0) - (probeCpu.noop ?? 0),
      rateLimitMs: (probeCpu['rate-limit'] ?? 0) - (probeCpu.noop ?? 0),
      logLineMs: (probeCpu['log-line'] ?? 0) - (probeCpu.noop ?? 0),
    };
    log(`local platform stand-ins per operation: ${JSON.stringify(platformSimulation)}`);

    // One webhook per distance key, for the lifecycle routes: request i goes to key i's own webhook.
    const distanceWebhooks: string[] = [];
    for (const token of distanceTokens) {
      const response = await fetch(createUrl, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: CREATE_BODY,
      });
      if (response.status !== 201) throw new Error(`creating a distance webhook answered ${response.status}`);
      distanceWebhooks.push(((await response.json()) as { data: { id: string } }).data.id);
    }
    /** A lifecycle route, each request by the next distance key on its own webhook. */
    const lifecycle = (name: string, method: string, suffix: (id: string) => string, body = '') => ({
      name,
      expected: 200,
      plan: (count: number) => ({
        url: createUrl,
        method,
        body,
        urls: Array.from(
          { length: count },
          (_, i) => `${base}${suffix(distanceWebhooks[i % DISTANCE_KEYS] as string)}`,
        ),
        tokens: Array.from({ length: count }, (_, i) => distanceTokens[i % DISTANCE_KEYS] as string),
      }),
    });

    let uncachedDistanceOffset = 0;
    const distance = await measureDistance(
      endpoint,
      [
        {
          name: 'create, cached key',
          expected: 201,
          plan: (count) => ({
            url: createUrl,
            body: CREATE_BODY,
            tokens: Array.from({ length: count }, (_, i) => distanceTokens[i % DISTANCE_KEYS] as string),
          }),
        },
        {
          name: 'create, uncached key',
          expected: 201,
          plan: (count) => {
            uncachedDistanceOffset += count;
            return {
              url: createUrl,
              body: CREATE_BODY,
              tokens: distanceUncachedTokens.slice(uncachedDistanceOffset - count, uncachedDistanceOffset),
            };
          },
        },
        lifecycle('get', 'GET', (id) => `/webhooks/${id}`),
        lifecycle('list', 'GET', () => '/webhooks?limit=10'),
        lifecycle('update', 'PATCH', (id) => `/webhooks/${id}`, '{"description":"changed at a distance"}'),
        lifecycle('reset circuit', 'POST', (id) => `/webhooks/${id}/reset-circuit`),
        lifecycle('delivery log', 'GET', (id) => `/webhooks/${id}/deliveries?limit=10`),
        {
          name: 'bare insert',
          expected: 201,
          plan: (count) => ({ url: bareUrl, body: '{}', tokens: Array(count).fill(null) }),
        },
      ],
      distanceRtts,
      distanceRequests,
      runLoad,
      log,
    );
    // The pool counts its round trips at the relay.
    distance.push(
      ...(await measureDistance(
        relay,
        [
          {
            name: 'bare insert, WebSocket pool',
            expected: 201,
            plan: (count) => ({ url: bareWebSocketUrl, body: '{}', tokens: Array(count).fill(null) }),
          },
        ],
        distanceRtts,
        distanceRequests,
        runLoad,
        log,
      )),
    );

    // --profile: the Worker isolate's own CPU over the delivery workload (Miniflare's queue broker and
    // entry worker run in other isolates of the same workerd process, which cpuTimeMs counts too).
    const deliveryProfiler = options.profile ? await startProfiler(inspectorPort) : undefined;
    const deliveries = await measureDeliveries({
      base,
      publishToken,
      account: deliveryAccount,
      events: deliveryEvents,
      idleEvents: idleDeliveryEvents,
      webhooks: webhooksPerEvent,
      concurrency,
      workerPid: workerd.worker,
      sqlControlUrl: endpoint.controlUrl,
      runLoad,
      log,
    });
    if (deliveryProfiler) {
      const profile = await deliveryProfiler.stop();
      const sent = deliveries.deliveries + idleDeliveryEvents * webhooksPerEvent;
      mkdirSync(join(projectRoot, 'bench-results'), { recursive: true });
      writeFileSync(join(projectRoot, 'bench-results', 'deliveries.cpuprofile'), JSON.stringify(profile));
      console.log(
        `Worker isolate over ${sent} deliveries: ${(activeMs(profile) / sent).toFixed(3)} ms active each, ` +
          `${(activeMs(profile, isConsoleCall) / sent).toFixed(3)} ms net of console calls ` +
          `(bench-results/deliveries.cpuprofile). Self time:\n${summariseProfile(profile, 40)}\n`,
      );
    }
    log(
      `deliveries: ${deliveries.deliveries} in ${(deliveries.deliveries / deliveries.deliveriesPerSecond).toFixed(1)} s, ` +
        `${deliveries.statementsPerEvent.toFixed(2)} statements/event, ${deliveries.statementsPerAttempt.toFixed(2)} statements/attempt, ` +
        `event to receiver p50 ${deliveries.eventToDeliveryP50Ms} ms (one event at a time ${deliveries.idleEventToDeliveryP50Ms} ms), ${deliveries.errors} errors`,
    );

    const stats = await measureStats({
      base,
      databaseUrl: database.url,
      account: statsAccount,
      deliveries: 100_000,
      requests: smoke ? 20 : 200,
      sqlControlUrl: endpoint.controlUrl,
      runLoad,
      log,
    });
    log(
      `stats of a webhook with ${stats.deliveriesInWindow} deliveries in its window: p50 ${stats.window24hP50Ms} ms (24h), ` +
        `${stats.window30dP50Ms} ms (30d), ${stats.statementsPerRequest.toFixed(2)} statements/request, ${stats.errors} errors`,
    );

    const combine = (runs: WorkloadFigures[]): WorkloadFigures => ({
      requests: runs.reduce((sum, run) => sum + run.requests, 0),
      workerCpuMsPerRequest: median(runs.map((run) => run.workerCpuMsPerRequest)),
      proxyCpuMsPerRequest: median(runs.map((run) => run.proxyCpuMsPerRequest)),
      latencyP50Ms: median(runs.map((run) => run.latencyP50Ms)),
      latencyP99Ms: median(runs.map((run) => run.latencyP99Ms)),
      throughputPerSecond: median(runs.map((run) => run.throughputPerSecond)),
      errors: runs.reduce((sum, run) => sum + run.errors, 0),
      statementsPerRequest: median(runs.map((run) => run.statementsPerRequest)),
      statuses: runs.reduce<Record<string, number>>((all, run) => {
        for (const [status, count] of Object.entries(run.statuses)) all[status] = (all[status] ?? 0) + count;
        return all;
      }, {}),
    });
    return {
      measuredAt: new Date().toISOString(),
      settings: {
        requests,
        rounds,
        concurrency,
        smoke,
        workerPinnedToCore: pinned ? WORKER_CORE : null,
        idleCpuMsPerSecond,
      },
      bare: combine(samples.get('bare insert') ?? []),
      bareWebSocket: combine(samples.get('bare insert, WebSocket pool') ?? []),
      cached: combine(samples.get('create, cached key') ?? []),
      uncached: combine(samples.get('create, uncached key') ?? []),
      platformSimulation,
      distance,
      deliveries,
      stats,
      ...(isolateProfile ? { isolateProfile } : {}),
      bundle,
    };
  };

  const measured = bundle ? await measureTheRest(bundle) : undefined;

  // Last: its hanging webhooks' retries and the rate-limited one's backlog would otherwise run into what follows.
  const noisyNeighbours = await measureNoisyNeighbours({
    base,
    publishToken,
    account: noisyAccount,
    databaseUrl: database.url,
    healthyWebhooks: 20,
    hangingWebhooks: 4,
    hangTimeoutMs: NOISY_HANG_TIMEOUT_MS,
    rateLimitPerSecond: NOISY_RATE_LIMIT,
    eventsPerSecond: NOISY_EVENTS_PER_SECOND,
    seconds: noisySeconds,
    log,
  });
  const { absent, present, presentProven, hanging, rateLimited } = noisyNeighbours;
  log(
    `noisy neighbours: healthy p50/p99 ${absent.p50Ms}/${absent.p99Ms} ms alone, ${present.p50Ms}/${present.p99Ms} ms beside new hanging webhooks, ` +
      `${presentProven.p50Ms}/${presentProven.p99Ms} ms beside ones that had answered; ` +
      `hanging ${hanging.laneSeconds.toFixed(1)} lane-seconds in ${hanging.attempts} attempts; ` +
      `rate-limited at most ${rateLimited.mostInOneSecond} in a second; ${noisyNeighbours.errors} errors`,
  );

  const report: BenchReport | NoisyOnlyReport = measured
    ? { ...measured, noisyNeighbours }
    : { measuredAt: new Date().toISOString(), settings: { smoke, noisyOnly }, noisyNeighbours };
  const resultsDir = join(projectRoot, 'bench-results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  const failed = 'bundle' in report ? printReport(report) : printNoisyOnly(report);
  log(`written to bench-results/latest.json`);
  // Not in the smoke run: three more wrangler starts, and a figure only a long run makes meaningful.
  if (!smoke && !noisyOnly) printMemory(await measureMemory(4000));
  if (failed) process.exitCode = 1;
} finally {
  for (const cleanup of cleanups) {
    try {
      await cleanup();
    } catch (error) {
      log(`cleanup failed: ${(error as Error).message}`);
    }
  }
}
