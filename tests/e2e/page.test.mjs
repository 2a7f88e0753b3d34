// End-to-end tests of the page: scripts/serve.mjs serves web/, build-wasm/ and sample/ on a
// free local port; playwright-core drives Debian's /usr/bin/chromium (headless, fresh profile)
// through opening the sample, the weight table, compressing with each preset (downloads and
// result tables checked against `mlpress compress --config ... --json`), per-row overrides,
// config import/export, errors (a broken file, a bad config, an iOS18-only config; the iOS18
// presets off for the iOS16 sample), and checks
// that every request the page makes stays on the local origin.
//
//   node --test tests/e2e/
//
// Needs build-wasm/mlpress-simd.{js,wasm} (scripts/build_wasm.sh) and the native CLI
// (scripts/build.sh). Environment: MLPRESS_WASM_BUILD_DIR, MLPRESS_BIN, MLPRESS_CHROMIUM
// (default /usr/bin/chromium), MLPRESS_SCREENSHOT_DIR (default $TMPDIR/mlpress-e2e): where
// screenshots of the page (light, dark, phone width) are written for a human to look at.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PRESETS } from '../../web/config.js';
import { BUILD, SAMPLE, checkPrerequisites, compressOnPageAndCli, makeTmp, native, openBrowser } from './harness.mjs';

const SHOTS = process.env.MLPRESS_SCREENSHOT_DIR || path.join(os.tmpdir(), 'mlpress-e2e');

function nativeInspect(file) {
  const run = native(['inspect', file, '--json']);
  assert.equal(run.status, 0, `mlpress inspect ${file}: ${run.stderr}`);
  return JSON.parse(run.stdout.toString());
}

