import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { tiedToParent } from '../helpers/orthanc.js';

/**
 * Headless Chromium (the Debian package chromium-headless-shell, or chromium) driven over the
 * DevTools protocol on a pipe (--remote-debugging-pipe: JSON messages separated by NUL bytes,
 * fd 3 to the browser, fd 4 from it). No npm dependency, no port, no browser download.
 *
 *   const browser = await launchChromium();
 *   const page = await browser.newPage(1280, 800);
 *   await page.goto('http://127.0.0.1:1234/');
 *   await page.waitFor('document.querySelector("#root")', 30_000);
 *   const png = await page.screenshot();
 *   await browser.close();
 */

const CANDIDATES = ['chromium-headless-shell', 'chromium', 'chromium-browser', 'google-chrome'];

/** The browser binary: $JOINTSCORE_CHROMIUM, else the first of CANDIDATES on PATH; undefined if none. */
export function findChromium(): string | undefined {
  const fromEnv = process.env.JOINTSCORE_CHROMIUM;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  for (const name of CANDIDATES) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return undefined;
}

type Json = Record<string, any>;

export interface CdpEvent {
  method: string;
  params: Json;
  sessionId?: string;
}

export class CdpError extends Error {}

export interface ConsoleLine {
  type: string;
  text: string;
}

export interface RequestRecord {
  url: string;
  method: string;
  status?: number;
  failed?: string;
}

export class Page {
  readonly console: ConsoleLine[] = [];
  readonly requests = new Map<string, RequestRecord>();
  readonly exceptions: string[] = [];

  constructor(
    private readonly browser: Browser,
    readonly sessionId: string,
  ) {}

  send<T = Json>(method: string, params: Json = {}): Promise<T> {
    return this.browser.send<T>(method, params, this.sessionId);
  }

  /** Called by the browser for each event of this page's session. */
  onEvent(e: CdpEvent): void {
    const p = e.params;
    switch (e.method) {
      case 'Runtime.consoleAPICalled':
        this.console.push({
          type: p.type,
          text: (p.args as Json[]).map((a) => (a.value !== undefined ? String(a.value) : a.description ?? a.type)).join(' '),
        });
        break;
      case 'Runtime.exceptionThrown':
        this.exceptions.push(p.exceptionDetails?.exception?.description ?? p.exceptionDetails?.text ?? 'exception');
        break;
      case 'Network.requestWillBeSent':
        this.requests.set(p.requestId, { url: p.request.url, method: p.request.method });
        break;
      case 'Network.responseReceived': {
        const r = this.requests.get(p.requestId);
        if (r) r.status = p.response.status;
        break;
      }
      case 'Network.loadingFailed': {
        const r = this.requests.get(p.requestId);
        if (r) r.failed = p.errorText;
        break;
      }
      default:
    }
  }

  async goto(url: string): Promise<void> {
    const r = await this.send<{ errorText?: string }>('Page.navigate', { url });
    if (r.errorText) throw new CdpError(`navigate ${url}: ${r.errorText}`);
  }

