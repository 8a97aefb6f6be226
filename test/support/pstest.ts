/**
 * Google's own Pub/Sub fake for tests: the `pstest` package of the Go client library, served by our
 * wrapper (test/go/pstest, built by scripts/test-tools.sh) on a loopback port it picks itself and
 * names in its ready line. The Node client reaches it through `PUBSUB_EMULATOR_HOST`.
 */
import { findTool, spawnTool, waitUntilReady } from './tools';

export interface PstestServer {
  /** host:port, the value of PUBSUB_EMULATOR_HOST */
  readonly host: string;
  readonly port: number;
  /**
   * For a child process (or this one): `PUBSUB_EMULATOR_HOST`, and no probe for the GCE metadata
   * server (Google's auth library would otherwise look for one and warn that it is not there).
   */
  readonly env: Record<string, string>;
  /** The server process (the benchmarks read its CPU time). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

const READY_LINE = /^pstest listening on (127\.0\.0\.1:(\d+))$/m;

export async function startPstest(): Promise<PstestServer> {
  const tool = spawnTool(findTool('pstest'), ['-host', '127.0.0.1', '-port', '0']);
  await waitUntilReady('pstest', tool, async () => READY_LINE.test(tool.output()));
  const [, host, port] = READY_LINE.exec(tool.output())!;
  return {
    host: host!,
    port: Number(port),
    env: { PUBSUB_EMULATOR_HOST: host!, METADATA_SERVER_DETECTION: 'none' },
    pid: tool.child.pid,
    stop: () => tool.stop(),
  };
}
