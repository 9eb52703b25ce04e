// Load generator for `npm run bench`, run as its own process (pinned to the core workerd is not on).
// Reads a plan as JSON on stdin, sends the requests over keep-alive connections at a fixed
// concurrency, and prints a summary as JSON on stdout.
import { Agent, request } from 'node:http';

export interface LoadPlan {
  url: string;
  concurrency: number;
  /** POST when absent. */
  method?: string;
  /** Sent with every request; none for a GET. */
  body: string;
  /** One Authorization token per request, or null to send none. */
  tokens: (string | null)[];
  /** One URL per request, instead of `url` for all of them. */
  urls?: string[];
}

export interface LoadResult {
  requests: number;
  durationMs: number;
  latenciesMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  statuses: Record<string, number>;
}

function send(agent: Agent, url: URL, method: string, body: string, token: string | null): Promise<number> {
  const withBody = method !== 'GET' && method !== 'HEAD';
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent,
        headers: {
          ...(withBody ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } : {}),
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(withBody ? body : undefined);
  });
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

export async function runLoad(plan: LoadPlan): Promise<LoadResult> {
  const url = new URL(plan.url);
  const agent = new Agent({ keepAlive: true, maxSockets: plan.concurrency });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: plan.concurrency }, async () => {
      while (next < plan.tokens.length) {
        const index = next++;
        const token = plan.tokens[index] ?? null;
        const target = plan.urls?.[index] === undefined ? url : new URL(plan.urls[index]);
        const sent = performance.now();
        let status: string;
        try {
          status = String(await send(agent, target, plan.method ?? 'POST', plan.body, token));
        } catch {
          status = 'network-error';
        }
        latencies.push(performance.now() - sent);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }),
  );
  const durationMs = performance.now() - started;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 100) / 100;
  return {
    requests: plan.tokens.length,
    durationMs: round(durationMs),
    latenciesMs: {
      p50: round(percentile(latencies, 0.5)),
      p90: round(percentile(latencies, 0.9)),
      p99: round(percentile(latencies, 0.99)),
      max: round(latencies.at(-1) ?? Number.NaN),
      mean: round(latencies.reduce((sum, value) => sum + value, 0) / latencies.length),
    },
    statuses,
  };
}

if (import.meta.main) {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  process.stdout.write(JSON.stringify(await runLoad(JSON.parse(input) as LoadPlan)));
}
