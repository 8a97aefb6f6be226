/**
 * A real SQS- and S3-compatible server for tests: the `fauxqs` npm package, run as a child process
 * (it is ESM-only) on a free loopback port. Speaks the AWS JSON protocol the current SDK uses.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FauxqsServer {
  /** e.g. http://127.0.0.1:45123 */
  readonly endpoint: string;
  readonly port: number;
  /** The server process, e.g. to SIGSTOP it in an outage test (SIGCONT it before `stop()`). */
  readonly pid: number;
  /** Environment for a child process (or this one) to use the server through the SDK's standard variables. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

const CLI = path.resolve(__dirname, '..', '..', 'node_modules', 'fauxqs', 'dist', 'cli.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`fauxqs exited with code ${child.exitCode} before listening`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`fauxqs did not listen on port ${port} within ${timeoutMs} ms`);
}

export async function startFauxqs(): Promise<FauxqsServer> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI], {
    env: { ...process.env, FAUXQS_PORT: String(port), FAUXQS_LOGGER: 'false', FAUXQS_DEFAULT_REGION: 'us-east-1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForPort(port, child, 15_000);
  const endpoint = `http://127.0.0.1:${port}`;
  const env = {
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_SQS: endpoint,
    AWS_ENDPOINT_URL_S3: endpoint,
  };
  return {
    endpoint,
    port,
    pid: child.pid!,
    env,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Mocha helper: starts one server for the enclosing `describe`, sets the SDK variables in this
 * process while it runs, and restores them afterwards.
 */
export function useFauxqs(): { readonly server: FauxqsServer } {
  const holder: { server?: FauxqsServer } = {};
  const saved: Record<string, string | undefined> = {};
  before(async function () {
    this.timeout(20_000);
    holder.server = await startFauxqs();
    for (const [key, value] of Object.entries(holder.server.env)) {
      saved[key] = process.env[key];
      process.env[key] = value;
    }
  });
  after(async () => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    await holder.server?.stop();
  });
  return {
    get server(): FauxqsServer {
      if (!holder.server) throw new Error('fauxqs is not started yet (use it inside it/before hooks)');
      return holder.server;
    },
  };
}
