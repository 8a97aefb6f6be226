/**
 * A latency (and fault) proxy for tests and benchmarks: toxiproxy-server (built by
 * scripts/test-tools.sh) on a free loopback port, driven through its HTTP API. A proxy listens on
 * another loopback port and forwards to an upstream; toxics on it delay or break the traffic.
 */
import { freePort } from './fauxqs';
import { findTool, httpAnswers, spawnTool, waitUntilReady } from './tools';

export interface LatencyOptions {
  /** Added to every response (toxiproxy's downstream latency toxic), in ms. */
  readonly latencyMs: number;
  /** ± this much at random, in ms. Default 0. */
  readonly jitterMs?: number;
}

export interface Proxy {
  readonly name: string;
  /** host:port the proxy listens on. */
  readonly listen: string;
  readonly port: number;
  readonly upstream: string;
}

export interface ToxiproxyServer {
  /** The API, e.g. http://127.0.0.1:45123 */
  readonly api: string;
  /** The proxy's process (the benchmarks read its CPU time). */
  readonly pid: number | undefined;
  /** A proxy on a free loopback port in front of `upstream` (host:port), optionally with latency. */
  addProxy(name: string, upstream: string, latency?: LatencyOptions): Promise<Proxy>;
  /** Sets (or replaces) the latency toxic of a proxy. */
  setLatency(proxy: string, latency: LatencyOptions): Promise<void>;
  stop(): Promise<void>;
}

export async function startToxiproxy(): Promise<ToxiproxyServer> {
  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  const tool = spawnTool(findTool('toxiproxy-server'), ['-host', '127.0.0.1', '-port', String(port)], {
    ...process.env,
    LOG_LEVEL: 'error',
  });
  await waitUntilReady('toxiproxy-server', tool, () => httpAnswers(`${api}/version`));

  async function call(method: string, route: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${api}${route}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`toxiproxy ${method} ${route}: HTTP ${response.status} ${text}`);
    return text === '' ? undefined : JSON.parse(text);
  }

  async function setLatency(proxy: string, { latencyMs, jitterMs = 0 }: LatencyOptions): Promise<void> {
    const route = `/proxies/${encodeURIComponent(proxy)}/toxics`;
    const toxics = (await call('GET', route)) as Array<{ name: string }>;
    if (toxics.some((toxic) => toxic.name === 'latency')) await call('DELETE', `${route}/latency`);
    await call('POST', route, {
      name: 'latency',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: latencyMs, jitter: jitterMs },
    });
  }

  return {
    api,
    pid: tool.child.pid,
    async addProxy(name, upstream, latency) {
      const listenPort = await freePort();
      const created = (await call('POST', '/proxies', {
        name,
        listen: `127.0.0.1:${listenPort}`,
        upstream,
        enabled: true,
      })) as { listen: string };
      if (latency) await setLatency(name, latency);
      return { name, listen: created.listen, port: Number(created.listen.split(':').at(-1)), upstream };
    },
    setLatency,
    stop: () => tool.stop(),
  };
}
