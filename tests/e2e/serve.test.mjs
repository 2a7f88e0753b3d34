// Tests of scripts/serve.mjs on its own: what it serves, with which types and headers, and
// what it refuses.
//
//   node --test tests/e2e/
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let server;
let origin;
let wasmDir;

before(async () => {
  // A stand-in build folder, so that these tests need no wasm build.
  wasmDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlpress-serve-test-'));
  fs.writeFileSync(path.join(wasmDir, 'mlpress-simd.js'), 'export default 1;\n');
  fs.writeFileSync(path.join(wasmDir, 'mlpress-simd.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  fs.writeFileSync(path.join(wasmDir, 'package.json'), '{}\n');
  server = spawn(process.execPath, [path.join(ROOT, 'scripts', 'serve.mjs'), '--port', '0'], {
    env: { ...process.env, MLPRESS_WASM_BUILD_DIR: wasmDir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  origin = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (chunk) => {
      out += chunk;
      const match = out.match(/serving (http:\/\/127\.0\.0\.1:\d+)\//);
      if (match) resolve(match[1]);
    });
    server.on('exit', (code) => reject(new Error(`serve.mjs exited with ${code}`)));
  });
});

after(() => {
  server.removeAllListeners('exit');
  server.kill();
  fs.rmSync(wasmDir, { recursive: true, force: true });
});

// A GET with the path sent exactly as given (fetch() would resolve '..' and '%2e%2e' first).
function get(urlPath) {
  return new Promise((resolve, reject) => {
    const request = http.get(`${origin}/`, { path: urlPath }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode,
          type: response.headers['content-type'],
          headers: new Headers(response.headers),
          body: Buffer.concat(chunks),
        }),
      );
    });
    request.on('error', reject);
  });
}

test('serves the page, the module and the sample with their types', async () => {
  const cases = [
    ['/', 'text/html; charset=utf-8', path.join(ROOT, 'web', 'index.html')],
    ['/index.html', 'text/html; charset=utf-8', path.join(ROOT, 'web', 'index.html')],
    ['/app.js', 'text/javascript; charset=utf-8', path.join(ROOT, 'web', 'app.js')],
    ['/worker.js', 'text/javascript; charset=utf-8', path.join(ROOT, 'web', 'worker.js')],
    ['/style.css', 'text/css; charset=utf-8', path.join(ROOT, 'web', 'style.css')],
    ['/wasm/mlpress-simd.js', 'text/javascript; charset=utf-8', path.join(wasmDir, 'mlpress-simd.js')],
    ['/wasm/mlpress-simd.wasm', 'application/wasm', path.join(wasmDir, 'mlpress-simd.wasm')],
    ['/sample/sample.mlpackage.zip', 'application/zip', path.join(ROOT, 'sample', 'sample.mlpackage.zip')],
  ];
  for (const [urlPath, type, file] of cases) {
    const response = await get(urlPath);
    assert.equal(response.status, 200, urlPath);
    assert.equal(response.type, type, urlPath);
    assert.ok(response.body.equals(fs.readFileSync(file)), urlPath);
  }
});

test('every response carries the CSP header, which matches the page\'s <meta> policy', async () => {
  const html = fs.readFileSync(path.join(ROOT, 'web', 'index.html'), 'utf8');
  const meta = html.match(/http-equiv="Content-Security-Policy" content="([^"]+)"/)[1];
  for (const urlPath of ['/', '/worker.js', '/wasm/mlpress-simd.wasm', '/nothing-here']) {
    const { headers } = await get(urlPath);
    const csp = headers.get('content-security-policy');
    assert.equal(csp, `${meta}; frame-ancestors 'none'`, urlPath);
    assert.equal(headers.get('x-content-type-options'), 'nosniff', urlPath);
  }
});

test('refuses anything else', async () => {
  for (const urlPath of [
    '/../README.md',
    '/%2e%2e/README.md',
    '/wasm/../README.md',
    '/sample/%2e%2e%2fREADME.md',
    '/%5c..%5cREADME.md',
    '/wasm/..%2fREADME.md',
    '/wasm/package.json',
    '/sample/README.md',
    '/.git/config',
    '/web/index.html',
    '/missing.js',
    '/wasm/',
  ]) {
    const { status } = await get(urlPath);
    assert.equal(status, 404, urlPath);
  }
  const response = await fetch(`${origin}/`, { method: 'POST', body: 'x' });
  assert.equal(response.status, 405);
});
