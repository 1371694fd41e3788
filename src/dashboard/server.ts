/**
 * The dashboard's HTTP server (docs/dashboard.md): one page (assets/dashboard, charts drawn by the
 * vega and vega-lite builds in node_modules, every asset served from here: no network at view
 * time) and a Server-Sent Events stream per run. A stream first replays the run's history, so a
 * page opened late draws everything, then follows the run live; a finished run's stream ends
 * with its summary. Read-only: nothing on the page can change the run.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listenHttp } from '../core/http.js';
import type { DashEvent } from './events.js';

/** A run the server streams: its events so far, and whether more will come. */
export interface DashRun {
  id: string;
  events(): readonly DashEvent[];
  /** Live runs: called with every new event until the run ends; returns an unsubscribe. */
  subscribe?(listener: (e: DashEvent | null) => void): () => void;
}

/** Where the server's runs come from: one live run, a finished run folder, a study folder. */
export interface DashSource {
  /** The runs, in display order; the first is the page's default. */
  runs(): DashRun[];
}

/** How long live events may wait to be sent together (ms). */
const FLUSH_MS = 250;

const ASSETS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'assets', 'dashboard');

function vendorFile(pkg: string, file: string): string {
  // The package's main entry sits in its build folder beside the browser bundle.
  return join(dirname(fileURLToPath(import.meta.resolve(pkg))), file);
}

const STATIC: Record<string, { file: () => string; type: string }> = {
  '/': { file: () => join(ASSETS, 'index.html'), type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: () => join(ASSETS, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: () => join(ASSETS, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  '/vendor/vega.min.js': {
    file: () => vendorFile('vega', 'vega.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
  '/vendor/vega-lite.min.js': {
    file: () => vendorFile('vega-lite', 'vega-lite.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
};

export interface ServeOptions {
  host: string;
  port: number;
}

export class DashboardServer {
  private server: Server | null = null;
  private readonly streams = new Set<ServerResponse>();
  private readonly cache = new Map<string, Buffer>();

  constructor(private readonly source: DashSource) {}

  /** Listen; resolves to the page's URL. A port in use or not allowed is a UsageError. */
  async listen(opts: ServeOptions): Promise<string> {
    const server = createServer((req, res) => this.handle(req, res));
    this.server = server;
    return listenHttp(server, opts.host, opts.port, 'dashboard');
  }

  /** End every stream (a live run's final events were already written) and stop listening. */
  async close(): Promise<void> {
    for (const res of this.streams) res.end();
    this.streams.clear();
    const server = this.server;
    this.server = null;
    if (server === null) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url.pathname === '/events') return this.stream(url.searchParams.get('run'), res);
    if (url.pathname === '/api/events') {
      const run = this.find(url.searchParams.get('run'));
      if (run === undefined) this.send(res, 404, 'text/plain; charset=utf-8', Buffer.from('no such run\n'));
      else this.send(res, 200, 'application/json', Buffer.from(JSON.stringify(run.events())));
      return;
    }
    if (url.pathname === '/api/runs') {
      const runs = this.source.runs().map((r) => ({ id: r.id, live: r.subscribe !== undefined }));
      this.send(res, 200, 'application/json', Buffer.from(JSON.stringify(runs)));
      return;
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const asset = STATIC[url.pathname];
    if (asset === undefined) {
      this.send(res, 404, 'text/plain; charset=utf-8', Buffer.from('not found\n'));
      return;
    }
    let body = this.cache.get(url.pathname);
    if (body === undefined) {
      body = readFileSync(asset.file());
      this.cache.set(url.pathname, body);
    }
    this.send(res, 200, asset.type, body);
  }

  private send(res: ServerResponse, status: number, type: string, body: Buffer): void {
    res.writeHead(status, {
      'content-type': type,
      'content-length': body.length,
      'cache-control': 'no-store',
    });
    res.end(body);
  }

  private find(id: string | null): DashRun | undefined {
    const runs = this.source.runs();
    return id === null ? runs[0] : runs.find((r) => r.id === id);
  }

  private stream(id: string | null, res: ServerResponse): void {
    const run = this.find(id);
    if (run === undefined) {
      this.send(res, 404, 'text/plain; charset=utf-8', Buffer.from(`no run '${id}'\n`));
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    const write = (e: DashEvent | null) =>
      res.write(e === null ? 'event: end\ndata: {}\n\n' : `data: ${JSON.stringify(e)}\n\n`);
    // History in one write, then the live tail; a finished run ends its stream.
    res.write(
      run
        .events()
        .map((e) => `data: ${JSON.stringify(e)}\n\n`)
        .join(''),
    );
    if (run.subscribe === undefined) {
      write(null);
      res.end();
      return;
    }
    this.streams.add(res);
    // Live events are coalesced and flushed every FLUSH_MS: a run of short steps then wakes the
    // page (and this process's socket writes) a few times a second, not once per step.
    let pending = '';
    let timer: NodeJS.Timeout | null = null;
    const flush = () => {
      timer = null;
      if (pending !== '') res.write(pending);
      pending = '';
    };
    const unsubscribe = run.subscribe((e) => {
      if (e !== null) {
        pending += `data: ${JSON.stringify(e)}\n\n`;
        timer ??= setTimeout(flush, FLUSH_MS);
        return;
      }
      if (timer !== null) clearTimeout(timer);
      flush();
      write(null);
      this.streams.delete(res);
      res.end();
    });
    res.on('close', () => {
      if (timer !== null) clearTimeout(timer);
      unsubscribe();
      this.streams.delete(res);
    });
  }
}
