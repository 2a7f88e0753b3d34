// Shared set-up of the Node tests of the wasm build: where the build and the native CLI are
// (MLPRESS_WASM_BUILD_DIR and MLPRESS_BIN override build-wasm/ and build/core/mlpress),
// loading a variant with its output silenced, host folders mounted at the same paths inside the
// module, and the conformance fixtures (tests/conformance/fixtures.py, coremltools; cached).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILD = path.resolve(ROOT, process.env.MLPRESS_WASM_BUILD_DIR || 'build-wasm');
export const MLPRESS_BIN = path.resolve(ROOT, process.env.MLPRESS_BIN || 'build/core/mlpress');
export const SAMPLE = path.join(ROOT, 'sample', 'sample.mlpackage.zip');

export function moduleJs(variant) {
  return path.join(BUILD, `mlpress-${variant}.js`);
}

// The `skip` option of a describe that needs `variant` built: false when it is, else why not.
export function skipUnlessBuilt(variant) {
  return !fs.existsSync(moduleJs(variant)) && `no ${variant} build`;
}

export function requireCli() {
  assert.ok(fs.existsSync(MLPRESS_BIN), `${MLPRESS_BIN} is missing: run scripts/build.sh`);
}

// Loads one variant. `explicitBinary` passes the .wasm bytes ourselves; otherwise the module's
// own Node.js loader (wasm/js/pre.js) finds the .wasm beside the .js.
export async function loadModule(variant, { explicitBinary = false } = {}) {
  const js = moduleJs(variant);
  assert.ok(fs.existsSync(js), `${js} is missing: run scripts/build_wasm.sh`);
  const { default: createMlpress } = await import(pathToFileURL(js).href);
  const options = { print: () => {}, printErr: () => {} };
  if (explicitBinary) options.wasmBinary = fs.readFileSync(path.join(BUILD, `mlpress-${variant}.wasm`));
  return createMlpress(options);
}

const mountedDirs = new WeakMap();

// Mounts host directory `dir` at the same absolute path inside the module's file system, so
// that paths -- and the messages and reports that contain them -- read the same in both.
// Mounting a directory again is a no-op.
export function mountHost(mod, dir) {
  if (!mountedDirs.has(mod)) mountedDirs.set(mod, new Set());
  const mounted = mountedDirs.get(mod);
  if (mounted.has(dir)) return;
  mod.FS.mkdirTree(dir);
  mod.FS.mount(mod.FS.filesystems.NODEFS, { root: dir }, dir);
  mounted.add(dir);
}

// The set-up of a test that compares the module with the CLI: the CLI is there, the variant
// loaded, and each of `dirs` mounted at its own path.
export async function openModule(variant, dirs = []) {
  requireCli();
  const mod = await loadModule(variant);
  for (const dir of dirs) mountHost(mod, dir);
  return mod;
}

// The paths of the named conformance fixtures, built (or found cached) by fixtures.py.
export function fixturePaths(names) {
  const run = spawnSync('python3', [path.join(ROOT, 'tests', 'conformance', 'fixtures.py')], { encoding: 'utf8' });
  assert.equal(run.status, 0, `fixtures.py: ${run.stderr}`);
  const all = run.stdout.split('\n').filter(Boolean);
  return names.map((name) => {
    const found = all.find((p) => path.basename(p) === `${name}.mlpackage`);
    assert.ok(found, `fixture ${name} not built`);
    return found;
  });
}
