// Browser tests of the presets that need an iOS18 model, on the bundled transformer sample
// (sample/transformer.mlpackage.zip, scripts/make_sample.py --model transformer): the two
// two-step presets (prune 50% then palettize 4-bit, joint; int4 per-block 32 with the
// embeddings palettized) and the one-step int4 ones. Each download must equal `mlpress
// compress` with the same job byte for byte; the two-step ones must also load in coremltools
// and hold the same constexpr ops as coremltools' own calls in sequence
// (tests/e2e/check_with_coremltools.py), as must the one-step int4 ones. The presets are off,
// saying why, for the iOS16 sample.
//
//   node --test tests/e2e/presets.test.mjs
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, TRANSFORMER_SAMPLE, checkPrerequisites, compressOnPageAndCli, makeTmp, native, openBrowser } from './harness.mjs';

const IOS18_PRESETS = ['int4', 'transformer', 'tfm-pal', 'prune-pal4'];

describe('the iOS18 presets on the transformer sample', () => {
  let tmp;
  let browser;
  let page;

  before(async () => {
    checkPrerequisites();
    tmp = makeTmp('mlpress-e2e-presets-');
    browser = await openBrowser(tmp);
    page = browser.page;
    await page.goto(`${browser.origin}/`);
    await page.locator('#status', { hasText: 'Ready' }).waitFor();
  });

  after(async () => {
    if (browser) await browser.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function openTransformer() {
    await page.getByRole('button', { name: 'Try the transformer sample (iOS18)' }).click();
    await page.locator('#status', { hasText: 'Opened transformer.mlpackage.zip' }).waitFor();
  }

  // Compresses with the chosen preset, downloads, and compares with the CLI running the same
  // text; returns the download's path, the config file and the CLI's report.
  async function compressAndCompare(expectedName) {
    const { config, fromPage, pageBytes, cliBytes: bytes, report } =
      await compressOnPageAndCli(page, tmp, TRANSFORMER_SAMPLE, expectedName);
    assert.ok(pageBytes.equals(bytes), `${expectedName}: the page's zip equals the CLI's byte for byte`);
    // The results table: the report's rows (one per weight and step), in order.
    const rows = await page.locator('#results-table tbody tr[data-name]').evaluateAll((trs) =>
      trs.map((tr) => [tr.dataset.name, tr.dataset.compressed === 'true', tr.children[1].textContent]),
    );
    assert.deepEqual(rows, report.weights.map((w) => [w.name, Boolean(w.compressed), w.compressed ? w.op_type : 'kept dense']));
    const configFile = path.join(tmp, `${expectedName}.yaml`);
    fs.writeFileSync(configFile, config);
    return { fromPage, configFile, report };
  }

  function checkWithCoremltools(t, output, configFile) {
    const run = spawnSync('python3', [path.join(ROOT, 'tests', 'e2e', 'check_with_coremltools.py'), TRANSFORMER_SAMPLE, output, configFile], {
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, `coremltools check: ${run.stderr.split('\n').filter((l) => !/Running|Failed to load/.test(l)).join('\n')}`);
    const summary = JSON.parse(run.stdout.trim().split('\n').pop());
    t.diagnostic(`coremltools: ${JSON.stringify(summary)}`);
    return summary;
  }

  test('the transformer sample opens as an iOS18 model, with every preset on', async () => {
    await openTransformer();
    const report = JSON.parse(native(['inspect', TRANSFORMER_SAMPLE, '--json']).stdout.toString());
    assert.equal(report.model.specification_version, 9);
    await page.getByLabel('Hide constants of fewer than 10 elements').uncheck();
    const names = await page.locator('#weight-table tbody tr[data-name]').evaluateAll((rows) => rows.map((r) => r.dataset.name));
    assert.deepEqual(names, report.weights.map((w) => w.name));
    assert.match(await page.locator('#summary').innerText(), /CoreML8/);
    for (const value of IOS18_PRESETS) assert.ok(await page.locator(`#preset option[value="${value}"]`).isEnabled(), value);
    assert.ok(await page.locator('#preset-availability').isHidden());
  });

  test('“prune 50% then palettize 4-bit”: the CLI\'s zip, and coremltools\' prune then joint palettize', async (t) => {
    await page.getByLabel('Preset').selectOption({ label: 'prune 50% then palettize 4-bit (iOS18)' });
    const { fromPage, configFile, report } = await compressAndCompare('transformer-prune50-pal4.mlpackage.zip');
    const compressed = report.weights.filter((w) => w.compressed);
    assert.deepEqual([...new Set(compressed.map((w) => `${w.step}:${w.op_type}`))], ['1:constexpr_sparse_to_dense', '2:constexpr_lut_to_sparse']);
    assert.equal(compressed.filter((w) => w.step === 1).length, 8, 'the 8 weight matrices, embedding included');
    const summary = checkWithCoremltools(t, fromPage, configFile);
    assert.deepEqual(summary.constexpr, { constexpr_lut_to_sparse: 8, constexpr_sparse_to_dense: 8 });
    // The same job as the CLI's repeated --config (every step after the first joint).
    const prune = path.join(tmp, 'prune50.yaml');
    const pal4 = path.join(tmp, 'pal4.yaml');
    fs.writeFileSync(prune, 'config_type: OpMagnitudePrunerConfig\nglobal_config:\n  target_sparsity: 0.5\n');
    fs.writeFileSync(pal4, 'config_type: OpPalettizerConfig\nglobal_config:\n  nbits: 4\n  mode: kmeans\n');
    const twoConfigs = path.join(tmp, 'two-configs', path.basename(fromPage));
    fs.mkdirSync(path.dirname(twoConfigs), { recursive: true });
    const run = native(['compress', TRANSFORMER_SAMPLE, twoConfigs, '--config', prune, '--config', pal4]);
    assert.equal(run.status, 0, run.stderr);
    assert.ok(fs.readFileSync(twoConfigs).equals(fs.readFileSync(fromPage)), 'equal to --config prune --config pal4');
  });

  test('“transformer: int4 per-block 32, embeddings palettized”: the CLI\'s zip, and coremltools\' two calls', async (t) => {
    await page.getByLabel('Preset').selectOption({ label: 'transformer: int4 per-block 32, embeddings palettized 6-bit (iOS18)' });
    assert.match(await page.locator('#preset-note').innerText(), /Embeddings palettized: embed_tokens_x_0_to_fp16/);
    const { fromPage, configFile, report } = await compressAndCompare('transformer-tfm-int4-pal6.mlpackage.zip');
    const compressed = report.weights.filter((w) => w.compressed).map((w) => [w.step, w.name, w.op_type]);
    assert.deepEqual(compressed.filter(([step]) => step === 2), [[2, 'embed_tokens_x_0_to_fp16', 'constexpr_lut_to_dense']]);
    assert.equal(compressed.filter(([step, , type]) => step === 1 && type === 'constexpr_blockwise_shift_scale').length, 7);
    const summary = checkWithCoremltools(t, fromPage, configFile);
    assert.deepEqual(summary.constexpr, { constexpr_blockwise_shift_scale: 7, constexpr_lut_to_dense: 1 });
    assert.equal(summary.exact, 7, 'the int4 weights decode exactly as coremltools\'');
  });

  for (const [label, tag] of [
    ['int4 per-block 32 (iOS18)', 'int4'],
    ['transformer: int4 per-block 32 (iOS18), embeddings kept dense', 'tfm-int4'],
  ]) {
    test(`“${label}” gives the CLI's zip, and coremltools' linear_quantize_weights`, async (t) => {
      await page.getByLabel('Preset').selectOption({ label });
      const { fromPage, configFile, report } = await compressAndCompare(`transformer-${tag}.mlpackage.zip`);
      assert.ok(report.weights.some((w) => w.op_type === 'constexpr_blockwise_shift_scale'));
      const summary = checkWithCoremltools(t, fromPage, configFile);
      const quantized = tag === 'int4' ? 8 : 7; // the embedding table too, or kept dense
      assert.deepEqual(summary.constexpr, { constexpr_blockwise_shift_scale: quantized });
      assert.equal(summary.exact, 8, 'all 8 weight matrices (dense or int4) decode bit-equal to coremltools\'');
    });
  }

  test('opening the iOS16 sample turns the iOS18 presets off, saying why, and picks int8', async () => {
    await page.getByLabel('Preset').selectOption({ label: 'prune 50% then palettize 4-bit (iOS18)' });
    await page.getByRole('button', { name: 'Try the sample model' }).click();
    await page.locator('#status', { hasText: 'Opened sample.mlpackage.zip' }).waitFor();
    assert.equal(await page.getByLabel('Preset').inputValue(), 'int8');
    for (const value of IOS18_PRESETS) {
      const option = page.locator(`#preset option[value="${value}"]`);
      assert.ok(await option.isDisabled(), value);
      assert.match(await option.textContent(), /needs an iOS18 model; this one targets iOS16 \(opset CoreML6\)$/);
    }
    assert.match(await page.locator('#preset-availability').innerText(), /targets iOS16/);
    // And back on for the transformer, with their plain labels.
    await openTransformer();
    for (const value of IOS18_PRESETS) {
      const option = page.locator(`#preset option[value="${value}"]`);
      assert.ok(await option.isEnabled(), value);
      assert.doesNotMatch(await option.textContent(), /needs/);
    }
  });

  test('every request went to the local origin, with no console errors', () => {
    const foreign = browser.requests.filter((u) => new URL(u).origin !== browser.origin);
    assert.deepEqual(foreign, []);
    assert.deepEqual(browser.consoleErrors, []);
  });
});
