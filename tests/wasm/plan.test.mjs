// Node tests of the wasm plan binding (the dry run of compress): for each config, the plan
// names the same weights, compressed or skipped for the same reasons, with the same op types,
// as `mlpress compress --json` run for real; its expected sizes equal the sizes the real run
// stored (within 1% above them for pruning, where they are an upper bound); and a config the run refuses is refused by the plan with the same message.
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
  int8: 'config_type: OpLinearQuantizerConfig\nglobal_config:\n  dtype: int8\n  granularity: per_channel\n  weight_threshold: 100\n',
  uint8_tensor: 'config_type: OpLinearQuantizerConfig\nglobal_config:\n  mode: linear\n  dtype: uint8\n  granularity: per_tensor\n  weight_threshold: 100\n',
  pal4: 'config_type: OpPalettizerConfig\nglobal_config:\n  nbits: 4\n  mode: kmeans\n  weight_threshold: 100\nop_name_configs:\n  conv2_weight_0_to_fp16: null\n',
  prune50: 'config_type: OpMagnitudePrunerConfig\nglobal_config:\n  target_sparsity: 0.5\n  weight_threshold: 100\n',
  default_threshold: 'config_type: OpPalettizerConfig\nglobal_config:\n  nbits: 6\n  mode: kmeans\n',
};

let tmp;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlpress-wasm-plan-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cli(config, name) {
  const file = path.join(tmp, `${name}.yaml`);
  fs.writeFileSync(file, config);
  return spawnSync(MLPRESS_BIN, ['compress', SAMPLE, path.join(tmp, `${name}.mlpackage.zip`), '--config', file, '--json'], {
    encoding: 'utf8',
  });
}

describe('wasm plan', { skip: skipUnlessBuilt('simd') }, () => {
  let mod;
  before(async () => {
    mod = await openModule('simd', [path.dirname(SAMPLE)]);
  });

  for (const [name, config] of Object.entries(CONFIGS)) {
    test(`${name}: the plan is what the real run does`, (t) => {
      const run = cli(config, name);
      assert.equal(run.status, 0, run.stderr);
      const report = JSON.parse(run.stdout);
      const plan = JSON.parse(mod.plan(SAMPLE, config));
      assert.deepEqual(
        plan.weights.map((w) => [w.name, w.op_name, w.compressed, w.compressed ? w.op_type : w.reason, w.config_from, w.dense_bytes]),
        report.weights.map((w) => [w.name, w.op_name, w.compressed, w.compressed ? w.op_type : w.reason, w.config_from, w.dense_bytes]),
      );
      let expected = 0;
      let stored = 0;
      for (const [i, w] of report.weights.entries()) {
        if (!w.compressed) continue;
        const planned = plan.weights[i].expected_bytes;
        if (w.op_type === 'constexpr_sparse_to_dense') {
          // An upper bound: kept values that are zero already are not stored.
          assert.ok(planned >= w.stored_bytes && planned <= w.stored_bytes * 1.01, `${w.name}: ${planned} vs ${w.stored_bytes}`);
        } else {
          assert.equal(planned, w.stored_bytes, `${w.name}: expected = stored`);
        }
        expected += plan.weights[i].expected_bytes;
        stored += w.stored_bytes;
      }
      assert.equal(plan.expected_bytes, expected);
      assert.equal(plan.unknown, 0);
      t.diagnostic(`${report.weights.filter((w) => w.compressed).length} compressed; ${stored} bytes stored`);
    });
  }

  test('lossless: nothing planned', () => {
    assert.deepEqual(JSON.parse(mod.plan(SAMPLE, '')), { dense_bytes: 0, expected_bytes: 0, unknown: 0, weights: [] });
  });

  test('a config the run refuses (per_block on iOS16) is refused with the same message', () => {
    const config = 'config_type: OpLinearQuantizerConfig\nglobal_config:\n  dtype: int4\n  granularity: per_block\n  block_size: 32\n';
    const run = cli(config, 'int4');
    assert.equal(run.status, 1);
    const message = run.stderr.trim().replace(/^mlpress: error: /, '');
    assert.throws(() => mod.plan(SAMPLE, config), (err) => err.message === message);
  });
});
