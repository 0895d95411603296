import type { IncomingMessage } from 'node:http';

/** Our own HTTP servers (the Prometheus endpoint): their requests are ours, not the app's. */
const own = new WeakSet<object>();

export function markOwnServer(server: object): void {
  own.add(server);
}

/**
 * The http instrumentation's ignoreIncomingRequestHook, with ours first: a scrape of our endpoint
 * is no request of the app's, so it gets no server span and no http.server.request.duration.
 */
export function ignoringOwnRequests(user: unknown): (req: IncomingMessage) => boolean {
  const theirs = typeof user === 'function' ? (user as (req: IncomingMessage) => boolean) : undefined;
  return (req) => {
    const server = (req.socket as { server?: object } | undefined)?.server;
    if (server !== undefined && own.has(server)) return true;
    return theirs?.(req) ?? false;
  };
}
