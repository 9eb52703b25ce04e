// CPU profile of the bench Worker's isolate over the inspector (Chrome DevTools protocol), summarised
// as the functions with the most self time. For finding where a create spends what the bare insert
// does not; the profile file itself opens in Chrome DevTools or VS Code.
import { createRequire } from 'node:module';
import type { WebSocket as WsSocket } from 'ws';

const { WebSocket } = createRequire(import.meta.url)('ws') as typeof import('ws');

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface Profiler {
  stop(): Promise<CpuProfile>;
}

export async function startProfiler(inspectorPort: number): Promise<Profiler> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as {
    webSocketDebuggerUrl: string;
    title?: string;
  }[];
  const target = targets.find((candidate) => !candidate.title?.startsWith('Miniflare')) ?? targets[0];
  if (!target) throw new Error('no inspector target');
  const socket: WsSocket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  let nextId = 0;
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const id = ++nextId;
      const onMessage = (data: Buffer) => {
        const message = JSON.parse(data.toString()) as { id?: number; result?: Record<string, unknown> };
        if (message.id === id) {
          socket.off('message', onMessage);
          resolve(message.result ?? {});
        }
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id, method, params }));
    });
  await call('Profiler.enable');
  await call('Profiler.setSamplingInterval', { interval: 100 });
  await call('Profiler.start');
  return {
    stop: async () => {
      const { profile } = (await call('Profiler.stop')) as { profile: CpuProfile };
      socket.close();
      return profile;
    },
  };
}

/** Self time per function, largest first, as "ms  share  name  (file:line)". */
export function summariseProfile(profile: CpuProfile, top = 25): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, index) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  const totals = new Map<string, number>();
  for (const [id, micros] of self) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    const file = frame.url.split('/').pop() ?? '';
    const key = `${frame.functionName || '(anonymous)'}  (${file}:${frame.lineNumber + 1})`;
    totals.set(key, (totals.get(key) ?? 0) + micros);
  }
  const all = [...totals.values()].reduce((sum, value) => sum + value, 0);
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(
      ([name, micros]) =>
        `${(micros / 1000).toFixed(1).padStart(8)} ms ${((micros / all) * 100).toFixed(1).padStart(5)}%  ${name}`,
    )
    .join('\n');
}

type Frame = ProfileNode['callFrame'];

/**
 * The console call itself, inside one of the service's log functions (src/lib/log.ts): what wrangler
 * dev forwards to its terminal, over the inspector while the profiler is attached. The JSON.stringify
 * before it is the service's own work and stays in.
 */
export const isConsoleCall = (frame: Frame, parent: Frame | undefined) =>
  frame.url === '' && parent !== undefined && ['logInfo', 'logWarn', 'logError'].includes(parent.functionName);

/**
 * Time the isolate spent on anything but waiting, in milliseconds; with `exclude`, also leaving out
 * samples taken inside a frame it matches (at any depth of the stack).
 */
export function activeMs(profile: CpuProfile, exclude?: (frame: Frame, parent: Frame | undefined) => boolean): number {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const excluded = new Map<number, boolean>();
  const isExcluded = (id: number): boolean => {
    const known = excluded.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id);
    const up = parent.get(id);
    const upFrame = up === undefined ? undefined : byId.get(up)?.callFrame;
    const result =
      node === undefined
        ? false
        : (exclude?.(node.callFrame, upFrame) ?? false) || (up !== undefined && isExcluded(up));
    excluded.set(id, result);
    return result;
  };
  let micros = 0;
  profile.samples.forEach((id, index) => {
    if (byId.get(id)?.callFrame.functionName === '(idle)' || isExcluded(id)) return;
    micros += profile.timeDeltas[index] ?? 0;
  });
  return micros / 1000;
}
