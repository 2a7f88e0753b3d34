// Node tests of the wasm build: both variants (SIMD and baseline) must give what the native
// CLI gives, and report failures as JS Errors naming the file.
//
//   node --test tests/wasm/
//
// Needs build-wasm/ (scripts/build_wasm.sh) and the native CLI (scripts/build.sh).
// MLPRESS_WASM_BUILD_DIR and MLPRESS_BIN override where they are looked for.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BUILD, loadModule, MLPRESS_BIN, mountHost, requireCli, SAMPLE } from './harness.mjs';

const VARIANTS = ['simd', 'baseline'];

function native(args, options = {}) {
  requireCli();
  return spawnSync(MLPRESS_BIN, args, { encoding: 'buffer', ...options });
}

// Zip bytes with every entry's DOS modification time and date zeroed (local headers and
// central directory): the writer stamps entries with the current time.
function maskZipTimes(buf) {
  const out = Buffer.from(buf);
  let eocd = -1;
  for (let i = out.length - 22; i >= Math.max(0, out.length - 22 - 65535); i--) {
    if (out.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  assert.ok(eocd >= 0, 'no end-of-central-directory record');
  const count = out.readUInt16LE(eocd + 10);
  let p = out.readUInt32LE(eocd + 16);
  for (let n = 0; n < count; n++) {
    assert.equal(out.readUInt32LE(p), 0x02014b50, `central header ${n}`);
    const local = out.readUInt32LE(p + 42);
    assert.equal(out.readUInt32LE(local), 0x04034b50, `local header ${n}`);
    out.fill(0, p + 12, p + 16);
    out.fill(0, local + 10, local + 14);
    p += 46 + out.readUInt16LE(p + 28) + out.readUInt16LE(p + 30) + out.readUInt16LE(p + 32);
  }
  return out;
}

let tmp;
before(() => {
  assert.ok(fs.existsSync(SAMPLE), `${SAMPLE} is missing`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlpress-wasm-test-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

for (const variant of VARIANTS) {
  describe(`wasm ${variant}`, () => {
    let mod;
    before(async () => {
      mod = await loadModule(variant, { explicitBinary: true });
      mountHost(mod, path.dirname(SAMPLE));
      mountHost(mod, tmp);
    });

    test('inspect gives the native CLI\'s JSON, byte for byte', () => {
      const cli = native(['inspect', SAMPLE, '--json']);
      assert.equal(cli.status, 0, cli.stderr.toString());
      assert.equal(mod.inspect(SAMPLE, 2) + '\n', cli.stdout.toString());
      // the one-argument form is the same report, compact
      assert.deepEqual(JSON.parse(mod.inspect(SAMPLE)), JSON.parse(cli.stdout.toString()));
    });

    test('a corrupt package throws a JS Error naming the file', () => {
      const bad = path.join(tmp, `not-a-zip-${variant}.zip`);
      fs.writeFileSync(bad, 'this is a text file, not a zip archive\n');
      const cli = native(['inspect', bad, '--json']);
      assert.notEqual(cli.status, 0);
      let caught;
      assert.throws(() => mod.inspect(bad), (e) => { caught = e; return true; });
      assert.ok(caught instanceof Error, `threw ${typeof caught} ${caught}, not an Error`);
      assert.ok(caught.message.includes(bad), `message does not name the file: ${caught.message}`);
      assert.equal(`mlpress: error: ${caught.message}\n`, cli.stderr.toString());
    });

    test('a missing file throws a JS Error naming it, and the module still works', () => {
      const missing = path.join(tmp, 'no-such-package.zip');
      assert.throws(() => mod.inspect(missing),
                    (e) => e instanceof Error && e.message.includes(missing));
      assert.throws(() => mod.rewrite(missing, path.join(tmp, 'never.mlpackage.zip')),
                    (e) => e instanceof Error && e.message.includes(missing));
      assert.throws(() => mod.throwErrorForTest('boom'),
                    (e) => e instanceof Error && e.message === 'boom');
      JSON.parse(mod.inspect(SAMPLE));  // still alive after the errors
    });

    test('rewrite writes the same zip as `mlpress compress`', () => {
      // Same file name in two folders: the zip's top folder is named after the output file.
      const wasmDir = path.join(tmp, `wasm-${variant}`);
      const nativeDir = path.join(tmp, `native-${variant}`);
      fs.mkdirSync(wasmDir);
      fs.mkdirSync(nativeDir);
      const wasmOut = path.join(wasmDir, 'out.mlpackage.zip');
      const nativeOut = path.join(nativeDir, 'out.mlpackage.zip');

      const report = mod.rewrite(SAMPLE, wasmOut);
      const cli = native(['compress', SAMPLE, nativeOut]);
      assert.equal(cli.status, 0, cli.stderr.toString());

      const wasmBytes = fs.readFileSync(wasmOut);
      const nativeBytes = fs.readFileSync(nativeOut);
      assert.equal(report.outputBytes, wasmBytes.length);
      assert.ok(report.blobsWritten > 0);
      assert.ok(report.blobBytesWritten > 0);
      assert.match(cli.stdout.toString(),
                   new RegExp(`\\(${report.outputBytes} bytes, ${report.blobsWritten} blobs;`));
      // Byte-identical but for the entries' timestamps.
      assert.ok(maskZipTimes(wasmBytes).equals(maskZipTimes(nativeBytes)),
                'wasm and native output zips differ beyond timestamps');
      // and the output reads back the same in both
      const back = native(['inspect', wasmOut, '--json']);
      assert.equal(back.status, 0, back.stderr.toString());
      assert.equal(mod.inspect(wasmOut, 2) + '\n', back.stdout.toString());
    });

    test('compress with a coremltools config gives the native CLI\'s package and report', () => {
      const wasmDir = path.join(tmp, `wasm-q-${variant}`);
      const nativeDir = path.join(tmp, `native-q-${variant}`);
      fs.mkdirSync(wasmDir);
      fs.mkdirSync(nativeDir);
      const config = 'config_type: OpLinearQuantizerConfig\n' +
                     'global_config: {dtype: int8, granularity: per_channel, weight_threshold: 100}\n';
      const configFile = path.join(nativeDir, 'config.yaml');
      fs.writeFileSync(configFile, config);
      const wasmOut = path.join(wasmDir, 'q.mlpackage.zip');
      const nativeOut = path.join(nativeDir, 'q.mlpackage.zip');

      const report = JSON.parse(mod.compress(SAMPLE, wasmOut, config));
      const cli = native(['compress', SAMPLE, nativeOut, '--config', configFile, '--json']);
      assert.equal(cli.status, 0, cli.stderr.toString());
      const nativeReport = JSON.parse(cli.stdout.toString());
      delete nativeReport.output;
      assert.deepEqual(report, nativeReport);
      assert.ok(report.weights.some((w) => w.compressed), 'nothing was compressed');
      assert.ok(maskZipTimes(fs.readFileSync(wasmOut)).equals(maskZipTimes(fs.readFileSync(nativeOut))),
                'wasm and native compressed zips differ beyond timestamps');
    });

    test('compress refuses a bad config with a JS Error naming the field', () => {
      const out = path.join(tmp, `bad-${variant}.mlpackage.zip`);
      assert.throws(() => mod.compress(SAMPLE, out, '{"config_type": "OpLinearQuantizerConfig", ' +
                                       '"global_config": {"dtype": "int3"}}'),
                    (e) => e instanceof Error && /int3/.test(e.message));
      assert.ok(!fs.existsSync(out));
    });
  });
}

test('the module finds its .wasm by itself under Node.js', async () => {
  const mod = await loadModule('baseline', { explicitBinary: false });
  mountHost(mod, path.dirname(SAMPLE));
  assert.equal(JSON.parse(mod.inspect(SAMPLE)).path, SAMPLE);
});

test('only the SIMD variant uses SIMD instructions', () => {
  // binaryen's wasm-opt (a dependency of Debian's emscripten) validates a module against a
  // feature set: the baseline must pass without SIMD, the SIMD build must not. Both use wasm
  // exception handling (-fwasm-exceptions, docs/wasm.md).
  const features = ['--mvp-features', '--enable-sign-ext', '--enable-mutable-globals',
                    '--enable-bulk-memory', '--enable-nontrapping-float-to-int',
                    '--enable-exception-handling'];
  const validate = (variant) => spawnSync(
      'wasm-opt', [...features, path.join(BUILD, `mlpress-${variant}.wasm`), '-o', '/dev/null'],
      { encoding: 'utf8' });
  const baseline = validate('baseline');
  assert.equal(baseline.error, undefined, `wasm-opt: ${baseline.error}`);
  assert.equal(baseline.status, 0, `baseline needs more than MVP + ${features}: ${baseline.stderr}`);
  assert.notEqual(validate('simd').status, 0, 'the SIMD build validates without SIMD');
});

test('the native CLI under test is the one given', () => {
  // Guards against silently comparing with a stale binary from elsewhere.
  const version = execFileSync(MLPRESS_BIN, ['--version'], { encoding: 'utf8' });
  assert.match(version, /^mlpress /);
});
