// Node test of the wasm build's CRC-32: the CRC benchmark's --check mode (bench/crc32_throughput.cc)
// compares the sparse xor path and crc32_update with zlib's table code over every length to
// 9000 bytes at all offsets mod 16, MiB spans and uneven pieces, and prints a digest of the CRCs
// it computed. Each wasm variant must find no mismatch and give the native build's digest (the
// same CRCs as on x86-64, where the PCLMULQDQ path runs). The C++ unit tests run natively only.
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
const NATIVE = path.resolve(ROOT, process.env.MLPRESS_NATIVE_BUILD_DIR || 'build', 'bench', 'mlpress_bench_crc32');

function digestOf(run) {
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, / 0 mismatches/);
  return run.stdout.match(/digest ([0-9a-f]{8})/)[1];
}

const native = fs.existsSync(NATIVE) ? digestOf(spawnSync(NATIVE, ['--check'], { encoding: 'utf8' })) : null;

for (const variant of ['simd', 'baseline']) {
  const bench = path.join(BUILD, `mlpress-bench-crc32-${variant}.cjs`);
  test(`${variant} CRC-32 matches zlib`, { skip: !fs.existsSync(bench) && `${bench} not built` }, () => {
    const digest = digestOf(spawnSync(process.execPath, [bench, '--check'], { encoding: 'utf8' }));
    if (native) assert.equal(digest, native, 'the same CRCs as the native build');
  });
}
