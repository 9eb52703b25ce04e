// The production bundle's size (wrangler deploy --dry-run --minify) and its startup CPU
// (wrangler check startup, which profiles the Worker's top-level evaluation in a local workerd).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wranglerBin } from '../local/wrangler.ts';

export interface BundleFigures {
  rawKiB: number;
  gzipKiB: number;
  startupActiveMs: number[];
}

function wrangler(projectRoot: string, args: string[]): string {
  return execFileSync(wranglerBin, args, {
    cwd: projectRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function measureBundle(projectRoot: string, startupRuns: number): BundleFigures {
  const outdir = mkdtempSync(join(tmpdir(), 'webhooks-bundle-'));
  try {
    const build = wrangler(projectRoot, ['deploy', '--dry-run', '--minify', '--outdir', outdir]);
    const size = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(build);
    if (!size) throw new Error(`no size in wrangler's output:\n${build}`);
    const startupActiveMs: number[] = [];
    for (let run = 0; run < startupRuns; run++) {
      const profile = wrangler(projectRoot, [
        'check',
        'startup',
        '--args=--minify',
        '--outfile',
        join(outdir, 'startup.cpuprofile'),
      ]);
      const active = /Active: ([\d.]+) ms/.exec(profile);
      if (!active) throw new Error(`no startup time in wrangler's output:\n${profile}`);
      startupActiveMs.push(Number(active[1]));
    }
    return { rawKiB: Number(size[1]), gzipKiB: Number(size[2]), startupActiveMs };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
