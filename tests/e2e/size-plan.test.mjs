// Browser tests of the "Automatic (size target)" panel (web/size-planner.js): analyse the
// sample, move the size slider with the keyboard, and check after every move that the shown
// plan (total and the choice per weight) is the native `mlpress plan --json` for the target the
// page shows; then compress with the plan and check the download: byte for byte the native
// `mlpress compress --auto` output, loadable by `mlpress inspect`, weight files within the
// target. Also: phone width without sideways scrolling, and the dark scheme.
//
//   node --test tests/e2e/
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkPrerequisites, makeManyWeights, makeTmp, native, openBrowser, SAMPLE } from './harness.mjs';

function nativeJson(args) {
  const run = native(args);
  assert.equal(run.status, 0, `mlpress ${args.join(' ')}: ${run.stderr}`);
  return JSON.parse(run.stdout.toString());
}

describe('the size slider on the page', () => {
  let tmp;
  let browser;
  let page;

  before(async () => {
    checkPrerequisites();
    tmp = makeTmp('mlpress-e2e-size-');
    browser = await openBrowser(tmp);
    page = browser.page;
  });

  after(async () => {
    if (browser) await browser.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  // The plan the page shows once it has settled on `target` bytes.
  async function shownPlan(target) {
    await page.waitForFunction(
      (t) => {
        const s = document.getElementById('size-summary');
        return s.dataset.target === String(t) && s.dataset.pending === undefined;
      },
      target,
    );
    return page.evaluate(() => {
      const s = document.getElementById('size-summary');
      return {
        target: Number(s.dataset.target),
        predicted: Number(s.dataset.predicted),
        error: Number(s.dataset.error),
        text: s.textContent,
        choices: [...document.querySelectorAll('#size-table tbody tr')].map((tr) => [tr.dataset.op, tr.dataset.choice]),
      };
    });
  }

  // The slider's target for a position, as the page maps it (linear, smallest to dense).
  async function targetAtSlider() {
    return page.evaluate(() => {
      const slider = document.getElementById('size-slider');
      const min = Number(slider.dataset.minBytes);
      const max = Number(slider.dataset.maxBytes);
      return Math.round(min + ((max - min) * Number(slider.value)) / Number(slider.max));
    });
  }

  function checkAgainstCli(shown, flags) {
    const plan = nativeJson(['plan', SAMPLE, '--target-size', String(shown.target), ...flags, '--json']);
    assert.equal(shown.predicted, plan.predicted_file_bytes, `target ${shown.target}: total`);
    assert.equal(shown.error, plan.total_sq_error, `target ${shown.target}: error`);
    assert.deepEqual(shown.choices, plan.items.map((item) => [item.op_name, item.choice]), `target ${shown.target}: choices`);
    assert.ok(shown.text.includes(shown.predicted.toLocaleString('en-US')), shown.text);
    return plan;
  }

  test('analyse, move the slider by keyboard, compress with the plan', async () => {
    await page.goto(`${browser.origin}/`);
    await page.locator('#status', { hasText: 'Ready' }).waitFor();
    await page.getByRole('button', { name: 'Try the sample model' }).click();
    await page.locator('#status', { hasText: 'Opened sample.mlpackage.zip' }).waitFor();

    await page.getByRole('button', { name: 'Analyse the weights' }).click();
    await page.locator('#status', { hasText: 'Analysed 2 weights of sample.mlpackage.zip' }).waitFor();
    const slider = page.getByLabel('Target size of the weight files');
    assert.ok(await slider.isVisible());
    const sensitivity = nativeJson(['sensitivity', SAMPLE, '--json']);
    assert.equal(await slider.getAttribute('data-max-bytes'), String(sensitivity.weight_file_bytes));
    checkAgainstCli(await shownPlan(await targetAtSlider()), []);

    // Both of the sample's weights are first or last: lift the rule so that 4-bit and pruning
    // are in play, and the left end moves down.
    await page.getByLabel('Keep the first and last layers at 8 bits or dense').uncheck();
    const smallest = nativeJson(['plan', SAMPLE, '--min-snr', '-inf', '--no-keep-first-last', '--json']);
    await page.waitForFunction(
      (min) => document.getElementById('size-slider').dataset.minBytes === String(min),
      smallest.predicted_file_bytes,
    );
    const flags = ['--no-keep-first-last'];

    await slider.focus();
    await page.keyboard.press('Home');
    let shown = await shownPlan(smallest.predicted_file_bytes);
    checkAgainstCli(shown, flags);
    const seen = new Set([shown.choices.map((c) => c[1]).join()]);
    for (const key of ['ArrowRight', 'ArrowRight', 'PageUp', 'ArrowRight', 'PageUp', 'PageUp', 'End']) {
      await page.keyboard.press(key);
      shown = await shownPlan(await targetAtSlider());
      checkAgainstCli(shown, flags);
      seen.add(shown.choices.map((c) => c[1]).join());
    }
    assert.equal(shown.target, sensitivity.weight_file_bytes, 'End is the dense size');
    assert.ok(seen.size >= 3, `the slider passes several plans: ${[...seen].join(' | ')}`);

    // A target in the middle; the chart marks it (pixels drawn in the accent colour).
    await page.keyboard.press('Home');
    for (let i = 0; i < 6; i++) await page.keyboard.press('PageUp');
    shown = await shownPlan(await targetAtSlider());
    const plan = checkAgainstCli(shown, flags);
    assert.ok(plan.items.some((item) => item.choice !== 'dense'), 'the plan compresses something');
    assert.ok(await chartHasInk(), 'the chart is drawn');

    const downloadPromise = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Compress with this plan' }).click();
    await page.locator('#result').waitFor();
    assert.match(await page.locator('#config-text').inputValue(), /"steps"/, 'the plan is in the config box');
    await page.getByRole('link', { name: /^Download / }).click();
    const download = await downloadPromise;
    const percent = Math.round((100 * shown.target) / sensitivity.weight_file_bytes);
    const name = `sample-auto-${percent}pct.mlpackage.zip`;
    assert.equal(download.suggestedFilename(), name);
    fs.mkdirSync(path.join(tmp, 'page'));
    fs.mkdirSync(path.join(tmp, 'cli'));
    const fromPage = path.join(tmp, 'page', name);
    await download.saveAs(fromPage);

    const inspected = nativeJson(['inspect', fromPage, '--json']);
    assert.ok(inspected.totals.weights_dir_bytes <= shown.target, `${inspected.totals.weights_dir_bytes} > ${shown.target}`);
    assert.equal(inspected.totals.compressed_weights, plan.items.filter((item) => item.choice !== 'dense').length);
    const fromCli = path.join(tmp, 'cli', name);
    nativeJson(['compress', '--auto', '--target-size', String(shown.target), ...flags, SAMPLE, fromCli, '--json']);
    assert.ok(fs.readFileSync(fromPage).equals(fs.readFileSync(fromCli)), 'the page writes what compress --auto writes');
    const rows = await page.locator('#results-table tbody tr[data-compressed="true"]').count();
    assert.equal(rows, inspected.totals.compressed_weights);
  });

  test('phone width: no sideways scrolling; dark scheme: the chart is drawn', async () => {
    await page.setViewportSize({ width: 360, height: 800 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.evaluate(() => window.dispatchEvent(new Event('resize')));
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
    await page.waitForTimeout(300); // the chart redraws 100 ms after a resize
    assert.ok(await chartHasInk(), 'the chart is drawn at phone width');
    const background = await page.evaluate(() => getComputedStyle(document.getElementById('size-chart')).backgroundColor);
    assert.notEqual(background, 'rgb(247, 247, 245)', 'the chart follows the dark scheme');
  });

  test('the analysis counts the weights and Cancel stops it; the model stays open', async () => {
    const fixture = makeManyWeights(path.join(tmp, 'fixture'));
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${browser.origin}/`);
    await page.locator('#status', { hasText: 'Ready' }).waitFor();
    await page.locator('#file-input').setInputFiles(fixture.zip);
    await page.locator('#status', { hasText: 'Opened many_weights.mlpackage.zip' }).waitFor();
    await page.getByRole('button', { name: 'Analyse the weights' }).click();
    await page.waitForFunction(() => Number(document.getElementById('size-progress-bar').dataset.done) >= 2);
    assert.match(await page.locator('#size-progress-text').innerText(), /of 40 weights measured; measuring layer\d{3}_weight_0_to_fp16…/);
    await page.locator('#size-cancel').click();
    await page.locator('#status', { hasText: 'Cancelled the analysis. many_weights.mlpackage.zip is still open.' }).waitFor();
    assert.ok(await page.locator('#size-controls').isHidden(), 'no slider without an analysis');
    assert.ok(await page.getByRole('alert').isHidden(), 'no error');
    assert.ok(await page.getByRole('button', { name: 'Analyse the weights' }).isEnabled());
    assert.ok(await page.getByRole('button', { name: 'Compress', exact: true }).isEnabled(), 'the model is open');
  });

  test('every request went to the local origin, with no console errors', () => {
    const foreign = browser.requests.filter((u) => new URL(u).origin !== browser.origin);
    assert.deepEqual(foreign, []);
    assert.deepEqual(browser.consoleErrors, []);
  });

  async function chartHasInk() {
    return page.evaluate(() => {
      const canvas = document.getElementById('size-chart');
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let ink = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) ink++;
      return ink > 100;
    });
  }
});