  /** Evaluates an expression in the page (awaiting a promise), returns its value by JSON. */
  async evaluate<T = unknown>(expression: string): Promise<T> {
    const r = await this.send<Json>('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
    if (r.exceptionDetails) {
      throw new CdpError(`evaluate: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}\n  in: ${expression.slice(0, 300)}`);
    }
    return r.result?.value as T;
  }

  /** Polls `expression` until it is truthy; returns that value, or throws after timeoutMs. */
  async waitFor<T = unknown>(expression: string, timeoutMs: number, what = expression): Promise<T> {
    const until = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      try {
        last = await this.evaluate<T>(expression);
        if (last) return last as T;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > until) throw new CdpError(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)?.slice(0, 300)})`);
      await sleep(250);
    }
  }

  /** A PNG of the viewport (or a clip of it, in CSS pixels). */
  async screenshot(clip?: { x: number; y: number; width: number; height: number }): Promise<Buffer> {
    const r = await this.send<{ data: string }>('Page.captureScreenshot', {
      format: 'png',
      ...(clip ? { clip: { ...clip, scale: 1 } } : {}),
    });
    return Buffer.from(r.data, 'base64');
  }

  /** A mouse click at (x, y) in CSS pixels of the viewport. */
  async click(x: number, y: number, clickCount = 1): Promise<void> {
    await this.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x, y });
    await this.send('Input.dispatchMouseEvent', { type: 'mousePressed', x, y, button: 'left', clickCount });
    await this.send('Input.dispatchMouseEvent', { type: 'mouseReleased', x, y, button: 'left', clickCount });
  }
}

export class Browser {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void; method: string }>();
  private readonly pages = new Map<string, Page>();
  private buffer = '';
  private closed = false;
  private stderr = '';

  constructor(
    private readonly proc: ChildProcess,
    private readonly userDir: string,
  ) {
    const out = proc.stdio[4] as Readable;
    out.setEncoding('utf8');
    out.on('data', (chunk: string) => {
      this.buffer += chunk;
      let i: number;
      while ((i = this.buffer.indexOf('\0')) >= 0) {
        const text = this.buffer.slice(0, i);
        this.buffer = this.buffer.slice(i + 1);
        this.dispatch(JSON.parse(text));
      }
    });
    proc.stderr?.on('data', (d) => {
      this.stderr = (this.stderr + d).slice(-16_000);
    });
    proc.once('exit', (code, signal) => {
      this.closed = true;
      for (const p of this.pending.values()) p.reject(new CdpError(`Chromium exited (${code ?? signal}) during ${p.method}\n${this.stderr.slice(-3000)}`));
      this.pending.clear();
    });
  }

  /** The last lines Chromium wrote to stderr. */
  stderrTail(): string {
    return this.stderr.slice(-4000);
  }

  private dispatch(msg: Json): void {
    if (typeof msg.id === 'number') {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new CdpError(`${p.method}: ${msg.error.message} ${msg.error.data ?? ''}`));
      else p.resolve(msg.result ?? {});
      return;
    }
    if (msg.sessionId) this.pages.get(msg.sessionId)?.onEvent(msg as CdpEvent);
  }

  send<T = Json>(method: string, params: Json = {}, sessionId?: string): Promise<T> {
    if (this.closed) return Promise.reject(new CdpError(`Chromium is closed (${method})`));
    const id = this.nextId++;
    const message = JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) });
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      (this.proc.stdio[3] as Writable).write(`${message}\0`);
    });
  }

  /** A new tab of width x height CSS pixels, with console, exceptions and network recorded. */
  async newPage(width: number, height: number): Promise<Page> {
    const { targetId } = await this.send<{ targetId: string }>('Target.createTarget', { url: 'about:blank', width, height });
    const { sessionId } = await this.send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true });
    const page = new Page(this, sessionId);
    this.pages.set(sessionId, page);
    await page.send('Page.enable');
    await page.send('Runtime.enable');
    await page.send('Network.enable');
    await page.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
    return page;
  }

  async close(): Promise<void> {
    if (!this.closed) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.send('Browser.close').catch(() => {});
      await Promise.race([exited, sleep(3000)]);
      if (!this.closed) this.proc.kill('SIGKILL');
      await Promise.race([exited, sleep(3000)]);
    }
    rmSync(this.userDir, { recursive: true, force: true });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts headless Chromium. --no-sandbox: the tests run as root in a network namespace (CI),
 * where Chromium's sandbox cannot start. WebGL comes from SwiftShader (no GPU on CI).
 */
export async function launchChromium(binary = findChromium()): Promise<Browser> {
  if (!binary) throw new Error(`no Chromium found (tried $JOINTSCORE_CHROMIUM, ${CANDIDATES.join(', ')}): apt-get install -y chromium-headless-shell`);
  const userDir = mkdtempSync(join(tmpdir(), 'jointscore-chromium-'));
  const args = [
    '--headless',
    '--no-sandbox',
    '--remote-debugging-pipe',
    `--user-data-dir=${userDir}`,
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-extensions',
    '--disable-dev-shm-usage',
    '--use-angle=swiftshader',
    '--enable-unsafe-swiftshader',
    '--ignore-gpu-blocklist',
    '--hide-scrollbars',
    '--mute-audio',
    'about:blank',
  ];
  const [cmd, argv] = tiedToParent(binary, args);
  const proc = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  const browser = new Browser(proc, userDir);
  try {
    await Promise.race([
      browser.send('Browser.getVersion'),
      sleep(30_000).then(() => {
        throw new CdpError('Chromium did not answer on its DevTools pipe within 30 s');
      }),
    ]);
  } catch (err) {
    proc.kill('SIGKILL');
    rmSync(userDir, { recursive: true, force: true });
    throw new CdpError(`${(err as Error).message}\n${browser.stderrTail()}`);
  }
  return browser;
}
