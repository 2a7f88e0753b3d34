// Node test of compressing in shares, as the page's pool of workers does (docs/wasm.md,
// "Several workers"): splitWeights splits the weights in two, precompute compresses each share
// into its own results file (in one module here; each worker has its own in the page), and
// compressWithResults splices them in. The zip equals `mlpress compress`'s byte for byte, and
// the report too, on the sample and on conformance fixtures (two functions sharing consts,
// nested blocks, iOS16 convs; tests/conformance/fixtures.py, coremltools; cached), for
// quantization, k-means palettization and pruning.
//
//   node --test tests/wasm/
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixturePaths, MLPRESS_BIN, mountHost, openModule, SAMPLE, skipUnlessBuilt } from './harness.mjs';

const FIXTURES = ['multifunction_ios18_fp16', 'while_loop_ios18_fp16', 'conv_ios16_fp16'];

const CONFIGS = {
  int8: { config_type: 'OpLinearQuantizerConfig', global_config: { dtype: 'int8', weight_threshold: 0 } },
  pal4: { config_type: 'OpPalettizerConfig', global_config: { nbits: 4, mode: 'kmeans', weight_threshold: 0 } },
  prune50: { config_type: 'OpMagnitudePrunerConfig', global_config: { target_sparsity: 0.5, weight_threshold: 0 } },
};

describe('wasm compress in shares', { skip: skipUnlessBuilt('simd') }, () => {
  let mod;
  let tmp;
  const packages = [];

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlpress-wasm-parallel-'));
    packages.push(SAMPLE, ...fixturePaths(FIXTURES));
    mod = await openModule('simd', [...packages.map((p) => path.dirname(p)), tmp]);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  // The page's two phases in one module: each share into its own file, then the splice.
  function splitCompress(input, out, text, parts, label) {
    const split = JSON.parse(mod.splitWeights(input, text, parts));
    assert.ok(split.splittable, split.reason);
    assert.equal(split.shares.length, parts);
    const all = split.shares.flat().sort((a, b) => a - b);
    assert.deepEqual(all, split.weights.map((w) => w.index).sort((a, b) => a - b), 'every weight in one share');
    const files = split.shares.map((share, i) => {
      const file = path.join(tmp, `${label}-share${i}.bin`);
      const calls = [];
      const answer = JSON.parse(mod.precompute(input, file, text, JSON.stringify(share), (p) => calls.push(p)));
      assert.equal(answer.written, share.length);
      assert.equal(calls.length, share.length + 1, 'one call per weight, then the end');
      assert.ok(calls.every((c) => c.total === share.length));
      return file;
    });
    return { split, report: JSON.parse(mod.compressWithResults(input, out, text, JSON.stringify(files))) };
  }

  for (const [tag, config] of Object.entries(CONFIGS)) {
    test(`${tag}: two shares give the CLI's zip and report`, () => {
      const text = JSON.stringify(config);
      const configFile = path.join(tmp, `${tag}.json`);
      fs.writeFileSync(configFile, text);
      for (const input of packages) {
        const label = `${tag}-${path.basename(input)}`;
        const cliOut = path.join(tmp, `${label}-cli.mlpackage.zip`);
        const run = spawnSync(MLPRESS_BIN, ['compress', input, cliOut, '--config', configFile, '--json'], {
          encoding: 'utf8',
          maxBuffer: 64 << 20,
        });
        assert.equal(run.status, 0, run.stderr);
        const { output, ...cliReport } = JSON.parse(run.stdout);
        assert.ok(output);
        // Both zips are named alike: the name is also the zip's top folder.
        fs.mkdirSync(path.join(tmp, label));
        const out = path.join(tmp, label, `${label}-cli.mlpackage.zip`);
        const { split, report } = splitCompress(input, out, text, 2, label);
        assert.ok(split.shares.every((s) => s.length > 0), `${label}: both shares have work`);
        assert.deepEqual(report, cliReport, label);
        assert.ok(report.weights.some((w) => w.compressed), label);
        assert.ok(fs.readFileSync(out).equals(fs.readFileSync(cliOut)), `${label}: byte for byte`);
      }
    });
  }

  test('a cancelled share throws "cancelled"; the module goes on', () => {
    const text = JSON.stringify(CONFIGS.int8);
    const split = JSON.parse(mod.splitWeights(SAMPLE, text, 2));
    let calls = 0;
    assert.throws(
      () => mod.precompute(SAMPLE, path.join(tmp, 'cancelled.bin'), text, JSON.stringify(split.shares[0]), () => calls++ < 1),
      /^Error: cancelled$/,
    );
    assert.equal(calls, 2);
    assert.equal(JSON.parse(mod.splitWeights(SAMPLE, text, 3)).shares.length, 3);
  });

  test('jobs of several steps and lossless rewrites are not split', () => {
    const job = JSON.stringify({ steps: [{ config: CONFIGS.pal4 }, { config: CONFIGS.int8 }] });
    const split = JSON.parse(mod.splitWeights(SAMPLE, job, 2));
    assert.equal(split.splittable, false);
    assert.deepEqual(split.shares, []);
    assert.match(split.reason, /several steps/);
    assert.equal(JSON.parse(mod.splitWeights(SAMPLE, '', 2)).splittable, false);
    assert.throws(
      () => mod.compressWithResults(SAMPLE, path.join(tmp, 'job.mlpackage.zip'), job, '[]'),
      /a single compression step that is not joint/,
    );
  });

  test('a config the weights refuse fails with the CLI\'s message on the split path too', () => {
    // A 2-element block_size on rank-4 conv weights (iOS18): coremltools' error.
    const [conv] = fixturePaths(['conv_ios18_fp16']);
    mountHost(mod, path.dirname(conv));
    const config = {
      config_type: 'OpLinearQuantizerConfig',
      global_config: { dtype: 'int8', granularity: 'per_block', block_size: [1, 8], weight_threshold: 0 },
    };
    const text = JSON.stringify(config);
    const configFile = path.join(tmp, 'bad-block.json');
    fs.writeFileSync(configFile, text);
    const run = spawnSync(MLPRESS_BIN, ['compress', conv, path.join(tmp, 'bad-block-cli.mlpackage.zip'), '--config', configFile], {
      encoding: 'utf8',
    });
    assert.equal(run.status, 1);
    const cliMessage = run.stderr.trim().replace(/^mlpress: error: /, '');
    let message;
    try {
      splitCompress(conv, path.join(tmp, 'bad-block.mlpackage.zip'), text, 2, 'bad-block');
    } catch (err) {
      message = err.message;
    }
    assert.equal(message, cliMessage);
    assert.ok(!fs.existsSync(path.join(tmp, 'bad-block.mlpackage.zip')), 'no output');
  });

  test('a bad config is the core\'s message, from splitWeights already', () => {
    const bad = JSON.stringify({ config_type: 'OpLinearQuantizerConfig', global_config: { dtype: 'int3' } });
    assert.throws(() => mod.splitWeights(SAMPLE, bad, 2), /int3/);
  });
});
