// Memory under `wrangler dev`: how much the workerd processes grow per request, for this service and for
// a hello-world Worker under the same wrangler, same flags, same request (GET /health, no database).
// What both grow by is the local runtime's (wrangler, Miniflare, workerd), not ours.
//
//   node scripts/with-node.mjs node scripts/bench/memory.ts [--requests 4000]
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../local/dev-database.ts';
import { processTree } from '../local/dev-processes.ts';
import { waitUntilServing, wranglerBin } from '../local/wrangler.ts';

export interface MemoryFigures {
  worker: string;
  requests: number;
  /** Resident memory of wrangler's workerd processes, summed, before and after the requests. */
  rssBeforeMb: number;
  rssAfterMb: number;
  growthKbPerRequest: number;
}

const HELLO_WORLD = `export default { fetch: () => Response.json({ success: true, data: { status: 'ok' } }) };\n`;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/** Resident set of every workerd under `root`, in kB (VmRSS). */
function workerdRssKb(root: number): number {
  let total = 0;
  for (const pid of processTree(root)) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('workerd')) continue;
      total += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {}
  }
  return total;
}

async function requestMany(url: string, count: number, concurrency = 8): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next++ < count) await (await fetch(url)).arrayBuffer();
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function measure(worker: string, args: string[], cwd: string, requests: number): Promise<MemoryFigures> {
  const port = await freePort();
  const wrangler: ChildProcess = spawn(wranglerBin, ['dev', '--ip', '127.0.0.1', '--port', String(port), ...args], {
    cwd,
    stdio: 'ignore',
    env: {
      ...process.env,
      // The service's secrets; GET /health reads none of them.
      DATABASE_URL: 'postgres://bench@127.0.0.1:9/none',
      ENCRYPTION_KEYS: `bench:${Buffer.alloc(32).toString('base64')}`,
      EVENTS_PUBLISH_TOKEN: 'bench',
    },
  });
  try {
    const url = `http://127.0.0.1:${port}/health`;
    await waitUntilServing(url, wrangler);
    // Warm up (JIT, first-use allocations), then let it settle.
    await requestMany(url, 200);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const pid = wrangler.pid ?? 0;
    const before = workerdRssKb(pid);
    await requestMany(url, requests);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const after = workerdRssKb(pid);
    return {
      worker,
      requests,
      rssBeforeMb: Math.round(before / 1024),
      rssAfterMb: Math.round(after / 1024),
      growthKbPerRequest: Math.round(((after - before) / requests) * 10) / 10,
    };
  } finally {
    wrangler.kill('SIGTERM');
    await new Promise((resolve) => wrangler.once('exit', resolve));
  }
}

/** This service and a hello-world Worker, one after the other, under the same wrangler. */
export async function measureMemory(requests: number): Promise<MemoryFigures[]> {
  const ours = await measure('this service', [], projectRoot, requests);
  const helloDir = mkdtempSync(join(tmpdir(), 'webhooks-hello-'));
  try {
    writeFileSync(join(helloDir, 'index.js'), HELLO_WORLD);
    const toml = readFileSync(join(projectRoot, 'wrangler.toml'), 'utf8');
    const date = /^compatibility_date = "([^"]+)"/m.exec(toml)?.[1] ?? '2026-11-01';
    writeFileSync(
      join(helloDir, 'wrangler.toml'),
      `name = "hello"\nmain = "index.js"\ncompatibility_date = "${date}"\ncompatibility_flags = ["no_nodejs_compat_v2"]\n`,
    );
    const hello = await measure('hello-world Worker', [], helloDir, requests);
    return [ours, hello];
  } finally {
    rmSync(helloDir, { recursive: true, force: true });
  }
}

export function printMemory(figures: MemoryFigures[]): void {
  console.log('\nMemory under wrangler dev: workerd resident set, GET /health');
  for (const row of figures)
    console.log(
      `  ${row.worker.padEnd(20)} ${row.requests} requests: ${row.rssBeforeMb} → ${row.rssAfterMb} MB, ` +
        `${row.growthKbPerRequest} KB per request`,
    );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { requests: { type: 'string', default: '4000' } } });
  printMemory(await measureMemory(Number(values.requests)));
}
