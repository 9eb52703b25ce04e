// The processes one `npm run dev` runs besides itself (wrangler, its workerd and esbuild), found through
// `ps` (Linux and macOS alike), so that a stop takes every one of them down and the next start can stop
// what a crash left behind.
import { execFileSync } from 'node:child_process';

interface ProcessEntry {
  pid: number;
  ppid: number;
  args: string;
}

/** What dev starts, as `ps` shows it: guards against a pid the system gave to something else since. */
const OURS = /wrangler|workerd|esbuild/;

function processTable(): ProcessEntry[] {
  const output = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' });
  return output.split('\n').flatMap((line) => {
    const match = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    return match ? [{ pid: Number(match[1]), ppid: Number(match[2]), args: match[3] ?? '' }] : [];
  });
}

/** Whether `pid` is an `npm run dev` (scripts/dev.ts) now. */
export function isDevServer(pid: number): boolean {
  return processTable().some((entry) => entry.pid === pid && entry.args.includes('scripts/dev.ts'));
}

/** `pid` and every process below it that is one of ours. */
export function processTree(pid: number): number[] {
  const table = processTable();
  const tree = [pid];
  for (let index = 0; index < tree.length; index++) {
    for (const entry of table) if (entry.ppid === tree[index] && OURS.test(entry.args)) tree.push(entry.pid);
  }
  return tree;
}

/** Those of `pids` still running and still ours (wrangler, workerd, esbuild of this checkout). */
export function stillRunning(pids: number[], checkout: string): number[] {
  const running = new Map(processTable().map((entry) => [entry.pid, entry.args]));
  return pids.filter((pid) => {
    const args = running.get(pid);
    return args !== undefined && OURS.test(args) && args.includes(checkout);
  });
}

function signal(pids: number[], name: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, name);
    } catch {}
  }
}

/** SIGTERM, then SIGKILL for whatever is still there after `graceMs`. Resolves once none is left. */
export async function stopProcesses(pids: number[], checkout: string, graceMs = 3000): Promise<void> {
  signal(stillRunning(pids, checkout), 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (stillRunning(pids, checkout).length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  signal(stillRunning(pids, checkout), 'SIGKILL');
}
