// /proc readings for the benchmark: which workerd processes serve the bench Worker, their CPU time,
// and pinning processes to cores with taskset.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

function parentOf(pid: number): number {
  // The command name (field 2) may contain spaces; fields after its closing parenthesis are fixed.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

function descendants(root: number): number[] {
  const pids = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
  const found: number[] = [];
  for (const pid of pids) {
    let current = pid;
    for (let depth = 0; depth < 10 && current > 1; depth++) {
      try {
        current = parentOf(current);
      } catch {
        break;
      }
      if (current === root) {
        found.push(pid);
        break;
      }
    }
  }
  return found;
}

export interface WorkerdProcesses {
  /** Runs the bench Worker itself (and Miniflare's local KV and rate-limiter simulators). */
  worker: number;
  /** wrangler's dev proxy in front of it, listening on the public port. */
  proxy: number;
}

export function findWorkerd(wranglerPid: number, port: number): WorkerdProcesses {
  const workerds = descendants(wranglerPid).filter((pid) => commandLine(pid).includes('workerd serve'));
  const proxy = workerds.find((pid) => commandLine(pid).includes(`entry=127.0.0.1:${port}`));
  const worker = workerds.find((pid) => pid !== proxy);
  if (proxy === undefined || worker === undefined)
    throw new Error(`could not find both workerd processes under pid ${wranglerPid}`);
  return { worker, proxy };
}

/** User plus system CPU time of a process (all its threads), in milliseconds. */
export function cpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Pins a process and all its threads to one core; false when taskset is unavailable. */
export function pinToCore(pid: number, core: number): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
