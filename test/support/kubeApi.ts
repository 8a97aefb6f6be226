/**
 * A minimal Kubernetes API client for the tests: HTTPS with the admin client certificate from a
 * kubeconfig written by test/support/kubePki.ts, JSON in and out. Enough to wait for the node, list
 * pods and read logs without a client library.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';

export interface KubeApi {
  /** The parsed JSON body; rejects on a status ≥ 400 with the method, path and the API's message. */
  request<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** Like `request` but resolves with undefined on 404. */
  get<T = unknown>(path: string): Promise<T | undefined>;
  /** The raw text of a GET (e.g. pod logs). */
  text(path: string): Promise<string>;
}

interface KubeconfigFile {
  readonly clusters: readonly { readonly cluster: { readonly server: string; 'certificate-authority-data': string } }[];
  readonly users: readonly { readonly user: { 'client-certificate-data': string; 'client-key-data': string } }[];
}

export function kubeApi(kubeconfigFile: string): KubeApi {
  const config = JSON.parse(readFileSync(kubeconfigFile, 'utf8')) as KubeconfigFile;
  const cluster = config.clusters[0]?.cluster;
  const user = config.users[0]?.user;
  if (!cluster || !user) throw new Error(`${kubeconfigFile}: no cluster or user`);
  const decode = (data: string) => Buffer.from(data, 'base64');
  const agent = new https.Agent({
    ca: decode(cluster['certificate-authority-data']),
    cert: decode(user['client-certificate-data']),
    key: decode(user['client-key-data']),
    keepAlive: true,
  });
  const server = new URL(cluster.server);

  function send(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const request = https.request(
        {
          agent,
          method,
          host: server.hostname,
          port: server.port,
          path,
          headers: { accept: 'application/json', ...(payload ? { 'content-type': 'application/json' } : {}) },
          timeout: 30_000,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
          response.on('error', reject);
        },
      );
      request.on('timeout', () => request.destroy(new Error(`${method} ${path}: no answer within 30 s`)));
      request.on('error', reject);
      request.end(payload);
    });
  }

  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const { status, text } = await send(method, path, body);
    if (status >= 400) throw new Error(`${method} ${path}: HTTP ${status}: ${text.slice(0, 500)}`);
    return JSON.parse(text) as T;
  }

  return {
    request,
    async get<T>(path: string) {
      const { status, text } = await send('GET', path);
      if (status === 404) return undefined;
      if (status >= 400) throw new Error(`GET ${path}: HTTP ${status}: ${text.slice(0, 500)}`);
      return JSON.parse(text) as T;
    },
    async text(path: string) {
      const { status, text } = await send('GET', path);
      if (status >= 400) throw new Error(`GET ${path}: HTTP ${status}: ${text.slice(0, 500)}`);
      return text;
    },
  };
}
