/**
 * Prometheus metrics and health probe for one worker, on an optional port (the `metricsPort` setting):
 * `GET /healthz` is 200 while the lease loop runs and 503 once shutdown has begun (so Kubernetes
 * stops counting the pod as ready), `GET /metrics` is the Prometheus text format.
 */
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Worker } from './worker';

/** Counts and timings of one worker, in their own registry (several workers can share a process in tests). */
export function workerMetrics(worker: Worker, options: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const counter = (name: string, help: string) => new Counter({ name, help, registers: [registry] });
  const succeeded = counter('worker_tasks_succeeded_total', 'Tasks that ran to the end and were deleted.');
  const failed = counter(
    'worker_tasks_failed_total',
    'Failed task attempts: threw, timed out, ran out of memory or crashed their thread (each retry counts).',
  );
  const retried = counter('worker_tasks_retried_total', 'Failed tasks released for another attempt.');
  const released = counter('worker_tasks_released_total', 'Tasks released unfinished at shutdown.');
  const leaseLost = counter(
    'worker_tasks_lease_lost_total',
    'Tasks whose lease was lost (renewal refused or lease expired) and that did not complete.',
  );
  const completedLeaseLost = counter(
    'worker_tasks_completed_after_lease_lost_total',
    'Tasks that completed after their lease was lost: they may run again elsewhere.',
  );
  const deadLettered = new Counter({
    name: 'worker_tasks_dead_lettered_total',
    help: 'Tasks moved to the dead-letter place, by reason.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'worker_task_duration_seconds',
    help: 'Run time of tasks that completed or failed.',
    buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [registry],
  });
  new Gauge({
    name: 'worker_tasks_in_flight',
    help: 'Tasks leased by this worker right now.',
    registers: [registry],
    collect() {
      this.set(worker.inFlight);
    },
  });

  worker.on('taskEnded', (event) => {
    if (event.failed) failed.inc();
    const completed = event.outcome === 'succeeded' || event.outcome === 'completed-lease-lost';
    if (completed || event.failed) duration.observe(event.durationMs / 1000);
    switch (event.outcome) {
      case 'succeeded':
        succeeded.inc();
        break;
      case 'retried':
        retried.inc();
        break;
      case 'dead-lettered':
        deadLettered.inc({ reason: event.reason ?? 'unknown' });
        break;
      case 'released':
        released.inc();
        break;
      case 'lease-lost':
        leaseLost.inc();
        break;
      case 'completed-lease-lost':
        completedLeaseLost.inc();
        break;
    }
  });
  return registry;
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `/healthz` and `/metrics` on `port` (0 picks a free one). */
export async function serveMetrics(
  worker: Worker,
  registry: Registry,
  port: number,
  host = '0.0.0.0',
): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const url = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (url === '/healthz') {
      const alive = worker.state === 'running';
      response.writeHead(alive ? 200 : 503, { 'content-type': 'text/plain' }).end(alive ? 'ok\n' : `${worker.state}\n`);
    } else if (url === '/metrics') {
      registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`),
      );
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('try /healthz or /metrics\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  // Probes must not keep a stopped worker alive.
  server.unref();
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
