// Node test of the wasm compress binding with a job document of two steps (as `mlpress
// compress --config JOB` reads it): the zip equals the CLI's byte for byte, the report too;
// and plan refuses a job of several steps with a message saying so.
//
//   node --test tests/wasm/
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MLPRESS_BIN, openModule, SAMPLE, skipUnlessBuilt } from './harness.mjs';

// Step 1 palettizes the conv weights only; step 2 quantizes what is left (the classifier).
const JOB = JSON.stringify({
  steps: [
    {
      config: {
        config_type: 'OpPalettizerConfig',
        global_config: null,
        op_type_configs: { conv: { nbits: 4, mode: 'kmeans', weight_threshold: 100 } },
      },
    },
    { config: { config_type: 'OpLinearQuantizerConfig', global_config: { dtype: 'int8', weight_threshold: 100 } } },
  ],
});

describe('wasm compress with a job document', { skip: skipUnlessBuilt('simd') }, () => {
  let mod;
  let tmp;
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlpress-wasm-job-'));
    mod = await openModule('simd', [path.dirname(SAMPLE), tmp]);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('two steps: the CLI\'s zip and report', () => {
    const jobFile = path.join(tmp, 'job.json');
    fs.writeFileSync(jobFile, JOB);
    fs.mkdirSync(path.join(tmp, 'cli'));
    fs.mkdirSync(path.join(tmp, 'wasm'));
    const cliOut = path.join(tmp, 'cli', 'job.mlpackage.zip');
    const run = spawnSync(MLPRESS_BIN, ['compress', SAMPLE, cliOut, '--config', jobFile, '--json'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const cliReport = JSON.parse(run.stdout);
    const wasmOut = path.join(tmp, 'wasm', 'job.mlpackage.zip');
    const report = JSON.parse(mod.compress(SAMPLE, wasmOut, JOB));
    const { output, ...cliRest } = cliReport;
    assert.ok(output);
    assert.deepEqual(report, cliRest);
    const steps = new Set(report.weights.filter((w) => w.compressed).map((w) => w.op_type));
    assert.ok(steps.has('constexpr_lut_to_dense') && steps.has('constexpr_affine_dequantize'), [...steps].join());
    assert.ok(fs.readFileSync(wasmOut).equals(fs.readFileSync(cliOut)), 'byte for byte');
  });

  test('plan refuses a job of several steps', () => {
    assert.throws(() => mod.plan(SAMPLE, JOB), /a plan covers one compression step; this job has 2/);
  });
});
