// Node tests of the wasm compress binding's progress callback: the calls it makes (checked
// against the native CLI's report for the same config), cancelling by returning false (no
// output left), and an exception thrown by the callback (cancels, rethrown as it was).
//
//   node --test tests/wasm/
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadModule, MLPRESS_BIN, mountHost, requireCli, SAMPLE, skipUnlessBuilt } from './harness.mjs';
// weight_threshold 100: most of the sample's weights are compressed, so there are several
// progress calls.
const CONFIG = 'config_type: OpPalettizerConfig\nglobal_config:\n  nbits: 4\n  mode: kmeans\n  weight_threshold: 100\n';

let tmp;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlpress-wasm-progress-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cliReport() {
  requireCli();
  const config = path.join(tmp, 'pal4.yaml');
  fs.writeFileSync(config, CONFIG);
  const run = spawnSync(MLPRESS_BIN, ['compress', SAMPLE, path.join(tmp, 'cli.mlpackage.zip'), '--config', config, '--json'], {
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout);
}

for (const variant of ['simd', 'baseline']) {
  describe(`wasm ${variant}: compress progress`, { skip: skipUnlessBuilt(variant) }, () => {
    let mod;
    before(async () => {
      mod = await loadModule(variant);
      mountHost(mod, path.dirname(SAMPLE));
      mod.FS.mkdir('/out');
    });

    const outExists = (p) => {
      try {
        mod.FS.stat(p);
        return true;
      } catch {
        return false;
      }
    };

    test('one call before each compressed weight, in order, then one before writing', () => {
      const calls = [];
      const report = JSON.parse(mod.compress(SAMPLE, '/out/a.mlpackage.zip', CONFIG, (p) => calls.push(p)));
      const compressed = cliReport().weights.filter((w) => w.compressed).map((w) => w.name);
      assert.ok(compressed.length >= 3, 'the config compresses several weights');
      assert.deepEqual(report.weights.filter((w) => w.compressed).map((w) => w.name), compressed);
      const n = compressed.length;
      assert.deepEqual(calls, [
        ...compressed.map((weight, i) => ({ done: i, total: n, weight })),
        { done: n, total: n, weight: '' },
      ]);
      assert.ok(outExists('/out/a.mlpackage.zip'));
      mod.FS.unlink('/out/a.mlpackage.zip');
    });

    test('returning false cancels: Error("cancelled"), and no output', () => {
      let count = 0;
      assert.throws(
        () => mod.compress(SAMPLE, '/out/b.mlpackage.zip', CONFIG, () => ++count < 2),
        (err) => err instanceof Error && err.message === 'cancelled',
      );
      assert.equal(count, 2, 'no call after the one that said stop');
      assert.deepEqual(mod.FS.readdir('/out').filter((e) => e !== '.' && e !== '..'), []);
    });

    test('an exception from the callback cancels and is rethrown as it was', () => {
      const mine = new RangeError('stop here');
      assert.throws(
        () => mod.compress(SAMPLE, '/out/c.mlpackage.zip', CONFIG, () => {
          throw mine;
        }),
        (err) => err === mine,
      );
      assert.deepEqual(mod.FS.readdir('/out').filter((e) => e !== '.' && e !== '..'), []);
      // A later failure is the core's own again, not the stale callback error.
      assert.throws(() => mod.compress('/no/such.mlpackage.zip', '/out/d.mlpackage.zip', '', () => true), /no\/such/);
    });

    test('the module works after a cancel; without a callback compress is unchanged', () => {
      const withCallback = JSON.parse(mod.compress(SAMPLE, '/out/e.mlpackage.zip', CONFIG, () => true));
      const a = mod.FS.readFile('/out/e.mlpackage.zip');
      const without = JSON.parse(mod.compress(SAMPLE, '/out/f.mlpackage.zip', CONFIG));
      const b = mod.FS.readFile('/out/f.mlpackage.zip');
      assert.deepEqual(withCallback.weights, without.weights);
      assert.equal(a.length, b.length);
    });
  });
}
