// Browser test of the service worker (web/sw.js): after one visit, the page loads and works
// with the network gone -- the browser set offline and the server stopped.
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

test('after the first visit the page works offline: it loads, opens the sample and compresses', async () => {
  const { page, origin } = browser;
  await page.goto(`${origin}/`);
  await page.locator('#status', { hasText: 'Ready' }).waitFor();
  // The service worker is active, has its copy, and controls the page.
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
    }
  });
  // The sample, opened once online, is kept too.
  await page.getByRole('button', { name: 'Try the sample model' }).click();
  await page.locator('#status', { hasText: 'Opened sample.mlpackage.zip' }).waitFor();
  const cached = await page.evaluate(async () => {
    const keys = await caches.keys();
    const cache = await caches.open(keys[0]);
    return (await cache.keys()).map((r) => new URL(r.url).pathname);
  });
  for (const file of ['/', '/app.js', '/worker.js', '/wasm/mlpress-simd.wasm', '/sample/sample.mlpackage.zip']) {
    assert.ok(cached.includes(file), `${file} is cached (${cached.join(', ')})`);
  }
  assert.ok(cached.every((p) => !p.startsWith('http')), 'only this origin');

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
  assert.deepEqual(browser.consoleErrors.filter((e) => !/ERR_INTERNET_DISCONNECTED|Failed to fetch/.test(e)), []);
});
