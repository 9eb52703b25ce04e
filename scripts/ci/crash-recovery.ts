// Nothing accepted is lost when `npm run dev` dies. Publishes a burst of events to POST /events, kills
// npm's whole process group with SIGKILL right after the last 202, restarts `npm run dev` with no hand
// work, publishes a second burst and stops that run with Ctrl-C (SIGINT to the group), restarts again,
// then waits until every accepted event has reached every subscribed webhook: a real receiver
// (scripts/local/webhook-receiver.ts) that verifies each signature. Prints, per stop: events accepted,
// events and deliveries lost, duplicates received, and the time from the restart to the last delivery.
// Fails if anything accepted was lost, if a stop left a process of the run serving, or if a restart
// needed help.
//
//   node scripts/with-node.mjs node scripts/ci/crash-recovery.ts     (PORT, BURST, RECOVERY_LIMIT_SECONDS)
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { devSecret } from '../local/dev-secrets.ts';
import { type ReceivedDelivery, startWebhookReceiver } from '../local/webhook-receiver.ts';

const checkout = fileURLToPath(new URL('../..', import.meta.url));
const PORT = Number(process.env.PORT ?? 8787);
const API = `http://127.0.0.1:${PORT}`;
const BURST = Number(process.env.BURST ?? 200);
const WEBHOOKS = 3;
const RECOVERY_LIMIT_MS = Number(process.env.RECOVERY_LIMIT_SECONDS ?? 150) * 1000;
const PUBLISH_CONCURRENCY = 10;
const runId = Date.now().toString(36);

