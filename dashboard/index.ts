/**
 * The dashboard in one call, for `npm run dashboard` and `npm start`: samples the queue (the first
 * sample must succeed, so a missing queue or missing credentials fail here, with their fix), then
 * serves the page on a loopback address.
 */
import type { TaskSettings } from '../lib/settings';
import type { Queue } from '../lib/queue/types';
import { RunStore } from '../lib/runs/store';
import { QueueDashboard } from './source';
import { startDashboardServer } from './server';

export interface StartDashboardOptions {
  readonly host?: string;
  readonly port: number;
  readonly intervalSeconds: number;
  /** The settings the queue was opened with (where run records and heartbeats live). */
  readonly settings: TaskSettings;
}

export interface RunningDashboard {
  readonly url: string;
  close(): Promise<void>;
}

export async function startDashboard(queue: Queue, options: StartDashboardOptions): Promise<RunningDashboard> {
  const source = new QueueDashboard(queue, {
    intervalSeconds: options.intervalSeconds,
    runs: RunStore.open(queue.url, options.settings.cloudpath),
  });
  await source.sample();
  const server = await startDashboardServer(source, { host: options.host, port: options.port });
  source.start();
  return {
    url: server.url,
    close: async () => {
      source.stop();
      await server.close();
    },
  };
}
