/**
 * Counts the HTTP requests this process starts (Node's `http.client.request.start` and undici's
 * `undici:request:create` diagnostics channels), so a test or benchmark can say how many requests
 * an operation cost without a proxy in the way.
 */
import diagnostics from 'node:diagnostics_channel';

export interface RequestCounter {
  /** Requests started since the counter was made (or last reset). */
  readonly count: number;
  reset(): void;
  stop(): void;
}

const CHANNELS = ['http.client.request.start', 'undici:request:create'];

export function countHttpRequests(): RequestCounter {
  let count = 0;
  const onRequest = () => void count++;
  for (const name of CHANNELS) diagnostics.subscribe(name, onRequest);
  return {
    get count() {
      return count;
    },
    reset() {
      count = 0;
    },
    stop() {
      for (const name of CHANNELS) diagnostics.unsubscribe(name, onRequest);
    },
  };
}