describe('the mlpress page', () => {
  let browser;
  let origin;
  let page;
  let tmp;
  let requests;
  let consoleErrors;

  before(async () => {
    checkPrerequisites();
    tmp = makeTmp('mlpress-e2e-');
    fs.mkdirSync(SHOTS, { recursive: true });
    // A server, a fresh profile and a log of every request of every page and worker in it.
    browser = await openBrowser(tmp);
    ({ origin, page, requests, consoleErrors } = browser);
  });

  after(async () => {
    if (browser) await browser.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  // Loads the page and waits until the worker has its module, or fails with the page's message.
  async function loadPage(query = '') {
    await page.goto(`${origin}/${query}`);
    await page.waitForFunction(
      () => document.documentElement.dataset.wasm || !document.getElementById('error').hidden,
    );
    if (await page.locator('#error').isVisible()) {
      const message = await page.locator('#error-message').innerText();
      const hint = message.includes('unsafe-eval')
        ? ' (the module uses eval: link it with -sDYNAMIC_EXECUTION=0, see docs/web.md)'
        : '';
      assert.fail(`the page did not start: ${message}${hint}`);
    }
    await page.locator('#status', { hasText: 'Ready' }).waitFor();
  }

  async function openSample() {
    await page.getByRole('button', { name: 'Try the sample model' }).click();
    await page.locator('#status', { hasText: 'Opened sample.mlpackage.zip' }).waitFor();
  }

  async function allRowNames() {
    await page.getByLabel('Hide constants of fewer than 10 elements').uncheck();
    await page.getByLabel('Filter').fill('');
    return page.locator('#weight-table tbody tr[data-name]').evaluateAll((rows) => rows.map((r) => r.dataset.name));
  }

  test('the sample opens, and the weight table lists what the CLI lists', async () => {
    await loadPage();
    assert.equal(await page.locator('html').getAttribute('data-wasm'), 'simd');
    await openSample();

    const report = nativeInspect(SAMPLE);
    const names = await allRowNames();
    assert.deepEqual(names, report.weights.map((w) => w.name));

    const summary = await page.locator('#summary').innerText();
    assert.match(summary, /Specification version\s+7/);
    assert.match(summary, /CoreML6/);
    for (const f of [...report.model.inputs, ...report.model.outputs]) assert.ok(summary.includes(f.name), f.name);
    assert.ok(summary.includes(report.model.metadata.author));
    assert.ok(summary.includes(report.model.metadata.short_description));

    // One row in full: the first weight with a blob.
    const blob = report.weights.find((w) => w.storage.kind === 'blob');
    const cells = await page.locator(`#weight-table tbody tr[data-name="${blob.name}"] > *`).allInnerTexts();
    assert.equal(cells[1], `[${blob.shape.join(', ')}]`);
    assert.equal(cells[2], blob.dtype);
    assert.equal(cells[3].replaceAll(',', ''), String(blob.element_count));
    assert.equal(cells[5], `weight.bin @ ${blob.storage.offset}`);
    assert.ok(cells[6].includes(blob.consumers[0].op_type));
  });

  test('hiding small constants, filtering and sorting', async () => {
    const report = nativeInspect(SAMPLE);
    const rows = page.locator('#weight-table tbody tr[data-name]');

    await page.getByLabel('Hide constants of fewer than 10 elements').check();
    const big = report.weights.filter((w) => w.element_count >= 10).map((w) => w.name);
    assert.deepEqual(await rows.evaluateAll((r) => r.map((x) => x.dataset.name)), big);

    await page.getByLabel('Filter').fill('fp16 weight');
    const filtered = await rows.evaluateAll((r) => r.map((x) => x.dataset.name));
    assert.ok(filtered.length > 0);
    for (const name of filtered) {
      const w = report.weights.find((x) => x.name === name);
      assert.equal(w.dtype, 'fp16');
    }
    await page.getByLabel('Filter').fill('no such weight anywhere');
    await page.getByText('No weights match.').waitFor();

    const names = await allRowNames();
    const elementsHeader = page.locator('#weight-table thead th[data-key="elements"]');
    await elementsHeader.getByRole('button').click();
    assert.equal(await elementsHeader.getAttribute('aria-sort'), 'ascending');
    let counts = await rows.evaluateAll((r) => r.map((x) => x.children[3].textContent.replaceAll(',', '')).map(Number));
    assert.deepEqual(counts, [...counts].sort((a, b) => a - b));
    assert.equal(counts.length, names.length);
    await elementsHeader.getByRole('button').click();
    assert.equal(await elementsHeader.getAttribute('aria-sort'), 'descending');
    counts = await rows.evaluateAll((r) => r.map((x) => x.children[3].textContent.replaceAll(',', '')).map(Number));
    assert.deepEqual(counts, [...counts].sort((a, b) => b - a));
  });

  // Compresses with what the page shows (preset or edited text), downloads, and compares with
  // `mlpress compress SAMPLE OUT --config <the same text> --json`: the zip byte for byte, and
  // the results table with the report (which weights were compressed, how, and which skipped).
  async function compressAndCompare(t, expectedName) {
    const { pageBytes, cliBytes, report } = await compressOnPageAndCli(page, tmp, SAMPLE, expectedName);
    assert.equal(pageBytes.length, cliBytes.length, 'zip sizes');
    assert.ok(pageBytes.equals(cliBytes), `${expectedName}: the page's zip equals the CLI's byte for byte`);
    assert.equal(report.output_bytes, cliBytes.length);

    const rows = await page.locator('#results-table tbody tr[data-name]').evaluateAll((trs) =>
      trs.map((tr) => ({
        name: tr.dataset.name,
        compressed: tr.dataset.compressed === 'true',
        result: tr.children[1].textContent,
        why: tr.children[6].textContent,
      })),
    );
    assert.deepEqual(
      rows.map((r) => [r.name, r.compressed]),
      report.weights.map((w) => [w.name, w.compressed]),
    );
    for (const [i, w] of report.weights.entries()) {
      if (w.compressed) assert.equal(rows[i].result, w.op_type, w.name);
      else assert.equal(rows[i].why, w.reason, w.name);
    }
    const text = await page.locator('#result-text').innerText();
    assert.ok(text.includes(`${fs.statSync(SAMPLE).size.toLocaleString('en-US')} bytes`), text);
    assert.ok(text.includes(`${pageBytes.length.toLocaleString('en-US')} bytes`), text);
    t.diagnostic(`${expectedName}: ${report.weights.filter((w) => w.compressed).length} of ${report.weights.length} weights compressed, ${cliBytes.length} bytes`);
    return { report, rows };
  }

  test('the lossless preset rewrites exactly like `mlpress compress` without a config', async (t) => {
    await page.getByLabel('Preset').selectOption({ label: 'none: lossless rewrite' });
    assert.equal(await page.locator('#config-text').inputValue(), '');
    const { report } = await compressAndCompare(t, 'sample.mlpackage.zip');
    assert.ok(report.weights.every((w) => !w.compressed));
  });

  for (const [label, tag, opType] of [
    ['int8 per-channel (iOS16+)', 'int8', 'constexpr_affine_dequantize'],
    ['palettize 6-bit k-means', 'pal6', 'constexpr_lut_to_dense'],
    ['palettize 4-bit k-means', 'pal4', 'constexpr_lut_to_dense'],
    ['prune 50%', 'prune50', 'constexpr_sparse_to_dense'],
  ]) {
    test(`the preset “${label}” gives the CLI's zip and report`, async (t) => {
      await page.getByLabel('Preset').selectOption({ label });
      const config = await page.locator('#config-text').inputValue();
      assert.ok(config.includes('config_type:'), config);
      const { report } = await compressAndCompare(t, `sample-${tag}.mlpackage.zip`);
      const compressed = report.weights.filter((w) => w.compressed);
      assert.ok(compressed.length > 0, 'something was compressed');
      for (const w of compressed) assert.equal(w.op_type, opType);
      // SNR and cosine of the first compressed weight, as the page rounds them.
      const row = page.locator(`#results-table tbody tr[data-name="${compressed[0].name}"] > *`);
      const cells = await row.allInnerTexts();
      assert.equal(cells[4], compressed[0].snr_db === null ? 'exact' : compressed[0].snr_db.toFixed(1));
      assert.equal(cells[5], compressed[0].cosine.toFixed(6));
    });
  }

  test('“Keep dense” in the weight table adds an op_name_configs entry, and back', async (t) => {
    await page.getByLabel('Preset').selectOption({ label: 'int8 per-channel (iOS16+)' });
    const preset = await page.locator('#config-text').inputValue();
    const op = 'pointwise_weight_0_to_fp16';
    await page.getByLabel(`When compressing ${op}`).selectOption({ label: 'Keep dense' });
    const config = await page.locator('#config-text').inputValue();
    assert.equal(config, `${preset}op_name_configs:\n  ${op}: null\n`);
    assert.equal(await page.getByLabel('Preset').inputValue(), 'int8', 'still the preset');
    const { rows } = await compressAndCompare(t, 'sample-int8.mlpackage.zip');
    const row = rows.find((r) => r.name === op);
    assert.equal(row.compressed, false);
    assert.match(row.why, /op_name/);

    // Editing the text by hand: the table follows, and the preset becomes "custom".
    await page.locator('#config-text').fill(config.replace(`${op}: null`, `conv2_weight_0_to_fp16: null`));
    assert.equal(await page.getByLabel('Preset').inputValue(), 'custom');
    assert.equal(await page.getByLabel(`When compressing ${op}`).inputValue(), 'config');
    assert.equal(await page.getByLabel('When compressing conv2_weight_0_to_fp16').inputValue(), 'dense');
    await page.getByLabel('When compressing conv2_weight_0_to_fp16').selectOption({ label: 'Use config' });
    assert.equal(await page.locator('#config-text').inputValue(), preset);
    await compressAndCompare(t, 'sample-custom.mlpackage.zip');
  });

  test('Export config downloads the text; Import config loads a file', async () => {
    await page.getByLabel('Preset').selectOption({ label: 'palettize 6-bit k-means' });
    const text = await page.locator('#config-text').inputValue();
    const downloadPromise = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export config' }).click();
    const download = await downloadPromise;
    assert.equal(download.suggestedFilename(), 'sample-pal6.yaml');
    const saved = path.join(tmp, 'exported.yaml');
    await download.saveAs(saved);
    assert.equal(fs.readFileSync(saved, 'utf8'), text);

    const json = JSON.stringify({
      config_type: 'OpLinearQuantizerConfig',
      global_config: { dtype: 'int8', granularity: 'per_channel', weight_threshold: 100 },
      op_name_configs: { conv2_weight_0_to_fp16: null },
    });
    await page.locator('#config-file').setInputFiles({ name: 'mine.json', mimeType: 'application/json', buffer: Buffer.from(json) });
    await page.locator('#status', { hasText: 'Imported the config mine.json' }).waitFor();
    assert.equal(await page.locator('#config-text').inputValue(), json);
    assert.equal(await page.getByLabel('Preset').inputValue(), 'custom');
    assert.equal(await page.getByLabel('When compressing conv2_weight_0_to_fp16').inputValue(), 'dense');
    // JSON stays JSON when the table changes it.
    await page.getByLabel('When compressing pointwise_weight_0_to_fp16').selectOption({ label: 'Keep dense' });
    const edited = JSON.parse(await page.locator('#config-text').inputValue());
    assert.deepEqual(edited.op_name_configs, { conv2_weight_0_to_fp16: null, pointwise_weight_0_to_fp16: null });
  });

  test('a bad config (dtype int3) shows the core\'s error naming the field', async () => {
    const config = 'config_type: OpLinearQuantizerConfig\nglobal_config:\n  dtype: int3\n';
    await page.locator('#config-text').fill(config);
    await page.getByRole('button', { name: 'Compress', exact: true }).click();
    const error = page.getByRole('alert');
    await error.waitFor();
    assert.ok((await error.innerText()).includes('Could not compress “sample.mlpackage.zip”'));
    const message = await page.locator('#error-message').innerText();
    assert.match(message, /global_config/);
    assert.match(message, /dtype int3/);
    // The CLI's message for the same text, but for the config's name (a file there, "config" here).
    const file = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(file, config);
    const cli = native(['compress', SAMPLE, path.join(tmp, 'bad.mlpackage.zip'), '--config', file]);
    assert.equal(cli.status, 1);
    const cliMessage = cli.stderr.trim().replace(/^mlpress: error: /, '');
    assert.equal(message.replace(/^config: /, ''), cliMessage.replace(`${file}: `, ''));
    assert.ok(await page.locator('#result').isHidden());
  });

  test('the iOS18-only presets are off on the iOS16 sample, saying why; typed by hand, coremltools\' reason', async () => {
    // Off in the menu, each saying why, and a line under it naming the model's target.
    const reason = 'needs an iOS18 model; this one targets iOS16 (opset CoreML6)';
    for (const value of ['int4', 'transformer', 'tfm-pal', 'prune-pal4']) {
      const option = page.locator(`#preset option[value="${value}"]`);
      assert.ok(await option.isDisabled(), value);
      assert.ok((await option.textContent()).endsWith(` — ${reason}`), await option.textContent());
    }
    assert.ok(await page.locator('#preset option[value="int8"]').isEnabled());
    assert.match(await page.locator('#preset-availability').innerText(), /need an iOS18 model .*targets iOS16 \(opset CoreML6\)/);
    // The int4 preset's text typed by hand is not that preset (it does not apply): "custom".
    const config = PRESETS.int4.text;
    await page.locator('#config-text').fill(config);
    assert.equal(await page.getByLabel('Preset').inputValue(), 'custom');
    await page.getByRole('button', { name: 'Compress', exact: true }).click();
    await page.getByRole('alert').waitFor();
    const message = await page.locator('#error-message').innerText();
    assert.match(message, /per_block quantization is supported since iOS18/);
    const file = path.join(tmp, 'int4.yaml');
    fs.writeFileSync(file, config);
    const cli = native(['compress', SAMPLE, path.join(tmp, 'int4.mlpackage.zip'), '--config', file]);
    assert.equal(cli.status, 1);
    const cliMessage = cli.stderr.trim().replace(/^mlpress: error: /, '');
    assert.equal(message, cliMessage.replaceAll(SAMPLE, 'sample.mlpackage.zip'));
    // The page still works: the same model compresses with int8 at once.
    await page.getByLabel('Preset').selectOption({ label: 'int8 per-channel (iOS16+)' });
    await page.getByRole('button', { name: 'Compress', exact: true }).click();
    await page.locator('#result').waitFor();
    assert.ok(await page.getByRole('alert').isHidden());
  });

  test('a broken file shows an error naming it, and the page keeps working', async () => {
    const name = 'broken.mlpackage.zip';
    await page.locator('#file-input').setInputFiles({
      name,
      mimeType: 'application/zip',
      buffer: Buffer.from('this is a text file, not a zip archive\n'),
    });
    const error = page.getByRole('alert');
    await error.waitFor();
    const text = await error.innerText();
    assert.ok(text.includes(`Could not open “${name}”`), text);

    // The core's own message, as the CLI prints it for a file of that name (the page names the
    // file without its path).
    const local = path.join(tmp, name);
    fs.writeFileSync(local, 'this is a text file, not a zip archive\n');
    const cli = native(['inspect', local]);
    assert.equal(cli.status, 1);
    const cliMessage = cli.stderr.trim().replace(/^mlpress: error: /, '');
    assert.ok(cliMessage.includes(local), cli.stderr);
    const message = await page.locator('#error-message').innerText();
    assert.equal(message, cliMessage.replaceAll(local, name));
    assert.ok(await page.locator('#weights').isHidden());

    await openSample();
    assert.ok(await error.isHidden());
    assert.equal((await allRowNames()).length, nativeInspect(SAMPLE).weights.length);
  });

  test('keyboard only: Tab to the sample button, Enter, then sort with the keyboard', async () => {
    await loadPage();
    let focused = '';
    for (let i = 0; i < 10 && focused !== 'sample-button'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
    }
    assert.equal(focused, 'sample-button');
    await page.keyboard.press('Enter');
    await page.locator('#status', { hasText: 'Opened sample.mlpackage.zip' }).waitFor();
    await page.locator('#weight-table thead th[data-key="name"] button').focus();
    await page.keyboard.press('Enter');
    assert.equal(await page.locator('#weight-table thead th[data-key="name"]').getAttribute('aria-sort'), 'ascending');
  });

  test('the baseline build (?wasm=baseline) gives the same table', { skip: !fs.existsSync(path.join(BUILD, 'mlpress-baseline.wasm')) && 'no baseline build' }, async () => {
    await loadPage('?wasm=baseline');
    assert.equal(await page.locator('html').getAttribute('data-wasm'), 'baseline');
    await openSample();
    assert.deepEqual(await allRowNames(), nativeInspect(SAMPLE).weights.map((w) => w.name));
  });

  test('screenshots: light, dark, phone width', async () => {
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const [label, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 390, height: 844 }]]) {
        await page.setViewportSize(viewport);
        await loadPage();
        await openSample();
        await page.getByLabel('Preset').selectOption({ label: 'palettize 4-bit k-means' });
        await page.getByLabel('When compressing conv2_weight_0_to_fp16').selectOption({ label: 'Keep dense' });
        await page.getByRole('button', { name: 'Compress', exact: true }).click();
        await page.locator('#result').waitFor();
        const file = path.join(SHOTS, `${label}-${scheme}.png`);
        await page.screenshot({ path: file, fullPage: true });
        assert.ok(fs.statSync(file).size > 0);
      }
    }
    // And the error box.
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.locator('#file-input').setInputFiles({ name: 'notes.mlpackage.zip', mimeType: 'application/zip', buffer: Buffer.from('hello\n') });
    await page.getByRole('alert').waitFor();
    await page.locator('.open').screenshot({ path: path.join(SHOTS, 'error-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.locator('.open').screenshot({ path: path.join(SHOTS, 'error-light.png') });
    // The iOS18-only config on the iOS16 sample, at phone width.
    await page.setViewportSize({ width: 390, height: 844 });
    await openSample();
    await page.locator('#config-text').fill(PRESETS.int4.text);
    await page.getByRole('button', { name: 'Compress', exact: true }).click();
    await page.getByRole('alert').waitFor();
    await page.locator('#compress').screenshot({ path: path.join(SHOTS, 'error-int4-phone-light.png') });
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test('every request went to the local origin, with no console errors', () => {
    assert.ok(requests.length > 0);
    assert.ok(requests.some((u) => u.endsWith('/wasm/mlpress-simd.wasm')), 'the worker\'s requests are seen');
    const foreign = requests.filter((u) => new URL(u).origin !== origin);
    assert.deepEqual(foreign, [], `requests off ${origin}`);
    assert.deepEqual(consoleErrors, []);
  });
});
