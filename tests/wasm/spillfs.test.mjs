// SPILLFS (web/spillfs.js) under Node.js, with the wasm module writing through it: without
// OPFS every file stays in memory; with a stand-in OPFS (sync access handles over host temp
// files, the same calls the browser's FileSystemSyncAccessHandle answers) files past the
// threshold move there. Either way the output equals `mlpress compress`'s zip byte for byte
// and nothing is left behind: staging folder, libzip's temporary zip and emptied pool files.
//
//   node --test tests/wasm/spillfs.test.mjs
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { loadModule, MLPRESS_BIN, ROOT, SAMPLE } from './harness.mjs';

// A stand-in for the origin private file system: one host folder, files opened with sync
// handles that read and write at positions.
function fakeOpfs(dir) {
  const accessFor = (file) => {
    const fd = fs.openSync(file, 'r+');
    let open = true;
    const view = (data) => Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return {
      read: (data, { at }) => fs.readSync(fd, view(data), 0, data.byteLength, at),
      write: (data, { at }) => fs.writeSync(fd, view(data), 0, data.byteLength, at),
      truncate: (size) => fs.ftruncateSync(fd, size),
      getSize: () => fs.fstatSync(fd).size,
      flush: () => fs.fsyncSync(fd),
      close: () => {
        if (open) fs.closeSync(fd);
        open = false;
      },
    };
  };
  const dirHandle = (folder) => ({
    kind: 'directory',
    name: path.basename(folder),
    async getDirectoryHandle(name, { create } = {}) {
      const sub = path.join(folder, name);
      if (create) fs.mkdirSync(sub, { recursive: true });
      return dirHandle(sub);
    },
    async getFileHandle(name, { create } = {}) {
      const file = path.join(folder, name);
      if (create && !fs.existsSync(file)) fs.writeFileSync(file, '');
      return {
        kind: 'file',
        name,
        createSyncAccessHandle: async () => accessFor(file),
        getFile: async () => ({ path: file, size: fs.statSync(file).size }),
      };
    },
    async removeEntry(name, { recursive } = {}) {
      fs.rmSync(path.join(folder, name), { recursive: !!recursive });
    },
    async *entries() {
      for (const name of fs.readdirSync(folder)) {
        const full = path.join(folder, name);
        yield [name, fs.statSync(full).isDirectory() ? dirHandle(full) : { kind: 'file', name }];
      }
    },
  });
  return dirHandle(dir);
}

function cliZip(tmp) {
  const out = path.join(tmp, 'cli', 'sample.mlpackage.zip');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const run = spawnSync(MLPRESS_BIN, ['compress', SAMPLE, out]);
  assert.equal(run.status, 0, run.stderr?.toString());
  return fs.readFileSync(out);
}

async function loadSimdModule() {
  const mod = await loadModule('simd');
  mod.FS.mkdir('/in');
  mod.FS.mount(mod.FS.filesystems.NODEFS, { root: path.dirname(SAMPLE) }, '/in');
  mod.FS.mkdir('/out');
  return mod;
}

describe('SPILLFS', () => {
  let tmp;
  let expected;
  let createSpillFs;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlpress-spillfs-'));
    expected = cliZip(tmp);
    ({ createSpillFs } = await import(pathToFileURL(path.join(ROOT, 'web', 'spillfs.js')).href));
  });

  after(() => {
    delete globalThis.FileSystemSyncAccessHandle;
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('without OPFS, files stay in memory and are freed', async () => {
    const mod = await loadSimdModule();
    const spill = createSpillFs(mod.FS, { thresholdBytes: 4096 });
    mod.FS.mount(spill.fs, {}, '/out');
    assert.equal(await spill.prepare(), false);
    mod.rewrite('/in/sample.mlpackage.zip', '/out/sample.mlpackage.zip');
    const { bytes, file } = await spill.take('/out/sample.mlpackage.zip');
    assert.equal(file, undefined);
    assert.ok(Buffer.from(bytes).equals(expected), 'equals the CLI zip');
    assert.deepEqual(mod.FS.readdir('/out'), ['.', '..']);
    assert.equal(spill.stats.memoryBytes, 0, 'every file freed');
    // A zip output stages nothing (PackageWriter): the archive is the one large file.
    assert.equal(spill.stats.memoryFallbacks, 1, 'the zip had no OPFS file to go to');
  });

  test('with OPFS, large files spill there, the output is the OPFS file, nothing else is left', async () => {
    const opfs = path.join(tmp, 'opfs');
    fs.mkdirSync(opfs);
    globalThis.FileSystemSyncAccessHandle = class {};
    const navigatorBefore = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    Object.defineProperty(globalThis, 'navigator', {
      value: { storage: { getDirectory: async () => fakeOpfs(opfs) } },
      configurable: true,
    });
    try {
      const mod = await loadSimdModule();
      const spill = createSpillFs(mod.FS, { thresholdBytes: 4096, poolSize: 3 });
      mod.FS.mount(spill.fs, {}, '/out');
      assert.equal(await spill.prepare(), true);
      mod.rewrite('/in/sample.mlpackage.zip', '/out/sample.mlpackage.zip');
      const { file } = await spill.take('/out/sample.mlpackage.zip');
      assert.ok(fs.readFileSync(file.path).equals(expected), 'the OPFS file equals the CLI zip');
      assert.equal(spill.stats.spilledFiles, 1, 'the zip spilled, and nothing was staged');
      assert.equal(spill.stats.memoryFallbacks, 0);
      assert.ok(spill.stats.memoryPeakBytes <= 3 * 4096 * 2, `memory peak ${spill.stats.memoryPeakBytes}`);
      assert.deepEqual(mod.FS.readdir('/out'), ['.', '..']);

      await spill.releaseIdle();
      const [session] = fs.readdirSync(opfs);
      assert.deepEqual(fs.readdirSync(path.join(opfs, session)), [path.basename(file.path)], 'only the output is left');
      await spill.prepare(); // the next request removes the previous output
      assert.ok(!fs.existsSync(file.path));
      await spill.releaseIdle();
      assert.deepEqual(fs.readdirSync(path.join(opfs, session)), []);
    } finally {
      if (navigatorBefore) Object.defineProperty(globalThis, 'navigator', navigatorBefore);
      else delete globalThis.navigator;
    }
  });
});
