// Browser test of the "Values before and after" panel (web/histogram.js): compress the sample
// with the 4-bit palettization preset and with prune 50%, pick weights (a row's Histogram button
// with the keyboard, and the menu), and check that the drawn bars are exactly the counts of
// `mlpress histogram sample.mlpackage.zip WEIGHT --after <the page's download> --bins 64
// --json`, on one scale; a weight kept dense draws the same bars twice; the download still
// works after the histograms (the worker keeps its OPFS file); readable at phone width in the
// dark scheme; no foreign request, no console error.
//
//   node --test tests/e2e/histogram.test.mjs
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { SAMPLE, checkPrerequisites, makeTmp, native, openBrowser } from './harness.mjs';

const SHOTS = process.env.MLPRESS_SCREENSHOT_DIR || path.join(os.tmpdir(), 'mlpress-e2e');
const BINS = 64;

describe('histogram panel', () => {
  let tmp;
  let browser;
  let page;

  before(async () => {
    checkPrerequisites();
    tmp = makeTmp('mlpress-e2e-histogram-');
    fs.mkdirSync(SHOTS, { recursive: true });
    browser = await openBrowser(tmp);
    ({ page } = browser);
    await page.goto(`${browser.origin}/`);
    await page.locator('#status', { hasText: 'Ready' }).waitFor();
    await page.getByRole('button', { name: 'Try the sample model' }).click();
    await page.locator('#status', { hasText: 'Opened sample.mlpackage.zip' }).waitFor();
  });

  after(async () => {
    if (browser) await browser.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  // Compresses with a preset and saves the page's download; returns its path and the report's
  // weights.
  async function compressWith(preset) {
    await page.getByLabel('Preset').selectOption(preset);
    const downloadPromise = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Compress', exact: true }).click();
    await page.locator('#result').waitFor();
    await page.locator('#histogram').waitFor();
    await page.getByRole('link', { name: /^Download / }).click();
    const download = await downloadPromise;
    const file = path.join(tmp, download.suggestedFilename());
    await download.saveAs(file);
    const names = await page.locator('#results-table tbody tr[data-name]').evaluateAll((rows) =>
      rows.map((r) => ({ name: r.dataset.name, compressed: r.dataset.compressed === 'true' })));
    return { file, names };
  }

  function cliHistograms(out, weight) {
    const run = native(['histogram', SAMPLE, weight, '--after', out, '--bins', String(BINS), '--json']);
    assert.equal(run.status, 0, run.stderr);
    return JSON.parse(run.stdout.toString());
  }

  // The bars drawn for `weight`: counts and heights of each figure, and its caption.
  async function drawn(weight) {
    await page.locator(`#histogram-charts[data-weight="${weight}"]`).waitFor();
    await page.waitForFunction(() => !document.getElementById('histogram').hasAttribute('aria-busy'));
    return page.locator('#histogram-charts figure').evaluateAll((figures) =>
      figures.map((f) => {
        const svg = f.querySelector('svg');
        const rects = [...svg.querySelectorAll('rect.histogram-bar')];
        return {
          kind: f.dataset.kind,
          caption: f.querySelector('figcaption').textContent,
          label: svg.getAttribute('aria-label'),
          role: svg.getAttribute('role'),
          counts: rects.map((r) => Number(r.dataset.count)),
          heights: rects.map((r) => Number(r.getAttribute('height'))),
          fill: getComputedStyle(rects[0]).fill,
        };
      }));
  }

  function checkDrawn(figures, cli, weight) {
    assert.deepEqual(figures.map((f) => f.kind), ['before', 'after']);
    const [before, after] = figures;
    assert.deepEqual(before.counts, cli.before.counts, `${weight}: before`);
    assert.deepEqual(after.counts, cli.after.counts, `${weight}: after`);
    const top = Math.max(...cli.before.counts, ...cli.after.counts);
    for (const f of figures) {
      f.counts.forEach((n, i) => assert.ok(Math.abs(f.heights[i] - (n / top) * 100) < 1e-9, `${weight}: bar ${i}`));
      assert.equal(f.role, 'img');
      assert.match(f.label, new RegExp(`${cli.before.total.toLocaleString('en-US')} values in ${BINS} bins`));
    }
    assert.match(before.caption, /Before: dense const, fp16/);
    assert.notEqual(before.fill, after.fill, 'before and after bars are told apart');
  }

  test('palettize 4-bit: a row button (keyboard) and the menu draw the CLI counts', async () => {
    const { file, names } = await compressWith('pal4');
    const compressed = names.filter((n) => n.compressed).map((n) => n.name);
    assert.ok(compressed.length >= 2, 'the preset compressed weights of the sample');

    // Keyboard: focus the first compressed row's button and press Enter.
    const first = compressed[0];
    const button = page.getByRole('button', { name: `Histogram of ${first}` });
    await button.focus();
    await page.keyboard.press('Enter');
    let cli = cliHistograms(file, first);
    assert.equal(cli.after.op_type, 'constexpr_lut_to_dense');
    let figures = await drawn(first);
    checkDrawn(figures, cli, first);
    assert.match(figures[1].caption, /After: constexpr_lut_to_dense/);
    assert.equal(await page.locator('#histogram-weight').inputValue(), first);

    // The menu: the second compressed weight, then one kept dense (the same bars twice).
    const second = compressed[1];
    await page.locator('#histogram-weight').selectOption(second);
    cli = cliHistograms(file, second);
    checkDrawn(await drawn(second), cli, second);
    const dense = names.find((n) => !n.compressed).name;
    await page.locator('#histogram-weight').selectOption(dense);
    cli = cliHistograms(file, dense);
    figures = await drawn(dense);
    checkDrawn(figures, cli, dense);
    assert.deepEqual(figures[0].counts, figures[1].counts);

    // The menu is labelled; the download still reads the same bytes after the histograms.
    assert.equal(await page.locator('#histogram-weight').evaluate((s) => s.labels[0].textContent), 'Weight');
    const downloadPromise = page.waitForEvent('download');
    await page.getByRole('link', { name: /^Download / }).click();
    const again = path.join(tmp, 'again.mlpackage.zip');
    await (await downloadPromise).saveAs(again);
    assert.ok(fs.readFileSync(again).equals(fs.readFileSync(file)));

    // The counts table behind the bars.
    await page.getByText('Counts per bin').click();
    const rows = await page.locator('.histogram-counts tbody tr').count();
    assert.equal(rows, BINS);
  });

  test('prune 50%: the zeros land in one bin; phone width, dark scheme', async () => {
    const { file, names } = await compressWith('prune50');
    const weight = names.find((n) => n.compressed).name;
    await page.locator('#histogram-weight').selectOption(weight);
    const cli = cliHistograms(file, weight);
    assert.ok(cli.after.op_type.startsWith('constexpr_sparse_to_dense'));
    checkDrawn(await drawn(weight), cli, weight);
    assert.ok(Math.max(...cli.after.counts) >= cli.after.total * 0.45, 'about half the values are zero');

    await page.emulateMedia({ colorScheme: 'dark' });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('#histogram').scrollIntoViewIfNeeded();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px at 390px`);
    const widths = await page.locator('#histogram-charts svg').evaluateAll((svgs) => svgs.map((s) => s.getBoundingClientRect().width));
    for (const w of widths) assert.ok(w > 200 && w <= 390, `chart width ${w}`);
    await page.locator('#histogram').screenshot({ path: path.join(SHOTS, 'histogram-dark-phone.png') });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.locator('#histogram').screenshot({ path: path.join(SHOTS, 'histogram-light.png') });
  });

  test('a new compress clears the panel; no foreign requests or console errors', async () => {
    await page.getByLabel('Preset').selectOption('int8');
    await page.getByRole('button', { name: 'Compress', exact: true }).click();
    await page.locator('#result').waitFor();
    assert.equal(await page.locator('#histogram-charts figure').count(), 0);
    assert.equal(await page.locator('#histogram-weight').inputValue(), '');
    const foreign = browser.requests.filter((u) => new URL(u).origin !== browser.origin && !u.startsWith('blob:'));
    assert.deepEqual(foreign, []);
    assert.deepEqual(browser.consoleErrors, []);
  });
});
