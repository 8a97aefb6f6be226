/**
 * A real GCS JSON API server for tests: fake-gcs-server (built by scripts/test-tools.sh), in
 * memory (optionally preloaded from a folder), plain HTTP on a free loopback port.
 *
 * Point the Node client at it with `apiEndpoint: endpoint`, not `STORAGE_EMULATOR_HOST`: the
 * client (7.x) takes that variable as the JSON API base URL as it is, without `/storage/v1`, yet
 * derives the upload URLs from it too, so no single value serves both on this server. (Other
 * languages' clients take `STORAGE_EMULATOR_HOST=endpoint` fine.)
 */
import { freePort } from './fauxqs';
import { findTool, httpAnswers, spawnTool, waitUntilReady } from './tools';

export interface FakeGcsServer {
  /** e.g. http://127.0.0.1:45123 */
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface FakeGcsOptions {
  /**
   * A folder to preload (fake-gcs-server's `-data`): each sub-folder is a bucket, each file under it
   * an object named by its path (read once at start, into memory). Far faster than API puts.
   */
  readonly data?: string;
}

export async function startFakeGcs(options: FakeGcsOptions = {}): Promise<FakeGcsServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const tool = spawnTool(findTool('fake-gcs-server'), [
    '-scheme',
    'http',
    '-host',
    '127.0.0.1',
    '-port',
    String(port),
    '-backend',
    'memory',
    // Resumable uploads return this as their Location: it must be the address clients reach.
    '-external-url',
    endpoint,
    '-public-host',
    `127.0.0.1:${port}`,
    '-log-level',
    'error',
    ...(options.data ? ['-data', options.data] : []),
  ]);
  // It reads a preload folder before it listens: allow for a big one.
  const readyWithinMs = options.data ? 600_000 : 20_000;
  await waitUntilReady(
    'fake-gcs-server',
    tool,
    () => httpAnswers(`${endpoint}/storage/v1/b?project=test`),
    readyWithinMs,
  );
  return { endpoint, port, stop: () => tool.stop() };
}
