// Where npm run dev's wrangler output goes: a plain-text file (.data/dev.log), and the terminal only with
// --logs. The terminal is for the banner; the file keeps everything the Worker and wrangler say, once:
// wrangler's own line per request is dropped, since the Worker writes one JSON line per request with
// more in it. Errors reach the terminal either way.
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';

/** wrangler's `[wrangler:info] GET /path 200 OK (12ms)`: the Worker's JSON line says it already. */
const WRANGLER_REQUEST_LINE = /^\[wrangler:info\] [A-Z]+ \S+ \d{3}\b/;
/** wrangler prints its table of bindings twice (before and after the local server starts): keep one. */
const BINDINGS_TABLE = 'Your Worker has access to the following bindings:';
/** What must not go unseen, --logs or not: wrangler's errors and the Worker's error lines. */
const ERROR_LINE = /\[ERROR\]|^\{"level":"error"/;

export interface DevLog {
  /** The last lines written, for a start that failed. */
  tail(count: number): string[];
}

export function routeDevLog(file: string, streams: Readable[], { echo }: { echo: boolean }): DevLog {
  const out = createWriteStream(file, { flags: 'w' });
  const recent: string[] = [];
  let tables = 0;
  let inRepeatedTable = false;
  for (const stream of streams) {
    createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (raw) => {
      const line = stripVTControlCharacters(raw);
      if (line === BINDINGS_TABLE) inRepeatedTable = ++tables > 1;
      if (inRepeatedTable) {
        if (line.trim() === '') inRepeatedTable = false;
        return;
      }
      if (WRANGLER_REQUEST_LINE.test(line)) return;
      out.write(`${line}\n`);
      recent.push(line);
      if (recent.length > 40) recent.shift();
      if (echo) process.stdout.write(`${raw}\n`);
      else if (ERROR_LINE.test(line)) process.stderr.write(`${line}\n`);
    });
  }
  return { tail: (count) => recent.slice(-count) };
}
