// `wrangler dev` never fires the Worker's crons (it only offers a URL to fire one by hand), so npm run dev
// fires them itself, on wrangler.toml's schedule in UTC as Cloudflare does, through that same URL. Each
// also runs once at start: a dev server that was stopped missed its minutes, and the sweep is what
// recovers what a crash left (README "After a crash").
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The `crons = [...]` of wrangler.toml's [triggers]. */
export function configuredCrons(projectRoot: string): string[] {
  const toml = readFileSync(join(projectRoot, 'wrangler.toml'), 'utf8');
  const list = /^crons\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1] ?? '';
  return [...list.matchAll(/"([^"]+)"/g)].flatMap((match) => (match[1] ? [match[1]] : []));
}

/** One field of a cron expression: `*`, `*\/n`, `a`, `a-b`, `a-b/n`, or a comma-separated list of them. */
function fieldMatches(field: string, value: number): boolean {
  return field.split(',').some((part) => {
    const [range = '*', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    const [low, high] = range === '*' ? [0, Number.MAX_SAFE_INTEGER] : range.split('-').map(Number);
    const from = low ?? 0;
    const to = high ?? (stepText === undefined ? from : Number.MAX_SAFE_INTEGER);
    return value >= from && value <= to && (value - from) % step === 0;
  });
}

/** Whether a five-field cron expression fires in the UTC minute of `time`. */
export function cronFires(cron: string, time: Date): boolean {
  const [minute = '', hour = '', day = '', month = '', weekday = ''] = cron.trim().split(/\s+/);
  return (
    fieldMatches(minute, time.getUTCMinutes()) &&
    fieldMatches(hour, time.getUTCHours()) &&
    fieldMatches(day, time.getUTCDate()) &&
    fieldMatches(month, time.getUTCMonth() + 1) &&
    fieldMatches(weekday.replace(/\b7\b/, '0'), time.getUTCDay())
  );
}

export interface CronRunner {
  stop(): void;
}

/**
 * Fires each of `crons` once now, then at the start of every UTC minute it matches, by asking wrangler's
 * local scheduled-event URL. A failure is reported and the schedule goes on, as on Cloudflare.
 */
export function runCrons(apiBase: string, crons: string[], report: (message: string) => void): CronRunner {
  const fire = async (cron: string, time: number) => {
    const url = `${apiBase}/cdn-cgi/local/scheduled?cron=${encodeURIComponent(cron)}&time=${time}`;
    try {
      const response = await fetch(url);
      await response.text();
      if (!response.ok) report(`cron "${cron}" answered ${response.status} (see .data/dev.log)`);
    } catch (error) {
      report(`cron "${cron}" could not be fired: ${(error as Error).message}`);
    }
  };
  for (const cron of crons) void fire(cron, Date.now());
  let timer: NodeJS.Timeout | undefined;
  const next = () => {
    const now = Date.now();
    const minute = Math.floor(now / 60_000) * 60_000 + 60_000;
    timer = setTimeout(() => {
      for (const cron of crons) if (cronFires(cron, new Date(minute))) void fire(cron, minute);
      next();
    }, minute - now);
    timer.unref();
  };
  next();
  return { stop: () => clearTimeout(timer) };
}
