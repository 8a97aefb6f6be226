/**
 * The local SQS and Pub/Sub test servers behind a toxiproxy route, for the latency benchmarks: the
 * server's own settings go into this process's environment (direct clients reach it at once), and
 * `use` gets an environment whose endpoint goes through the proxy (for children and proxied clients).
 */
import { startFauxqs } from '../../test/support/fauxqs';
import { startPstest } from '../../test/support/pstest';
import type { ToxiproxyServer } from '../../test/support/toxiproxy';

/** fauxqs behind the proxy route named `sqs`; stopped once `use` settles (it also gets the server's pid). */
export async function withProxiedSqs<T>(
  proxy: ToxiproxyServer,
  use: (throughProxy: NodeJS.ProcessEnv, serverPid: number | undefined) => Promise<T>,
): Promise<T> {
  const server = await startFauxqs();
  try {
    const route = await proxy.addProxy('sqs', `127.0.0.1:${server.port}`);
    Object.assign(process.env, server.env);
    return await use({ ...process.env, AWS_ENDPOINT_URL_SQS: `http://${route.listen}` }, server.pid);
  } finally {
    await server.stop();
  }
}

/** pstest behind the proxy route named `pubsub`; stopped once `use` settles (it also gets the server's pid). */
export async function withProxiedPubsub<T>(
  proxy: ToxiproxyServer,
  use: (throughProxy: NodeJS.ProcessEnv, serverPid: number | undefined) => Promise<T>,
): Promise<T> {
  const server = await startPstest();
  try {
    const route = await proxy.addProxy('pubsub', server.host);
    Object.assign(process.env, server.env);
    return await use({ ...process.env, PUBSUB_EMULATOR_HOST: route.listen }, server.pid);
  } finally {
    await server.stop();
  }
}
