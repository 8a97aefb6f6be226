/** The throughput-over-time chart (uPlot): tasks per second, and the queue's length on a second axis. */
import uPlot from 'uplot';
import type { HistoryPoint } from '../api';
import { formatCount, formatRate } from '../../lib/ops/units';

const HEIGHT = 240;

export class ThroughputChart {
  private plot: uPlot | undefined;

  constructor(private readonly container: HTMLElement) {
    window.addEventListener('resize', () => this.plot?.setSize({ width: this.width(), height: HEIGHT }));
  }

  private width(): number {
    return Math.max(320, this.container.clientWidth);
  }

  update(history: readonly HistoryPoint[], approximate: boolean): void {
    const data: uPlot.AlignedData = [
      history.map((p) => p.at / 1000),
      history.map((p) => p.perSecond),
      history.map((p) => p.enqueued),
    ];
    if (this.plot) {
      this.plot.setData(data);
      return;
    }
    this.plot = new uPlot(
      {
        width: this.width(),
        height: HEIGHT,
        cursor: { drag: { x: false, y: false } },
        scales: { rate: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] }, queue: {} },
        axes: [
          {},
          { scale: 'rate', label: approximate ? 'tasks/s (approximate)' : 'tasks/s', values: (_u, v) => v.map(rate) },
          { scale: 'queue', side: 1, label: 'enqueued', grid: { show: false }, values: (_u, v) => v.map(count) },
        ],
        series: [
          {},
          {
            label: 'throughput',
            scale: 'rate',
            stroke: '#2f6fdf',
            fill: 'rgba(47,111,223,0.15)',
            width: 2,
            value: val,
          },
          { label: 'enqueued', scale: 'queue', stroke: '#8a94a6', width: 1, dash: [4, 4], value: valCount },
        ],
      },
      data,
      this.container,
    );
  }
}

function rate(value: number): string {
  return formatRate(value);
}

function count(value: number): string {
  return formatCount(value);
}

function val(_u: uPlot, value: number | null): string {
  return value === null ? '–' : formatRate(value);
}

function valCount(_u: uPlot, value: number | null): string {
  return value === null ? '–' : formatCount(value);
}
