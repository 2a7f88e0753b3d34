// Node tests of the size slider's bindings (wasm/plan_bindings.cc) against the native CLI:
// sensitivity(path) equals `mlpress sensitivity --json`; planForSize(path, target, options)
// equals `mlpress plan --json` for targets given as bytes, as percentages, and none (the
// smallest plan, the CLI's --min-snr -inf), with and without the first/last rule and an SNR
// floor; compress with the plan's configs as a job document writes what `mlpress compress
// --auto` writes, within the target. Run on the sample and on conformance fixtures (built by
// tests/conformance/fixtures.py, coremltools; cached).
//
//   node --test tests/wasm/
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixturePaths, MLPRESS_BIN, openModule, SAMPLE, skipUnlessBuilt } from './harness.mjs';

// iOS18 with two functions sharing consts (every choice available; items of several weights),
// and iOS16 conv weights (no iOS18-only choices).
const FIXTURES = ['multifunction_ios18_fp16', 'conv_ios16_fp16'];

function cli(args) {
  const run = spawnSync(MLPRESS_BIN, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(run.status, 0, `mlpress ${args.join(' ')}: ${run.stderr}`);
  return run.stdout;
}

// The job document the page sends to compress: one step per config, in the plan's order.
function jobText(plan) {
  return JSON.stringify({ steps: plan.configs.map((config) => ({ config })) });
}

describe('wasm size plan', { skip: skipUnlessBuilt('simd') }, () => {
  let mod;
  let tmp;
  const packages = [];

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlpress-wasm-size-'));
    packages.push(SAMPLE, ...fixturePaths(FIXTURES));
    // The same paths in the module as on disk, so the reports' "package" fields agree.
    mod = await openModule('simd', [...packages.map((p) => path.dirname(p)), tmp]);
  });
  after(() => tmp && fs.rmSync(tmp, { recursive: true, force: true }));

  test('planForSize before sensitivity, and after forgetSensitivity, is refused', () => {
    assert.throws(() => mod.planForSize(SAMPLE, '90%', ''), /no sensitivity analysis/);
    mod.sensitivity(SAMPLE, '');
    assert.ok(JSON.parse(mod.planForSize(SAMPLE, '90%', '')).target_bytes > 0);
    mod.forgetSensitivity(SAMPLE);
    assert.throws(() => mod.planForSize(SAMPLE, '90%', ''), /no sensitivity analysis/);
    assert.throws(() => mod.sensitivity(SAMPLE, '{"weight_treshold": 10}'), /unknown key "weight_treshold"/);
  });

  test('progress: one call per weight and a last one; false cancels', () => {
    const calls = [];
    mod.sensitivity(SAMPLE, '', (p) => {
      calls.push(p);
    });
    const weights = JSON.parse(cli(['sensitivity', SAMPLE, '--json'])).weights.length;
    assert.equal(calls.length, weights + 1);
    assert.deepEqual(calls.at(-1), { done: weights, total: weights, weight: '' });
    assert.throws(() => mod.sensitivity(SAMPLE, '', () => false), /cancel/i);
    assert.throws(() => mod.planForSize(SAMPLE, null, ''), /no sensitivity analysis/, 'a cancelled analysis is not kept');
  });

  for (const [index, label] of ['sample', ...FIXTURES].entries()) {
    test(`${label}: sensitivity and plans equal the CLI's`, (t) => {
      const pkg = packages[index];
      const wasmReport = JSON.parse(mod.sensitivity(pkg, ''));
      const nativeReport = JSON.parse(cli(['sensitivity', pkg, '--json']));
      assert.deepEqual(roundSnr(wasmReport), roundSnr(nativeReport));
      assert.ok(wasmReport.weights.length > 0);

      // The slider's ends: the smallest plan for the options (the CLI's --min-snr, -inf for
      // none, without a target) and the dense size.
      const dense = wasmReport.weight_file_bytes;
      const ends = {};
      for (const [options, flags] of [
        ['', []],
        ['{"keep_first_last": false}', ['--no-keep-first-last']],
        ['{"min_snr_db": 25}', []],
      ]) {
        const smallest = JSON.parse(mod.planForSize(pkg, null, options));
        const snr = options.includes('min_snr_db') ? '25' : '-inf';
        const native = JSON.parse(cli(['plan', pkg, '--min-snr', snr, ...flags, '--json']));
        assert.deepEqual(roundSnr(smallest), roundSnr(withoutPackage(native)), `smallest plan ${options}`);
        ends[options] = smallest.predicted_file_bytes;
      }
      const between = (options, f) => Math.round(ends[options] + (dense - ends[options]) * f);
      // Targets from the smallest plan to the dense size, as the slider goes; as bytes and text.
      const cases = [
        [ends[''], '', []],
        [between('', 0.3), '', []],
        ['95%', '', []],
        [dense, '', []],
        [between('{"keep_first_last": false}', 0.1), '{"keep_first_last": false}', ['--no-keep-first-last']],
        [between('{"keep_first_last": false}', 0.5), '{"keep_first_last": false}', ['--no-keep-first-last']],
        [between('{"min_snr_db": 25}', 0.2), '{"min_snr_db": 25}', ['--min-snr', '25']],
      ];
      for (const [target, options, flags] of cases) {
        const plan = JSON.parse(mod.planForSize(pkg, target, options));
        const native = JSON.parse(cli(['plan', pkg, '--target-size', String(target), ...flags, '--json']));
        assert.deepEqual(roundSnr(plan), roundSnr(withoutPackage(native)), `target ${target} ${options}`);
        assert.ok(plan.predicted_file_bytes <= plan.target_bytes);
      }
      const smallest = { predicted_file_bytes: ends[''] };
      assert.throws(() => mod.planForSize(pkg, smallest.predicted_file_bytes - 64, ''), /below the smallest plan/);
      t.diagnostic(`${wasmReport.weights.length} weights; ${smallest.predicted_file_bytes} to ${dense} bytes`);
    });

    test(`${label}: compressing with the plan's job document writes what compress --auto writes`, () => {
      const pkg = packages[index];
      mod.sensitivity(pkg, '');
      const smallest = JSON.parse(mod.planForSize(pkg, null, '{"keep_first_last": false}')).predicted_file_bytes;
      const target = Math.round(smallest + (JSON.parse(mod.planForSize(pkg, '100%', '')).target_bytes - smallest) * 0.4);
      const plan = JSON.parse(mod.planForSize(pkg, target, '{"keep_first_last": false}'));
      assert.ok(plan.configs.length > 0, 'the plan compresses something');
      const out = path.join(tmp, `${label}-wasm.mlpackage.zip`);
      const report = JSON.parse(mod.compress(pkg, out, jobText(plan)));
      const nativeOut = path.join(tmp, `${label}-native.mlpackage.zip`);
      const native = JSON.parse(cli(['compress', '--auto', '--target-size', String(target), '--no-keep-first-last', pkg, nativeOut, '--json']));
      assert.deepEqual(roundSnr(native.plan), roundSnr(withoutPackage(plan, ['configs', 'config_files'])));
      assert.deepEqual(roundSnr(report.weights), roundSnr(native.weights));
      assert.equal(report.blob_bytes_written, native.blob_bytes_written);
      assert.ok(report.blob_bytes_written <= plan.target_bytes, `${report.blob_bytes_written} > ${plan.target_bytes}`);
      // The written package loads: the native inspect reads it.
      const inspected = JSON.parse(cli(['inspect', out, '--json']));
      assert.equal(inspected.totals.weights, JSON.parse(cli(['inspect', nativeOut, '--json'])).totals.weights);
    });
  }
});

// SNRs are 10 log10(...) of equal numbers, and wasm's log10 (musl) may differ from glibc's in
// the last bit: compared to 12 significant digits. Every other number must be equal.
function roundSnr(value) {
  if (Array.isArray(value)) return value.map(roundSnr);
  if (value === null || typeof value !== 'object') return value;
  const out = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = key === 'snr_db' && typeof v === 'number' ? Number(v.toPrecision(12)) : roundSnr(v);
  }
  return out;
}

function withoutPackage(json, more = []) {
  const copy = { ...json };
  delete copy.package;
  for (const key of more) delete copy[key];
  return copy;
}
