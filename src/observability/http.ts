import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpConfig } from '../config/types.js';
import { PROMETHEUS_CONTENT_TYPE, type Registry } from './metrics.js';

/**
 * What a health or readiness check found. `reasons` says, in the operator's terms, what is
 * wrong or not ready yet (empty when ok); `details` are extra facts shown either way.
 */
export interface HealthReport {
  ok: boolean;
  reasons: string[];
  details?: Record<string, unknown>;
}

export interface HttpDeps {
  registry: Registry;
  /** alive and its loops running (liveness) */
  health: () => HealthReport;
  /** ready to accept work: SCP listening, database open, models loaded (readiness) */
  ready: () => HealthReport;
}

export interface RunningHttpServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

type Route = (res: ServerResponse) => void;

/** /healthz, /readyz and /metrics for the host's monitoring; nothing else is served. */
export function startHttpServer(cfg: HttpConfig, deps: HttpDeps): Promise<RunningHttpServer> {
  const routes: Record<string, Route> = {
    '/healthz': (res) => sendReport(res, runCheck(deps.health, 'health'), 'unhealthy'),
    '/readyz': (res) => sendReport(res, runCheck(deps.ready, 'readiness'), 'not ready'),
    '/metrics': (res) => sendMetrics(res, deps.registry),
  };
  const server = createServer((req, res) => handle(routes, req, res));
  return listen(server, cfg);
}

function handle(routes: Record<string, Route>, req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const route = routes[path];
  if (!route) return sendJson(res, 404, { status: 'not found', paths: Object.keys(routes) });
  if (req.method !== 'GET') {
    res.setHeader('Allow', 'GET');
    return sendJson(res, 405, { status: 'method not allowed', allowed: ['GET'] });
  }
  route(res);
}

/** A check that throws is itself a finding, reported like any other reason. */
function runCheck(check: () => HealthReport, what: string): HealthReport {
  try {
    return check();
  } catch (err) {
    return { ok: false, reasons: [`${what} check failed: ${err instanceof Error ? err.message : String(err)}`] };
  }
}

function sendReport(res: ServerResponse, r: HealthReport, failStatus: string): void {
  const body = r.ok
    ? { status: 'ok', ...r.details }
    : { status: failStatus, reasons: r.reasons, ...r.details };
  sendJson(res, r.ok ? 200 : 503, body);
}

function sendMetrics(res: ServerResponse, registry: Registry): void {
  let text: string;
  try {
    text = registry.render();
  } catch (err) {
    return sendJson(res, 500, { status: 'error', reason: err instanceof Error ? err.message : String(err) });
  }
  res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Cache-Control': 'no-store' });
  res.end(text);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`${JSON.stringify(body)}\n`);
}

function listen(server: Server, cfg: HttpConfig): Promise<RunningHttpServer> {
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(listenError(err as NodeJS.ErrnoException, cfg)));
    server.listen({ host: cfg.host, port: cfg.port }, () => {
      const port = (server.address() as AddressInfo).port;
      const host = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host;
      resolve({ url: `http://${host}:${port}`, port, close: () => closeServer(server) });
    });
  });
}

function listenError(err: NodeJS.ErrnoException, cfg: HttpConfig): Error {
  const where = `${cfg.host}:${cfg.port}`;
  if (err.code === 'EADDRINUSE') {
    return new Error(
      `http.port: cannot serve /metrics and /healthz on ${where}: the port is already in use by another ` +
        'process; set http.port to a free port (0 picks one) or stop the other process',
    );
  }
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') {
    return new Error(`http.host: cannot serve on ${where}: ${cfg.host} is not an address of this host`);
  }
  if (err.code === 'EACCES') {
    return new Error(`http.port: cannot serve on ${where}: permission denied; use a port above 1023`);
  }
  return new Error(`http: cannot serve on ${where}: ${err.message}`);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    // Monitoring clients keep connections alive; without this close() would wait for them.
    server.closeAllConnections();
  });
}
