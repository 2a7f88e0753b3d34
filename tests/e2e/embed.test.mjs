// Browser tests of the embedding: the ES module API (web/mlpress.js) called from a page, and
// the <mlpress-compressor> element on web/embed-example.html. Outputs are checked against
// `mlpress compress` byte for byte, reports against `mlpress inspect --json`.
//
//   node --test tests/e2e/
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkPrerequisites, makeTmp, native, nativeCompress, openBrowser, SAMPLE } from './harness.mjs';
import { PRESETS } from '../../web/config.js';

const CONFIG = { config_type: 'OpPalettizerConfig', global_config: { nbits: 4, mode: 'kmeans', weight_threshold: 100 } };

describe('embedding: the module API and <mlpress-compressor>', () => {
  let tmp;
  let browser;
  let page;

  before(async () => {
    checkPrerequisites();
    tmp = makeTmp('mlpress-e2e-embed-');
    browser = await openBrowser(tmp);
    page = browser.page;
    await page.goto(`${browser.origin}/embed-example.html`);
  });

  after(async () => {
    if (browser) await browser.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('inspect(file) gives the CLI\'s report; compress(file, object) the CLI\'s zip, with progress', async () => {
    const result = await page.evaluate(async (config) => {
      const api = await import('/mlpress.js');
      const blob = await (await fetch('/sample/sample.mlpackage.zip')).blob();
      const file = new File([blob], 'sample.mlpackage.zip');
      const report = await api.inspect(file);
      const progress = [];
      const out = await api.compress(file, config, { name: 'api.mlpackage.zip', onProgress: (p) => progress.push(p) });
      const bytes = new Uint8Array(await out.arrayBuffer());
      let binary = '';
      for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return { report, progress, isBlob: out instanceof Blob, type: out.type, name: out.name, base64: btoa(binary) };
    }, CONFIG);

    const inspected = native(['inspect', SAMPLE, '--json']);
    assert.equal(inspected.status, 0);
    // The same report, but for the file's path: /in/NAME inside the worker.
    assert.deepEqual(result.report, JSON.parse(inspected.stdout.toString().replaceAll(SAMPLE, '/in/sample.mlpackage.zip')));
    assert.ok(result.isBlob);
    assert.equal(result.type, 'application/zip');
    assert.equal(result.name, 'api.mlpackage.zip');

    const { bytes, report } = nativeCompress(SAMPLE, path.join(tmp, 'api.mlpackage.zip'), JSON.stringify(CONFIG), tmp);
    assert.ok(Buffer.from(result.base64, 'base64').equals(bytes), 'the Blob equals the CLI\'s zip byte for byte');
    const compressed = report.weights.filter((w) => w.compressed).map((w) => w.name);
    assert.ok(compressed.length >= 3);
    assert.deepEqual(result.progress, [
      ...compressed.map((weight, done) => ({ done, total: compressed.length, weight })),
      { done: compressed.length, total: compressed.length, weight: '' },
    ]);
  });

  test('an AbortSignal cancels with its reason; the next call works', async () => {
    const result = await page.evaluate(async (config) => {
      const api = await import('/mlpress.js');
      const blob = await (await fetch('/sample/sample.mlpackage.zip')).blob();
      const file = new File([blob], 'sample.mlpackage.zip');
      const controller = new AbortController();
      let calls = 0;
      let error;
      try {
        await api.compress(file, config, {
          signal: controller.signal,
          onProgress: () => {
            if (++calls === 1) controller.abort();
          },
        });
      } catch (err) {
        error = { name: err.name, isReason: err === controller.signal.reason };
      }
      // Already aborted: rejects at once.
      let early;
      try {
        await api.compress(file, config, { signal: controller.signal });
      } catch (err) {
        early = err.name;
      }
      const again = await api.compress(file, 'config_type: OpLinearQuantizerConfig\nglobal_config: {dtype: int8}\n');
      return { error, early, againSize: again.size, againName: again.name };
    }, CONFIG);
    assert.deepEqual(result.error, { name: 'AbortError', isReason: true });
    assert.equal(result.early, 'AbortError');
    assert.equal(result.againName, 'sample-compressed.mlpackage.zip');
    const { bytes } = nativeCompress(SAMPLE, path.join(tmp, 'sample-compressed.mlpackage.zip'), 'config_type: OpLinearQuantizerConfig\nglobal_config: {dtype: int8}\n', tmp);
    assert.equal(result.againSize, bytes.length);
  });

  test('the element renders, opens the sample, compresses with its preset, and offers the download', async () => {
    await page.goto(`${browser.origin}/embed-example.html`);
    const element = page.locator('mlpress-compressor');
    await element.getByRole('button', { name: 'Try the sample model' }).click();
    await element.getByRole('status').filter({ hasText: 'sample.mlpackage.zip:' }).waitFor();
    assert.equal(await element.getByLabel('Preset').inputValue(), 'pal4');
    // The sample is an iOS16 model: the iOS18-only presets are off, each saying why.
    const off = await element.getByLabel('Preset').evaluate((select) =>
      [...select.options].filter((o) => o.disabled).map((o) => [o.value, o.textContent]),
    );
    assert.deepEqual(off.map(([key]) => key).sort(), ['int4', 'prune-pal4']);
    for (const [, text] of off) assert.match(text, /needs an iOS18 model; this one targets iOS16 \(opset CoreML6\)/);
    await element.getByRole('button', { name: 'Compress' }).click();
    const link = element.getByRole('link', { name: /^Download sample-pal4\.mlpackage\.zip/ });
    await link.waitFor();
    const downloadPromise = page.waitForEvent('download');
    await link.click();
    const download = await downloadPromise;
    assert.equal(download.suggestedFilename(), 'sample-pal4.mlpackage.zip');
    const saved = path.join(tmp, 'element', 'sample-pal4.mlpackage.zip');
    await download.saveAs(saved);
    const { bytes } = nativeCompress(SAMPLE, path.join(tmp, 'sample-pal4.mlpackage.zip'), PRESETS.pal4.text, tmp);
    assert.ok(fs.readFileSync(saved).equals(bytes), 'the element\'s download equals the CLI\'s zip');
    assert.match(await element.getByRole('status').innerText(), /^Done: \d+ of \d+ weights compressed/);

    // A broken file: the element says why, in its status line.
    await element.locator('input[type=file]:not([webkitdirectory])').setInputFiles({
      name: 'broken.mlpackage.zip',
      mimeType: 'application/zip',
      buffer: Buffer.from('not a zip\n'),
    });
    await element.getByRole('status').filter({ hasText: 'Could not open broken.mlpackage.zip' }).waitFor();
    assert.ok(await element.getByRole('button', { name: 'Compress' }).isDisabled());
  });

  test('every request went to the local origin, with no console errors', () => {
    const foreign = browser.requests.filter((u) => new URL(u).origin !== browser.origin);
    assert.deepEqual(foreign, []);
    assert.deepEqual(browser.consoleErrors, []);
  });
});