const log = (message: string) => console.log(`crash-recovery: ${message}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const failures: string[] = [];
/** npm's process group of the run under way: killed if this script ends early. */
let currentGroup: number | undefined;
process.on('exit', () => {
  try {
    if (currentGroup) process.kill(-currentGroup, 'SIGKILL');
  } catch {}
});

interface DevRun {
  npm: ChildProcess;
  output: () => string;
  exited: Promise<void>;
}

/** `npm run dev` in a process group of its own (npm leads it), as a terminal would start it. */
async function startDev(): Promise<DevRun | undefined> {
  const npm = spawn('npm', ['run', 'dev', '--', '--port', String(PORT)], {
    cwd: checkout,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  npm.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  npm.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  currentGroup = npm.pid;
  const exited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));
  const started = Date.now();
  while (!text.includes('Try it:')) {
    if (npm.exitCode !== null || npm.signalCode !== null || Date.now() - started > 90_000) {
      log(`npm run dev did not start:\n${text.trim()}`);
      return undefined;
    }
    await sleep(100);
  }
  for (const line of text.split('\n')) if (line.startsWith('[dev]')) log(`dev said: ${line}`);
  return { npm, output: () => text, exited };
}

/** Processes of this checkout's dev server (wrangler, workerd, esbuild) still running. */
function leftovers(): string[] {
  const table = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n');
  return table.filter((line) => /wrangler|workerd|esbuild/.test(line) && line.includes(checkout));
}

async function serving(): Promise<boolean> {
  try {
    await fetch(`${API}/health`, { signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

/** After a stop: nothing of the run may keep serving. Returns what was found (for the figures). */
async function checkNothingLeft(stop: string): Promise<string> {
  await sleep(500);
  const left = leftovers();
  const answering = await serving();
  if (left.length === 0 && !answering) return 'nothing left running';
  failures.push(`${stop} left ${left.length} processes running${answering ? ', still serving /health' : ''}`);
  return `${left.length} processes left${answering ? ', still serving /health' : ''}`;
}

/** Restarts with no hand work; if that fails (the measurement before the fix), does the hand work and says so. */
async function restart(stop: string): Promise<DevRun> {
  const run = await startDev();
  if (run) return run;
  failures.push(`the restart after ${stop} needed hand work`);
  for (const line of leftovers()) {
    const pid = Number(line.trim().split(/\s+/)[0]);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  await sleep(1000);
  const again = await startDev();
  if (!again) throw new Error('npm run dev did not start even after its leftovers were killed');
  return again;
}

interface Api {
  token: string;
  accountId: string;
}

async function createWebhook(api: Api, receiverOrigin: string): Promise<string> {
  const endpoint = (await (
    await fetch(`${receiverOrigin}/endpoints`, { method: 'POST', body: JSON.stringify({ secrets: [] }) })
  ).json()) as { id: string; url: string };
  const response = await fetch(`${API}/webhooks`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${api.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ url: endpoint.url, events: ['INTERVIEW_COMPLETED'] }),
  });
  const created = (await response.json()) as { data: { signingSecret: string } };
  if (response.status !== 201)
    throw new Error(`webhook create answered ${response.status}: ${JSON.stringify(created)}`);
  await fetch(`${receiverOrigin}/endpoints/${endpoint.id}/secrets`, {
    method: 'PUT',
    body: JSON.stringify([created.data.signingSecret]),
  });
  return endpoint.id;
}

/** Publishes `count` events, `PUBLISH_CONCURRENCY` at a time; the ids answered 202. */
async function burst(api: Api, label: string): Promise<string[]> {
  const publishToken = devSecret('EVENTS_PUBLISH_TOKEN') ?? '';
  const accepted: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < BURST) {
      const id = `${runId}-${label}-${next++}`;
      const response = await fetch(`${API}/events`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${publishToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ id, type: 'INTERVIEW_COMPLETED', accountId: api.accountId, data: { seq: id } }),
      }).catch(() => undefined);
      await response?.text();
      if (response?.status === 202) accepted.push(id);
    }
  };
  await Promise.all(Array.from({ length: PUBLISH_CONCURRENCY }, worker));
  return accepted;
}

async function receivedBy(receiverOrigin: string, endpointId: string): Promise<ReceivedDelivery[]> {
  return (await (await fetch(`${receiverOrigin}/endpoints/${endpointId}/requests`)).json()) as ReceivedDelivery[];
}

interface Phase {
  stop: string;
  accepted: string[];
  restartedAt: number;
  afterStop: string;
  recoveredInMs?: number;
}

/** Per phase: deliveries missing, and duplicates (the same event received twice by one endpoint). */
async function tally(receiverOrigin: string, endpoints: string[], phase: Phase) {
  const wanted = new Set(phase.accepted);
  let missing = 0;
  let duplicates = 0;
  let unverified = 0;
  const lostEvents = new Set<string>();
  for (const endpoint of endpoints) {
    const seen = new Map<string, number>();
    for (const delivery of await receivedBy(receiverOrigin, endpoint)) {
      const seq = (JSON.parse(delivery.body) as { data: { seq?: string } }).data.seq ?? '';
      if (!wanted.has(seq)) continue;
      if (delivery.verifiedWith.length === 0) unverified++;
      seen.set(seq, (seen.get(seq) ?? 0) + 1);
    }
    for (const id of wanted) {
      const count = seen.get(id) ?? 0;
      if (count === 0) {
        missing++;
        lostEvents.add(id);
      }
      duplicates += Math.max(0, count - 1);
    }
  }
  return { missing, duplicates, unverified, lostEvents: lostEvents.size };
}

async function main() {
  const receiver = await startWebhookReceiver();
  let dev = await startDev();
  if (!dev) throw new Error('npm run dev did not start');
  // As a user would: the banner's API key and dev account.
  const banner = dev.output();
  const credentials: Api = {
    token: /^API key \([^)]*\): (\S+)$/m.exec(banner)?.[1] ?? '',
    accountId: /dev account ([0-9a-f-]{36})/.exec(banner)?.[1] ?? '',
  };
  const endpoints: string[] = [];
  for (let index = 0; index < WEBHOOKS; index++) endpoints.push(await createWebhook(credentials, receiver.origin));
  log(`${WEBHOOKS} webhooks on a receiver at ${receiver.origin}; bursts of ${BURST} events`);

  // A crash: SIGKILL to npm's process group right after the last 202.
  const killedAccepted = await burst(credentials, 'sigkill');
  process.kill(-(dev.npm.pid ?? 0), 'SIGKILL');
  await dev.exited;
  const afterKill = await checkNothingLeft('SIGKILL');
  log(`SIGKILL to npm's group after ${killedAccepted.length} events answered 202: ${afterKill}`);
  dev = await restart('SIGKILL');
  const killed: Phase = { stop: 'SIGKILL', accepted: killedAccepted, restartedAt: Date.now(), afterStop: afterKill };

  // A stop: Ctrl-C (SIGINT to the group, as a terminal sends it) right after the last 202.
  const stoppedAccepted = await burst(credentials, 'ctrl-c');
  process.kill(-(dev.npm.pid ?? 0), 'SIGINT');
  await Promise.race([dev.exited, sleep(20_000)]);
  let afterStop = await checkNothingLeft('Ctrl-C');
  const stateLeft = ['dev-server.json', 'pglite/postmaster.pid'].filter((file) =>
    existsSync(join(checkout, '.data', file)),
  );
  if (stateLeft.length > 0) {
    failures.push(`Ctrl-C left ${stateLeft.join(', ')}`);
    afterStop += `; left ${stateLeft.join(', ')}`;
  }
  log(`Ctrl-C after ${stoppedAccepted.length} events answered 202: ${afterStop}`);
  dev = await restart('Ctrl-C');
  const stopped: Phase = { stop: 'Ctrl-C', accepted: stoppedAccepted, restartedAt: Date.now(), afterStop };

  const phases = [killed, stopped];
  const deadline = Date.now() + RECOVERY_LIMIT_MS;
  while (Date.now() < deadline && phases.some((phase) => phase.recoveredInMs === undefined)) {
    for (const phase of phases) {
      if (phase.recoveredInMs !== undefined) continue;
      if ((await tally(receiver.origin, endpoints, phase)).missing === 0)
        phase.recoveredInMs = Date.now() - phase.restartedAt;
    }
    await sleep(500);
  }
  // A little longer, for duplicates still on their way.
  await sleep(2000);
  for (const phase of phases) {
    const { missing, duplicates, unverified, lostEvents } = await tally(receiver.origin, endpoints, phase);
    const recovered =
      phase.recoveredInMs === undefined
        ? `not recovered within ${RECOVERY_LIMIT_MS / 1000} s`
        : `all delivered ${(phase.recoveredInMs / 1000).toFixed(1)} s after the restart was ready`;
    log(
      `${phase.stop}: ${phase.accepted.length} accepted, ${lostEvents} events (${missing} deliveries) lost, ` +
        `${duplicates} duplicates, ${recovered}`,
    );
    if (missing > 0) failures.push(`${phase.stop}: ${missing} deliveries of ${lostEvents} accepted events lost`);
    if (unverified > 0) failures.push(`${phase.stop}: ${unverified} deliveries failed signature verification`);
  }

  process.kill(-(dev.npm.pid ?? 0), 'SIGINT');
  await Promise.race([dev.exited, sleep(20_000)]);
  await receiver.close();
  if (failures.length > 0) {
    for (const failure of failures) log(`FAILED: ${failure}`);
    process.exit(1);
  }
  log('passed');
}

await main();
