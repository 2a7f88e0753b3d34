// Browser test of the service worker (web/sw.js): after one visit, the page loads and works
// with the network gone -- the browser set offline and the server stopped -- including both
// bundled samples, which the visit never opened (the service worker precaches them).
//
//   node --test tests/e2e/
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { checkPrerequisites, makeTmp, openBrowser } from './harness.mjs';

let tmp;
let browser;

before(async () => {
  checkPrerequisites();
  tmp = makeTmp('mlpress-e2e-offline-');
  browser = await openBrowser(tmp);
});

after(async () => {
  if (browser) await browser.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('after the first visit the page works offline: it loads, opens both samples and compresses', async () => {
  const { page, origin } = browser;
  await page.goto(`${origin}/`);
  await page.locator('#status', { hasText: 'Ready' }).waitFor();
  // The service worker is active (so its install, which fetches the copies, has finished) and
  // controls the page. No model is opened online: the samples must be precached.
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
    }
  });
  const cached = await page.evaluate(async () => {
    const keys = await caches.keys();
    const cache = await caches.open(keys[0]);
    return (await cache.keys()).map((r) => r.url);
  });
  const paths = cached.map((u) => new URL(u).pathname);
  for (const file of ['/', '/app.js', '/worker.js', '/wasm/mlpress-simd.wasm', '/sample/sample.mlpackage.zip', '/sample/transformer.mlpackage.zip']) {
    assert.ok(paths.includes(file), `${file} is cached (${paths.join(', ')})`);
  }
  assert.ok(cached.every((u) => new URL(u).origin === origin), 'only this origin');
  assert.ok(!browser.requests.some((u) => u.includes('/sample/') && !cached.includes(u)), 'no other sample request');

  // The network is gone: the browser offline, and the server stopped.
  await browser.context.setOffline(true);
  browser.server.removeAllListeners('exit');
  browser.server.kill();
  await new Promise((resolve) => browser.server.once('exit', resolve));

  await page.reload();
  await page.locator('#status', { hasText: 'Ready' }).waitFor();
  await page.getByRole('button', { name: 'Try the sample model' }).click();
  await page.locator('#status', { hasText: 'Opened sample.mlpackage.zip' }).waitFor();
  await page.getByLabel('Preset').selectOption({ label: 'int8 per-channel (iOS16+)' });
  await page.getByRole('button', { name: 'Compress', exact: true }).click();
  await page.locator('#result').waitFor();
  assert.match(await page.locator('#result-text').innerText(), /compressed/);
  await page.getByRole('button', { name: 'Try the transformer sample (iOS18)' }).click();
  await page.locator('#status', { hasText: 'Opened transformer.mlpackage.zip' }).waitFor();
  await page.getByLabel('Preset').selectOption({ label: 'prune 50% then palettize 4-bit (iOS18)' });
  await page.getByRole('button', { name: 'Compress', exact: true }).click();
  await page.locator('#result').waitFor();
  assert.match(await page.locator('#result-text').innerText(), /compressed/);
  assert.deepEqual(browser.consoleErrors.filter((e) => !/ERR_INTERNET_DISCONNECTED|Failed to fetch/.test(e)), []);
});
