// Browser test of SPILLFS's memory fallback (web/spillfs.js): in a Chromium whose workers have
// no origin private file system -- every worker.js the page starts is served with a first line
// that deletes FileSystemSyncAccessHandle and navigator.storage.getDirectory from the worker's
// scope -- the page still compresses, every file stays in memory, and the download equals
// `mlpress compress`'s zip byte for byte. The model (tests/e2e/make_many_weights.py, ~12 MB of
// weights) makes files past SPILLFS's 1 MiB threshold, so the fallback is really taken.
//
//   node --test tests/e2e/no-opfs.test.mjs
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkPrerequisites, makeManyWeights, makeTmp, nativeCompress, openBrowser } from './harness.mjs';

// Runs before worker.js's own code (its imports only define functions): the worker as a
// browser without OPFS sync access handles would start it.
const WITHOUT_OPFS =
  'delete self.FileSystemSyncAccessHandle; if (self.StorageManager) delete self.StorageManager.prototype.getDirectory;\n';

describe('without OPFS in the worker, the compress falls back to memory', () => {
  let tmp;
  let browser;
  let fixture;
  const patched = [];

  before(async () => {
    checkPrerequisites();
    tmp = makeTmp('mlpress-e2e-no-opfs-');
    fixture = makeManyWeights(path.join(tmp, 'fixture'));
    // No service worker: it would answer worker.js itself, past the route below.
    browser = await openBrowser(tmp, { serviceWorkers: 'block' });
    await browser.context.route(/\/worker\.js(\?.*)?$/, async (route) => {
      const response = await route.fetch();
      patched.push(route.request().url());
      await route.fulfill({ response, body: WITHOUT_OPFS + (await response.text()) });
    });
  });

  after(async () => {
    if (browser) await browser.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the page compresses the 40-layer model like the CLI, with its files in memory', async () => {
    const { page } = browser;
    await page.goto(`${browser.origin}/`);
    await page.locator('#status', { hasText: 'Ready' }).waitFor();
    assert.ok(patched.length >= 1, 'the worker was served without OPFS');
    await page.locator('#file-input').setInputFiles(fixture.zip);
    await page.locator('#status', { hasText: 'Opened many_weights.mlpackage.zip' }).waitFor();
    await page.getByLabel('Preset').selectOption({ label: 'int8 per-channel (iOS16+)' });
    const config = await page.locator('#config-text').inputValue();
    await page.getByRole('button', { name: 'Compress', exact: true }).click();
    await page.locator('#result').waitFor();
    assert.ok(await page.getByRole('alert').isHidden(), 'no error');

    // Every worker of the page (one, or a pool's several) ran without OPFS and spilled nothing;
    // the large files (the staged weight.bin, the zip) stayed in memory.
    const workers = page.workers();
    assert.ok(workers.length >= 1);
    let fallbacks = 0;
    let seenWorkers = 0;
    for (const worker of workers) {
      // A pool's helper may be ending as it is asked: it is then skipped.
      const seen = await worker
        .evaluate(() => ({
          syncHandles: typeof self.FileSystemSyncAccessHandle,
          getDirectory: typeof navigator.storage.getDirectory,
          memory: self.mlpressMemory ? self.mlpressMemory() : null,
        }))
        .catch(() => null);
      if (!seen) continue;
      assert.deepEqual([seen.syncHandles, seen.getDirectory], ['undefined', 'undefined'], worker.url());
      if (!seen.memory) continue;
      seenWorkers++;
      assert.equal(seen.memory.spilledFiles, 0, worker.url());
      fallbacks += seen.memory.memoryFallbacks;
    }
    assert.ok(seenWorkers >= 1, 'the page\'s worker answered');
    assert.ok(fallbacks >= 1, `files past 1 MiB stayed in memory (${fallbacks} fallbacks)`);

    const downloadPromise = page.waitForEvent('download');
    await page.getByRole('link', { name: /^Download / }).click();
    const download = await downloadPromise;
    const name = download.suggestedFilename();
    assert.equal(name, 'many_weights-int8.mlpackage.zip');
    const fromPage = path.join(tmp, 'page', name);
    await download.saveAs(fromPage);
    fs.mkdirSync(path.join(tmp, 'cli'), { recursive: true });
    const { bytes } = nativeCompress(fixture.zip, path.join(tmp, 'cli', name), config, tmp);
    assert.ok(bytes.length > 1 << 20, 'the zip is past the spill threshold');
    assert.ok(fs.readFileSync(fromPage).equals(bytes), "the page's zip equals the CLI's byte for byte");
  });

  test('every request went to the local origin, with no console errors', () => {
    const foreign = browser.requests.filter((u) => new URL(u).origin !== browser.origin);
    assert.deepEqual(foreign, []);
    assert.deepEqual(browser.consoleErrors, []);
  });
});
