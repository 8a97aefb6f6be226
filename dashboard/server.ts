/**
 * The dashboard's web server (Hono on Node's http server): the page, its script and styles, the
 * JSON summary, and the requeue POST, behind the guards of guards.ts. Listens on loopback only.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { z } from 'zod';
import { isUserFacingError, UserError } from '../lib/errors';
import type { RequeueResponse, Summary } from './api';
import { pageAssets } from './assets';
import { allowedHostHeaders, checkLoopbackHost, refuseUnsafeRequest } from './guards';

/** The port `npm run dashboard` tries first. */
export const DEFAULT_PORT = 8790;

/** What the server needs from the data side (QueueDashboard, or anything shaped like it). */
export interface SummarySource {
  readonly queue: { readonly url: string };
  summary(): Promise<Summary>;
  requeue(groupKey: string): Promise<RequeueResponse>;
}

export interface DashboardServerOptions {
  /** A loopback address (127.0.0.1 by default); others are refused. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
}

export interface DashboardServer {
  /** `http://127.0.0.1:PORT/` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const requeueBody = z.object({ group: z.string().min(1) });

function buildApp(source: SummarySource, token: string, allowedHosts: () => Set<string>): Hono {
  const app = new Hono();
  // Checked before anything else: a rebound DNS name or a proxy's name gets nothing.
  app.use('*', async (c, next) => {
    const host = c.req.header('host') ?? '';
    if (!allowedHosts().has(host.toLowerCase())) {
      return c.text(`Host "${host}" is not this dashboard's address; open it as http://127.0.0.1:PORT/\n`, 403);
    }
    await next();
  });
  app.use(
    '*',
    secureHeaders({
      strictTransportSecurity: false, // plain http on loopback: HSTS would only confuse the browser
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        formAction: ["'none'"],
      },
    }),
  );
  app.use('*', async (c, next) => {
    await next();
    c.header('Cache-Control', 'no-store');
  });

  const assets = pageAssets(token, `gke-batch · ${source.queue.url}`);
  app.get('/', async (c) => c.html((await assets).html));
  app.get('/app.js', async (c) => c.body((await assets).script, 200, { 'Content-Type': 'text/javascript' }));
  app.get('/app.css', async (c) => c.body((await assets).styles, 200, { 'Content-Type': 'text/css' }));
  app.get('/api/summary', async (c) => c.json(await source.summary()));
  app.post('/api/requeue', async (c) => {
    const origins = new Set([...allowedHosts()].map((host) => `http://${host}`));
    const refused = refuseUnsafeRequest(c.req.raw.headers, origins, token);
    if (refused) return c.json({ error: `refused: ${refused}` }, 403);
    const parsed = requeueBody.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json({ error: 'the body must be {"group": "<failure group key>"}' }, 400);
    try {
      return c.json(await source.requeue(parsed.data.group));
    } catch (error) {
      const status = error instanceof UserError ? 409 : 500;
      const message = isUserFacingError(error) ? error.message : `requeue failed: ${(error as Error).message}`;
      return c.json({ error: message }, status);
    }
  });
  app.onError((error, c) => c.json({ error: (error as Error).message.split('\n', 1)[0] }, 500));
  return app;
}

export async function startDashboardServer(
  source: SummarySource,
  options: DashboardServerOptions,
): Promise<DashboardServer> {
  const address = checkLoopbackHost(options.host ?? '127.0.0.1');
  const token = randomBytes(24).toString('base64url');
  let hosts = new Set<string>();
  const app = buildApp(source, token, () => hosts);
  const server = serve({ fetch: app.fetch, hostname: address, port: options.port });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        reject(
          new UserError(
            `port ${options.port} on ${address} is in use (another dashboard?)\n` +
              '  fix: choose another with --port N, or --port 0 for any free port',
          ),
        );
      } else reject(error);
    });
  });
  const port = (server.address() as AddressInfo).port;
  hosts = allowedHostHeaders(address, port);
  const literal = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${literal}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections of an open page would hold close() back.
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}
