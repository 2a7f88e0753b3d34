// Browser tests of compressing with several workers (web/pool.js) on a model with many weights
// (tests/e2e/make_many_weights.py, built here with coremltools): every worker compresses a share
// (the page reports how many weights each did), progress sums them and names the weights being
// compressed, the download equals `mlpress compress`'s zip byte for byte, and Cancel ends every
// worker and leaves nothing behind, in the page or in OPFS.
//
//   node --test tests/e2e/parallel.test.mjs
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { nativeCompress, SAMPLE, withManyWeightsBrowser } from './harness.mjs';

const PAL6 = 'palettize 6-bit k-means';
const INT8 = 'int8 per-channel (iOS16+)';

describe('several workers on the page', () => {
  let tmp;
  let browser;
  let page;
  let fixture;

  withManyWeightsBrowser('mlpress-e2e-parallel-', (opened) => ({ tmp, fixture, browser, page } = opened));

  async function openFixture(workers) {
    await page.goto(`${browser.origin}/?workers=${workers}`);
    await page.locator('#status', { hasText: 'Ready' }).waitFor();
    await page.locator('#file-input').setInputFiles(fixture.zip);
    await page.locator('#status', { hasText: 'Opened many_weights.mlpackage.zip' }).waitFor();
  }

  async function recordProgress() {
    await page.evaluate(() => {
      window.progressLog = [];
      const bar = document.getElementById('progress-bar');
      new MutationObserver(() => {
        if (bar.dataset.done === undefined) return;
        const text = document.getElementById('progress-text').textContent.replace(/ [\d.]+ s$/, '');
        const entry = { done: Number(bar.dataset.done), total: Number(bar.dataset.total), text };
        const last = window.progressLog[window.progressLog.length - 1];
        if (!last || last.text !== entry.text) window.progressLog.push(entry);
      }).observe(bar, { attributes: true });
    });
  }

  // Sizes of every file in the origin's private file system.
  function opfsFiles() {
    return page.evaluate(async () => {
      const out = [];
      async function walk(dir, prefix) {
        for await (const [name, handle] of dir.entries()) {
          if (handle.kind === 'directory') await walk(handle, `${prefix}${name}/`);
          else out.push({ path: `${prefix}${name}`, size: (await handle.getFile()).size });
        }
      }
      await walk(await navigator.storage.getDirectory(), '');
      return out;
    });
  }

  for (const [preset, tag, workers] of [
    [INT8, 'int8', 2],
    [PAL6, 'pal6', 3],
  ]) {
    test(`${tag} on ${workers} workers: each did a share, progress names them, the CLI's bytes`, async () => {
      await openFixture(workers);
      await page.getByLabel('Preset').selectOption({ label: preset });
      await recordProgress();
      const downloadPromise = page.waitForEvent('download');
      await page.getByRole('button', { name: 'Compress', exact: true }).click();
      await page.locator('#result').waitFor();

      const shares = (await page.locator('#result').getAttribute('data-workers')).split(',').map(Number);
      assert.equal(shares.length, workers, `one share per worker: ${shares}`);
      assert.ok(shares.every((n) => n > 0), `every worker compressed weights: ${shares}`);
      assert.equal(shares.reduce((a, b) => a + b, 0), 40);
      assert.match(await page.locator('#result-text').innerText(), new RegExp(`Compressed by ${workers} workers`));

      const log = await page.evaluate(() => window.progressLog);
      for (const [i, entry] of log.entries()) {
        assert.equal(entry.total, 40);
        if (i > 0) assert.ok(entry.done >= log[i - 1].done, 'done never goes back');
      }
      const named = new Set(log.flatMap((e) => e.text.match(/layer\d{3}_weight_0_to_fp16/g) || []));
      assert.ok(named.size > 1, `progress names the weights being compressed: ${JSON.stringify(log.slice(0, 10))}`);
      // Whether the workers' compressing overlapped in time is not asserted: it depends on the
      // machine (fp16 k-means became fast enough that the page's worker can finish its share
      // before the helpers have started their modules). The shares above, each worker's count
      // above zero, and the bytes below equal to the CLI's are what the pool must get right.

      await page.getByRole('link', { name: /^Download / }).click();
      const download = await downloadPromise;
      const name = `many_weights-${tag}.mlpackage.zip`;
      assert.equal(download.suggestedFilename(), name);
      const fromPage = path.join(tmp, `page-${workers}`, name);
      await download.saveAs(fromPage);
      fs.mkdirSync(path.join(tmp, `cli-${workers}`), { recursive: true });
      const config = await page.locator('#config-text').inputValue();
      const { bytes, report } = nativeCompress(fixture.zip, path.join(tmp, `cli-${workers}`, name), config, tmp);
      assert.ok(fs.readFileSync(fromPage).equals(bytes), `${name}: the page's zip equals the CLI's`);
      const rows = await page.locator('#results-table tbody tr[data-compressed="true"]').count();
      assert.equal(rows, report.weights.filter((w) => w.compressed).length);
      // The helpers are gone once the run is over.
      for (let i = 0; i < 50 && page.workers().length > 1; i++) await page.waitForTimeout(100);
      assert.equal(page.workers().length, 1);
      // Their results files are removed from OPFS: what is left is the main worker's (the output).
      let folders = [];
      for (let i = 0; i < 50; i++) {
        folders = [...new Set((await opfsFiles()).filter((f) => f.size > 0).map((f) => f.path.split('/')[0]))];
        if (folders.length <= 1) break;
        await page.waitForTimeout(100);
      }
      assert.ok(folders.length <= 1, `OPFS data of ended workers: ${folders}`);
    });
  }

  test('Cancel with three workers busy ends them all and leaves nothing', async () => {
    await openFixture(3);
    await page.getByLabel('Preset').selectOption({ label: PAL6 });
    await page.getByRole('button', { name: 'Compress', exact: true }).click();
    await page.waitForFunction(() => Number(document.getElementById('progress-bar').dataset.done) >= 4);
    assert.equal(page.workers().length, 3, 'the main worker and two helpers');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('#status', { hasText: 'Cancelled: nothing was written.' }).waitFor();
    assert.ok(await page.locator('#result').isHidden(), 'no result shown');
    assert.ok(await page.getByRole('alert').isHidden(), 'no error');
    for (let i = 0; i < 50 && page.workers().length > 1; i++) await page.waitForTimeout(100);
    assert.equal(page.workers().length, 1, 'only the fresh worker is left');
    // The ended workers' OPFS folders are removed by the fresh one (their locks are free).
    let files = await opfsFiles();
    for (let i = 0; i < 50 && files.some((f) => f.size > 0); i++) {
      await page.waitForTimeout(100);
      files = await opfsFiles();
    }
    assert.deepEqual(files.filter((f) => f.size > 0), [], 'no data left in OPFS');

    // The model is still open: the next run works, on three workers again.
    await page.getByLabel('Preset').selectOption({ label: INT8 });
    await page.getByRole('button', { name: 'Compress', exact: true }).click();
    await page.locator('#result').waitFor();
    assert.equal((await page.locator('#result').getAttribute('data-workers')).split(',').length, 3);
  });

  test('the embedding API with workers: 2 gives the CLI\'s zip', async () => {
    await page.goto(`${browser.origin}/embed-example.html`);
    const config = { config_type: 'OpLinearQuantizerConfig', global_config: { dtype: 'int8', weight_threshold: 0 } };
    const result = await page.evaluate(async (cfg) => {
      const api = await import('/mlpress.js');
      const blob = await (await fetch('/sample/sample.mlpackage.zip')).blob();
      const file = new File([blob], 'sample.mlpackage.zip');
      const progress = [];
      const out = await api.compress(file, cfg, { name: 'api.mlpackage.zip', workers: 2, onProgress: (p) => progress.push(p) });
      const bytes = new Uint8Array(await out.arrayBuffer());
      let binary = '';
      for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return { progress, base64: btoa(binary) };
    }, config);
    fs.mkdirSync(path.join(tmp, 'api'), { recursive: true });
    const { bytes, report } = nativeCompress(SAMPLE, path.join(tmp, 'api', 'api.mlpackage.zip'), JSON.stringify(config), tmp);
    assert.ok(Buffer.from(result.base64, 'base64').equals(bytes), 'the Blob equals the CLI\'s zip byte for byte');
    const compressed = report.weights.filter((w) => w.compressed).length;
    assert.ok(result.progress.length > 0);
    assert.ok(result.progress.every((p) => p.total === compressed), JSON.stringify(result.progress));
    assert.deepEqual(result.progress[result.progress.length - 1], { done: compressed, total: compressed, weight: '' });
  });

  test('every request went to the local origin, with no console errors', () => {
    const foreign = browser.requests.filter((u) => new URL(u).origin !== browser.origin);
    assert.deepEqual(foreign, []);
    assert.deepEqual(browser.consoleErrors, []);
  });
});
