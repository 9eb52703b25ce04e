import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { ApiFailure, api } from '../api.ts';
import type { Stats } from '../types.ts';

const WINDOWS = ['1h', '24h', '7d', '30d'];

/**
 * Success rate and latency over time, from GET /webhooks/{id}/stats. Hidden when the service has no
 * such route (404): it arrives with another issue. The numbers are also given as text for those who
 * would rather read, or cannot see, the chart.
 */
export function StatsChart({ id }: { id: string }) {
  const [stats, setStats] = useState<Stats | null>(null);
  const [absent, setAbsent] = useState(false);
  const [window, setWindow] = useState('24h');
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    api<Stats>('GET', `/webhooks/${id}/stats?window=${window}`)
      .then(({ data }) => setStats(data))
      .catch((failure) => {
        if (failure instanceof ApiFailure && (failure.status === 404 || failure.status === 405)) setAbsent(true);
      });
  }, [id, window]);

  useEffect(() => {
    const target = box.current;
    if (!stats || !target || stats.series.length === 0) return;
    const times = stats.series.map((bucket) => Date.parse(bucket.start) / 1000);
    const rate = stats.series.map((bucket) =>
      bucket.attempts > 0 ? (bucket.succeeded / bucket.attempts) * 100 : null,
    );
    const p50 = stats.series.map((bucket) => bucket.p50);
    const p95 = stats.series.map((bucket) => bucket.p95);
    const width = Math.max(280, Math.min(target.clientWidth || 640, 900));
    const plot = new uPlot(
      {
        width,
        height: 220,
        series: [
          {},
          { label: 'Success %', stroke: '#1a7f37', width: 2, scale: '%' },
          { label: 'p50 ms', stroke: '#0550ae', width: 1.5, scale: 'ms' },
          { label: 'p95 ms', stroke: '#8250df', width: 1.5, dash: [4, 4], scale: 'ms' },
        ],
        scales: { '%': { range: [0, 100] } },
        axes: [{}, { scale: '%', label: 'Success %' }, { scale: 'ms', side: 1, label: 'ms', grid: { show: false } }],
      },
      [times, rate, p50, p95],
      target,
    );
    return () => plot.destroy();
  }, [stats]);

  if (absent) return null;
  return (
    <section aria-labelledby="stats-title" class="panel">
      <div class="title-row">
        <h2 id="stats-title">Success rate and latency</h2>
        <label>
          Window
          <select value={window} onChange={(e) => setWindow(e.currentTarget.value)}>
            {WINDOWS.map((item) => (
              <option key={item} value={item}>
                {item}
              </option>
            ))}
          </select>
        </label>
      </div>
      {stats && (
        <p data-testid="stats-summary">
          {stats.successRate === null
            ? 'No attempts in this window.'
            : `${(stats.successRate * 100).toFixed(1)}% succeeded`}{' '}
          · {stats.deliveries.succeeded} delivered, {stats.deliveries.failed} failed, {stats.deliveries.pending} pending
          · latency p50 {stats.latencyMs.p50 ?? '—'} ms, p95 {stats.latencyMs.p95 ?? '—'} ms
        </p>
      )}
      <div ref={box} class="chart" aria-hidden="true" />
    </section>
  );
}
