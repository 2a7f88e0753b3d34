// Node tests of the wasm histogram binding: for every weight each config compresses in the
// sample, histogram(in, out, weight, bins) equals `mlpress histogram IN WEIGHT --after OUT
// --bins N --json` (the native CLI: the same counts, range, names and op types); an unknown
// weight throws the CLI's message, bad bin counts throw, and the module works afterwards.
//
//   node --test tests/wasm/
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MLPRESS_BIN, openModule, SAMPLE, skipUnlessBuilt } from './harness.mjs';

const CONFIGS = {
  int8: ['--quantize', 'int8', '--weight-threshold', '100'],
  pal4: ['--palettize', '4', '--weight-threshold', '100'],
  prune50: ['--prune', '0.5', '--weight-threshold', '100'],
};

let tmp;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlpress-wasm-histogram-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cli(...args) {
  return spawnSync(MLPRESS_BIN, args, { encoding: 'utf8' });
}

for (const variant of ['simd', 'baseline']) {
  describe(`wasm histogram (${variant})`, { skip: skipUnlessBuilt(variant) }, () => {
    let mod;
    before(async () => {
      mod = await openModule(variant, [path.dirname(SAMPLE), tmp]);
    });

    for (const [name, args] of Object.entries(CONFIGS)) {
      test(`${name}: every compressed weight's histograms equal the CLI's`, () => {
        const out = path.join(tmp, `${variant}-${name}.mlpackage.zip`);
        const run = cli('compress', SAMPLE, out, ...args, '--json');
        assert.equal(run.status, 0, run.stderr);
        const weights = JSON.parse(run.stdout).weights.filter((w) => w.compressed);
        assert.ok(weights.length >= 3, 'the config compressed the sample');
        for (const { name: weight } of weights) {
          for (const bins of [1, 24, 64]) {
            const native = cli('histogram', SAMPLE, weight, '--after', out, '--bins', String(bins), '--json');
            assert.equal(native.status, 0, native.stderr);
            const ours = JSON.parse(mod.histogram(SAMPLE, out, weight, bins));
            assert.deepEqual(ours, JSON.parse(native.stdout), `${weight}, ${bins} bins`);
            assert.equal(ours.after.counts.length, bins);
            assert.deepEqual(ours.after.range, ours.before.range);
          }
        }
      });
    }

    test('errors are JS Errors with the CLI message; the module goes on working', () => {
      const out = path.join(tmp, `${variant}-pal4.mlpackage.zip`);
      const native = cli('histogram', SAMPLE, 'no_such_weight', '--after', out, '--json');
      assert.equal(native.status, 1);
      const message = native.stderr.replace(/^mlpress: error: /, '').trim();
      assert.throws(() => mod.histogram(SAMPLE, out, 'no_such_weight', 64), (err) => {
        assert.ok(err instanceof Error);
        assert.equal(err.message, message);
        return true;
      });
      for (const bins of [0, 2.5, -1, Number.NaN]) {
        assert.throws(() => mod.histogram(SAMPLE, out, 'conv2_weight_0_to_fp16', bins), /bins must be a whole number/);
      }
      const ok = JSON.parse(mod.histogram(SAMPLE, out, 'conv2_weight_0_to_fp16', 8));
      assert.equal(ok.before.total, 4608);
    });
  });
}
