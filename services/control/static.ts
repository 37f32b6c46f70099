// The built renderer (dist/renderer) served at `/`, so the same UI runs in a browser against
// `sekisho serve` (SPEC 11). Unknown paths without a file extension get index.html: the UI
// routes on the client side.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
};

// The renderer needs nothing from elsewhere; inline styles are allowed because Svelte
// transitions set style attributes.
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

const PLACEHOLDER = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Sekisho</title>
<body><h1>Sekisho</h1><p>The control API is running at <code>/api/</code>, but the user interface
is not built. Run <code>npm run build:renderer</code> and reload.</p></body></html>`;

async function fileAt(path: string): Promise<number | null> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : null;
  } catch {
    return null;
  }
}

export async function serveStatic(req: IncomingMessage, res: ServerResponse, staticDir: string | null | undefined): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
    return;
  }
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  } catch {
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('bad path\n');
    return;
  }
  if (!staticDir) return send(res, req, 200, '.html', Buffer.from(PLACEHOLDER));
  const root = resolve(staticDir);
  const wanted = resolve(join(root, pathname));
  // No escape from the folder (`/../`, encoded or not, resolves outside root).
  if (wanted !== root && !wanted.startsWith(root + sep)) {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
    return;
  }
  let path = wanted;
  let size = path === root ? null : await fileAt(path);
  if (size === null && pathname.lastIndexOf('/assets/') > 0) {
    // The UI is built with relative asset URLs (base './', for Electron's file://): a page
    // opened at a deep path asks for /deep/path/assets/x.js. Serve /assets/x.js.
    const assets = resolve(join(root, pathname.slice(pathname.lastIndexOf('/assets/'))));
    if (assets.startsWith(root + sep)) {
      const s = await fileAt(assets);
      if (s !== null) {
        path = assets;
        size = s;
      }
    }
  }
  if (size === null) {
    if (extname(pathname) && pathname !== '/index.html') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    path = join(root, 'index.html');
    size = await fileAt(path);
    if (size === null) return send(res, req, 200, '.html', Buffer.from(PLACEHOLDER));
  }
  const ext = extname(path).toLowerCase();
  res.writeHead(200, headers(ext, size));
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(path)
    .on('error', () => res.destroy())
    .pipe(res);
}

function headers(ext: string, size: number): Record<string, string | number> {
  const h: Record<string, string | number> = {
    'Content-Type': TYPES[ext] ?? 'application/octet-stream',
    'Content-Length': size,
    // Vite names assets by content hash; index.html must always be fetched fresh.
    'Cache-Control': ext === '.html' ? 'no-cache' : 'public, max-age=300',
  };
  if (ext === '.html') h['Content-Security-Policy'] = CSP;
  return h;
}

function send(res: ServerResponse, req: IncomingMessage, status: number, ext: string, body: Buffer): void {
  res.writeHead(status, headers(ext, body.length));
  res.end(req.method === 'HEAD' ? undefined : body);
}
