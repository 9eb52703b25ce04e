// The project's wrangler, and waiting for a `wrangler dev` it started to serve.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from './dev-database.ts';

export const wranglerBin = join(projectRoot, 'node_modules', '.bin', 'wrangler');

/** Resolves once `url` answers at all; fails when `wrangler` exits first or after a minute. */
export async function waitUntilServing(url: string, wrangler: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 600 && wrangler.exitCode === null; attempt++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const exited = wrangler.exitCode === null ? '' : ` (wrangler exited with ${wrangler.exitCode})`;
  throw new Error(`wrangler dev never answered at ${url}${exited}`);
}
