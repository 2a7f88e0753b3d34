// Node test of the wasm build's linear quantization kernels: the benchmark binary's --check mode
// (bench/quantize_kernels.cc) compares the simd128 kernels (and the baseline build's portable
// ones) with the scalar reference, bit for bit, on every finite binary16 value with and without
// infinity and NaN, over segment lengths, scales, zero points and code ranges. The C++ unit
// tests run natively only, so this is where the wasm-only code paths are checked.
//
//   node --test tests/wasm/
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUILD = path.resolve(ROOT, process.env.MLPRESS_WASM_BUILD_DIR || 'build-wasm');

for (const variant of ['simd', 'baseline']) {
  const bench = path.join(BUILD, `mlpress-bench-kernels-${variant}.cjs`);
  test(`${variant} kernels match the scalar reference`, { skip: !fs.existsSync(bench) && `${bench} not built` }, () => {
    const run = spawnSync(process.execPath, [bench, '--check'], { encoding: 'utf8' });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, / 0 mismatches/);
  });
}
