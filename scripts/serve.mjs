#!/usr/bin/env node
// Serves the mlpress page on one local origin, with nothing but Node.js's standard library:
//
//   /             web/            (index.html, app.js, worker.js, style.css)
//   /wasm/        build-wasm/     (only mlpress-simd|baseline .js/.wasm)
//   /sample/      sample/         (only the .zip files)
//
//   node scripts/serve.mjs [--port 8080] [--host 127.0.0.1]
//
// PORT and MLPRESS_WASM_BUILD_DIR (default build-wasm/) are read from the environment too;
// `--port 0` picks a free port. The first line printed is `mlpress: serving http://HOST:PORT/`
// (the tests read it). Every response carries the page's Content-Security-Policy as a header
// as well: a <meta> policy covers the page only, the header also covers the worker.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const options = {
    port: process.env.PORT !== undefined && process.env.PORT !== '' ? Number(process.env.PORT) : 8080,
    host: '127.0.0.1',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--port' || arg === '-p') options.port = Number(value());
    else if (arg.startsWith('--port=')) options.port = Number(arg.slice(7));
    else if (arg === '--host') options.host = value();
    else if (arg.startsWith('--host=')) options.host = arg.slice(7);
    else if (arg === '--help' || arg === '-h') usage();
    else usage(`unknown argument '${arg}'`);
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    usage('the port must be an integer from 0 to 65535');
  }
  return options;
}

function usage(problem) {
  const text = 'usage: node scripts/serve.mjs [--port N] [--host ADDR]\n';
  if (problem) {
    process.stderr.write(`serve: ${problem}\n${text}`);
    process.exit(2);
  }
  process.stdout.write(text);
  process.exit(0);
}

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.zip': 'application/zip',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
};

// Keep in step with the <meta> tag of web/index.html (plus what only a header can say).
const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function mounts() {
  const wasmDir = path.resolve(ROOT, process.env.MLPRESS_WASM_BUILD_DIR || 'build-wasm');
  return [
    { prefix: '/wasm/', dir: wasmDir, allow: /^mlpress-(simd|baseline)\.(js|wasm)$/ },
    { prefix: '/sample/', dir: path.join(ROOT, 'sample'), allow: /^[\w.-]+\.zip$/ },
    { prefix: '/', dir: path.join(ROOT, 'web'), allow: /^[\w.-]+\.(html|js|css|svg|png|ico)$/ },
  ];
}

// Maps a URL path to a file, or null. Only flat names matching the mount's pattern: no
// subfolders, no dot files, no '..'.
function resolve(urlPath, table) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded === '/') decoded = '/index.html';
  for (const { prefix, dir, allow } of table) {
    if (!decoded.startsWith(prefix)) continue;
    const name = decoded.slice(prefix.length);
    if (!allow.test(name) || name.startsWith('.')) return null;
    return path.join(dir, name);
  }
  return null;
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
}

export function createServer() {
  const table = mounts();
  return http.createServer((req, res) => {
    const common = {
      'Content-Security-Policy': CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'method not allowed\n', { ...common, Allow: 'GET, HEAD' });
      return;
    }
    const urlPath = new URL(req.url, 'http://localhost').pathname;
    const file = resolve(urlPath, table);
    if (!file) {
      send(res, 404, 'not found\n', common);
      return;
    }
    fs.stat(file, (err, stat) => {
      if (err || !stat.isFile()) {
        send(res, 404, 'not found\n', common);
        return;
      }
      res.writeHead(200, {
        ...common,
        'Content-Type': MIME[path.extname(file).toLowerCase()] || 'application/octet-stream',
        'Content-Length': stat.size,
      });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      const stream = fs.createReadStream(file);
      stream.on('error', () => res.destroy());
      stream.pipe(res);
    });
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { port, host } = parseArgs(process.argv.slice(2));
  const server = createServer();
  server.on('error', (err) => {
    process.stderr.write(`serve: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(port, host, () => {
    const address = server.address();
    const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    process.stdout.write(`mlpress: serving http://${shownHost}:${address.port}/\n`);
    const wasmDir = path.resolve(ROOT, process.env.MLPRESS_WASM_BUILD_DIR || 'build-wasm');
    if (!fs.existsSync(path.join(wasmDir, 'mlpress-simd.js'))) {
      process.stderr.write(`serve: warning: ${wasmDir}/mlpress-simd.js is missing (scripts/build_wasm.sh)\n`);
    }
  });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
}
