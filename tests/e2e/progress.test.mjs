// Browser tests of the page's progress bar and Cancel button, and of opening a .mlpackage
// folder, on a model with many weights (tests/e2e/make_many_weights.py, built here with
// coremltools). Outputs are checked against `mlpress compress` byte for byte.
//
//   node --test tests/e2e/
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compressOnPageAndCli, SAMPLE, withManyWeightsBrowser } from './harness.mjs';

const PAL6 = 'palettize 6-bit k-means';
const INT8 = 'int8 per-channel (iOS16+)';

describe('progress, cancel and folders on the page', () => {
  let tmp;
  let browser;
  let page;
  let fixture;

  withManyWeightsBrowser('mlpress-e2e-progress-', (opened) => ({ tmp, fixture, browser, page } = opened));

  // query '?workers=1': one worker, whose progress is one weight after the other (pool.js).
  async function loadPage(query = '') {
    await page.goto(`${browser.origin}/${query}`);
    await page.locator('#status', { hasText: 'Ready' }).waitFor();
  }

  // Records every state of the progress bar while a run goes on.
  async function recordProgress() {
    await page.evaluate(() => {
      window.progressLog = [];
      const bar = document.getElementById('progress-bar');
      new MutationObserver(() => {
        if (bar.dataset.done === undefined) return;
        const entry = { done: Number(bar.dataset.done), total: Number(bar.dataset.total), text: document.getElementById('progress-text').textContent };
        const last = window.progressLog[window.progressLog.length - 1];
        if (!last || last.done !== entry.done || last.total !== entry.total) window.progressLog.push(entry);
      }).observe(bar, { attributes: true });
    });
  }

  async function compressAndCompare(input, expectedName) {
    const { pageBytes, cliBytes } = await compressOnPageAndCli(page, tmp, input, expectedName);
    assert.ok(pageBytes.equals(cliBytes), `${expectedName}: the page's zip equals the CLI's`);
  }


  test('the bar counts the weights and names the current one; Cancel stops, and the next run works', async () => {
    await loadPage('?workers=1');
    await page.locator('#file-input').setInputFiles(fixture.zip);
    await page.locator('#status', { hasText: 'Opened many_weights.mlpackage.zip' }).waitFor();
    await page.getByLabel('Preset').selectOption({ label: PAL6 });
    await recordProgress();
    await page.getByRole('button', { name: 'Compress', exact: true }).click();
    const cancel = page.getByRole('button', { name: 'Cancel' });
    await cancel.waitFor();
    // Visibly in progress: a few weights done, more to go.
    await page.waitForFunction(() => Number(document.getElementById('progress-bar').dataset.done) >= 3);
    const text = await page.locator('#progress-text').innerText();
    assert.match(text, /of 40 weights done; compressing layer\d{3}_weight_0_to_fp16…/);
    await cancel.click();
    await page.locator('#status', { hasText: 'Cancelled: nothing was written.' }).waitFor();
    assert.ok(await page.locator('#result').isHidden(), 'no result shown');
    assert.ok(await page.locator('#progress').isHidden());
    assert.ok(await page.getByRole('alert').isHidden(), 'no error');

    const log = await page.evaluate(() => window.progressLog);
    assert.ok(log.length >= 3, JSON.stringify(log));
    for (const [i, entry] of log.entries()) {
      assert.equal(entry.total, 40);
      if (i > 0) assert.ok(entry.done > log[i - 1].done, 'done only grows');
      assert.ok(entry.text.includes(`layer${String(entry.done).padStart(3, '0')}_weight_0_to_fp16`), entry.text);
    }
    const lastDone = log[log.length - 1].done;
    assert.ok(lastDone < 40, `cancelled before the end (at ${lastDone})`);

    // The model is still open in the fresh worker: int8 compresses, equal to the CLI's output.
    assert.ok(await page.getByRole('button', { name: 'Compress', exact: true }).isEnabled());
    await page.getByLabel('Preset').selectOption({ label: INT8 });
    await compressAndCompare(fixture.zip, 'many_weights-int8.mlpackage.zip');
  });

  test('a .mlpackage folder opens (webkitdirectory) and compresses like the CLI', async () => {
    await loadPage();
    await page.locator('#folder-input').setInputFiles(fixture.folder);
    await page.locator('#status', { hasText: 'Opened many_weights.mlpackage' }).waitFor();
    const names = await page.locator('#weight-table tbody tr[data-name]').evaluateAll((rows) => rows.map((r) => r.dataset.name));
    assert.equal(names.filter((n) => /^layer\d{3}_weight_0_to_fp16$/.test(n)).length, 40);
    await page.getByLabel('Preset').selectOption({ label: INT8 });
    await compressAndCompare(fixture.folder, 'many_weights-int8.mlpackage.zip');
  });

  test('a job document of two steps in the config text compresses like the CLI', async () => {
    await loadPage();
    await page.getByRole('button', { name: 'Try the sample model' }).click();
    await page.locator('#status', { hasText: 'Opened sample.mlpackage.zip' }).waitFor();
    const job = JSON.stringify({
      steps: [
        { config: { config_type: 'OpPalettizerConfig', global_config: null, op_type_configs: { conv: { nbits: 4, mode: 'kmeans', weight_threshold: 100 } } } },
        { config: { config_type: 'OpLinearQuantizerConfig', global_config: { dtype: 'int8', weight_threshold: 100 } } },
      ],
    });
    await page.locator('#config-text').fill(job);
    assert.ok(await page.getByLabel('When compressing conv2_weight_0_to_fp16').isDisabled(), 'no row overrides for a job');
    await compressAndCompare(SAMPLE, 'sample-custom.mlpackage.zip');
    const types = await page.locator('#results-table tbody tr[data-compressed="true"] td.op-type').allInnerTexts();
    assert.ok(types.includes('constexpr_lut_to_dense') && types.includes('constexpr_affine_dequantize'), types.join());
  });

  test('every request went to the local origin, with no console errors', () => {
    const foreign = browser.requests.filter((u) => new URL(u).origin !== browser.origin);
    assert.deepEqual(foreign, []);
    assert.deepEqual(browser.consoleErrors, []);
  });
});
