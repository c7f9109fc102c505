import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

/**
 * One origin for the viewer test: OHIF's prebuilt dist/ as static files, our own
 * /app-config.js (OHIF's DICOMweb data source pointed at this same origin), and /dicom-web/*
 * proxied to Orthanc's DICOMweb plugin. No CORS, nothing outside 127.0.0.1.
 *
 * Every request is recorded (path, status), so that the test can tell what OHIF asked
 * Orthanc for and that nothing was asked of another origin.
 */

export interface ViewerServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** method, path and status of each request, in order */
  log: { method: string; path: string; status: number }[];
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml',
};

/**
 * OHIF's app config: one DICOMweb data source at `${origin}/dicom-web`, settings as OHIF's
 * docs give them for Orthanc (its plugin answers includefield, takes no quotes in
 * multipart Accept headers, and serves rendered thumbnails).
 */
export function appConfig(origin: string): string {
  const root = `${origin}/dicom-web`;
  const config = {
    routerBasename: '/',
    showStudyList: true,
    extensions: [],
    modes: [],
    customizationService: {},
    maxNumberOfWebWorkers: 2,
    showWarningMessageForCrossOrigin: false,
    showCPUFallbackMessage: false,
    showLoadingIndicator: true,
    investigationalUseDialog: { option: 'never' },
    strictZSpacingForVolumeViewport: true,
    defaultDataSourceName: 'orthanc',
    dataSources: [
      {
        namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
        sourceName: 'orthanc',
        configuration: {
          friendlyName: 'Orthanc (jointscore viewer test)',
          name: 'orthanc',
          wadoUriRoot: root,
          qidoRoot: root,
          wadoRoot: root,
          qidoSupportsIncludeField: true,
          supportsReject: false,
          imageRendering: 'wadors',
          thumbnailRendering: 'wadors',
          enableStudyLazyLoad: true,
          supportsFuzzyMatching: false,
          supportsWildcard: true,
          omitQuotationForMultipartRequest: true,
          dicomUploadEnabled: false,
          bulkDataURI: { enabled: true },
        },
      },
    ],
  };
  // OHIF's first-visit tour ("Scrolling Through Images") would cover the viewport: mark it seen.
  const tours = `try { localStorage.setItem('shownTours', JSON.stringify(['basicViewerTour'])); } catch (e) {}\n`;
  return `window.config = ${JSON.stringify(config, null, 2)};\n${tours}`;
}

export async function startViewerServer(opts: { distDir: string; orthancUrl: string }): Promise<ViewerServer> {
  const { distDir, orthancUrl } = opts;
  if (!existsSync(join(distDir, 'index.html'))) throw new Error(`no OHIF dist at ${distDir} (run bash test/viewer/setup-ohif.sh)`);
  const orthanc = new URL(orthancUrl);
  const log: ViewerServer['log'] = [];
  let origin = '';

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    res.on('finish', () => log.push({ method: req.method ?? 'GET', path: req.url ?? '/', status: res.statusCode }));

    if (path.startsWith('/dicom-web/') || path === '/dicom-web') {
      // Orthanc builds BulkDataURIs from the Host header it sees: keep ours, so they stay same-origin.
      const up = httpRequest(
        {
          host: orthanc.hostname,
          port: orthanc.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: req.headers.host ?? orthanc.host },
        },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      up.on('error', (err) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`proxy to Orthanc: ${err.message}`);
      });
      req.pipe(up);
      return;
    }

    if (path === '/app-config.js') {
      res.writeHead(200, { 'content-type': TYPES['.js'], 'cache-control': 'no-store' });
      res.end(appConfig(origin));
      return;
    }

    // Static files; anything else (the app's routes: /viewer, /) gets index.html.
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      res.writeHead(400).end();
      return;
    }
    let file = normalize(join(distDir, decoded));
    if (!file.startsWith(normalize(distDir) + sep) && file !== normalize(distDir)) {
      res.writeHead(403).end();
      return;
    }
    let isFile = false;
    try {
      isFile = statSync(file).isFile();
    } catch {
      isFile = false;
    }
    if (!isFile) {
      // a missing asset (has an extension) is a 404, not the app
      if (extname(path) && path !== '/') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      file = join(distDir, 'index.html');
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  };

  const server: Server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('viewer server: no port');
  origin = `http://127.0.0.1:${addr.port}`;
  return {
    url: origin,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
