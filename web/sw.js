// The page's service worker: keeps a copy of the page's own files and the bundled sample models
// so that the page works offline after the first visit. Nothing else is cached or fetched: only same-origin GET
// requests for the files listed here are answered, network first (so an online visit always
// gets the current files, and refreshes the copy), from the cache when the network fails.
// Every other request passes through untouched.

const CACHE = 'mlpress-v1';

// Relative to this file; a host that serves the page from a folder keeps working.
const ASSETS = [
  './',
  'index.html',
  'app.js',
  'client.js',
  'config.js',
  'folder.js',
  'worker.js',
  'spillfs.js',
  'pool.js',
  'histogram.js',
  'size-planner.js',
  'size-plan-worker.js',
  'style.css',
  'icon.svg',
  'mlpress.js',
  'mlpress-compressor.js',
  'mlpress-compressor.css',
  'embed-example.html',
  'wasm/mlpress-simd.js',
  'wasm/mlpress-simd.wasm',
  'wasm/mlpress-baseline.js',
  'wasm/mlpress-baseline.wasm',
  'sample/sample.mlpackage.zip',
  'sample/transformer.mlpackage.zip',
].map((path) => new URL(path, self.location.href).href);

const KNOWN = new Set(ASSETS);

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // One by one, so that a missing optional file (a host without the baseline build) does
      // not stop the others from being kept.
      await Promise.all(
        ASSETS.map(async (url) => {
          try {
            const response = await fetch(url, { cache: 'no-store' });
            if (response.ok) await cache.put(url, response);
          } catch {
            // offline during install: kept at the next online visit
          }
        }),
      );
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
      await self.clients.claim();
    })(),
  );
});

// The URL without its query (the page's ?wasm=baseline) or fragment.
function cacheKey(request) {
  const url = new URL(request.url);
  url.search = '';
  url.hash = '';
  return url.href;
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const key = cacheKey(request);
  if (!KNOWN.has(key)) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      try {
        const response = await fetch(request);
        // The copy is written beside the answer, not before it: the page gets the bytes as
        // they arrive, and a slow cache write cannot hold its request.
        if (response.ok) event.waitUntil(cache.put(key, response.clone()).catch(() => {}));
        return response;
      } catch (err) {
        const cached = await cache.match(key);
        if (cached) return cached;
        throw err;
      }
    })(),
  );
});
