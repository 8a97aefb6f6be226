/**
 * What keeps a local dashboard local. It listens on a loopback address only; every request must
 * name it in its Host header (a web page on another site that rebinds its DNS name to 127.0.0.1
 * sends its own name, and is refused); and the one request that changes anything, the requeue
 * POST, must come from the page itself: JSON, the same Origin, and the per-process token the page
 * was served with (another site can neither read the page nor send that header without CORS,
 * which this server never grants).
 */
import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { UserError } from '../lib/errors';

export const TOKEN_HEADER = 'x-dashboard-token';

/** The loopback addresses the dashboard may listen on; anything else is refused with the way to reach it remotely. */
export function checkLoopbackHost(host: string): string {
  const normal = host === 'localhost' ? '127.0.0.1' : host.replace(/^\[(.*)\]$/, '$1');
  const loopback = normal === '::1' || (isIP(normal) === 4 && normal.startsWith('127.'));
  if (!loopback) {
    throw new UserError(
      `--host ${host}: the dashboard listens on this machine only (127.0.0.1, ::1 or localhost), ` +
        'because it can requeue tasks and has no login.\n' +
        '  fix: to open it from another machine, forward the port over SSH: ssh -L 8790:127.0.0.1:8790 THIS_HOST',
    );
  }
  return normal;
}

/** The Host header values this server answers to: its address or `localhost`, with its port. */
export function allowedHostHeaders(address: string, port: number): Set<string> {
  const literal = address.includes(':') ? `[${address}]` : address;
  return new Set([`${literal}:${port}`, `localhost:${port}`]);
}

/** Why a state-changing request is refused, or `null` when it comes from the dashboard's own page. */
export function refuseUnsafeRequest(
  headers: { get(name: string): string | null | undefined },
  expectedOrigins: ReadonlySet<string>,
  token: string,
): string | null {
  const origin = headers.get('origin');
  if (origin && !expectedOrigins.has(origin)) return `requests from ${origin} are not accepted`;
  const site = headers.get('sec-fetch-site');
  if (site && site !== 'same-origin') return `cross-site requests (${site}) are not accepted`;
  if (!(headers.get('content-type') ?? '').startsWith('application/json')) return 'the body must be JSON';
  const given = Buffer.from(headers.get(TOKEN_HEADER) ?? '');
  const wanted = Buffer.from(token);
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    return 'the page token is missing or stale: reload the page';
  }
  return null;
}
