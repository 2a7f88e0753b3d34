// Unit test of web/folder.js under Node.js: a dropped folder's entry tree (stand-ins for the
// FileSystemEntry interfaces, with children handed out in batches as Chromium does) becomes
// the list of {path, file} the worker mounts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { folderFiles } from '../../web/folder.js';

// A stand-in entry tree: {name: content} for files, {name: {...}} for folders.
function entry(name, value, batchSize) {
  if (typeof value === 'string') {
    return { name, isFile: true, isDirectory: false, file: (ok) => setTimeout(() => ok({ name, content: value })) };
  }
  const children = Object.entries(value).map(([n, v]) => entry(n, v, batchSize));
  return {
    name,
    isFile: false,
    isDirectory: true,
    createReader() {
      let next = 0;
      return {
        readEntries(ok) {
          const batch = children.slice(next, next + batchSize);
          next += batch.length;
          setTimeout(() => ok(batch));
        },
      };
    },
  };
}

test('every file of the tree, with its path from the folder name, across batches', async () => {
  const tree = {
    'Manifest.json': 'm',
    Data: { 'com.apple.CoreML': { 'model.mlmodel': 'spec', weights: { 'weight.bin': 'w', 'extra.bin': 'x' } } },
    empty: {},
  };
  const files = await folderFiles(entry('model.mlpackage', tree, 1));
  assert.deepEqual(
    files.map(({ path, file }) => [path, file.content]),
    [
      ['model.mlpackage/Manifest.json', 'm'],
      ['model.mlpackage/Data/com.apple.CoreML/model.mlmodel', 'spec'],
      ['model.mlpackage/Data/com.apple.CoreML/weights/weight.bin', 'w'],
      ['model.mlpackage/Data/com.apple.CoreML/weights/extra.bin', 'x'],
    ],
  );
});

test('a failing read rejects', async () => {
  const bad = { name: 'x.mlpackage', isFile: false, createReader: () => ({ readEntries: (ok, fail) => fail(new Error('denied')) }) };
  await assert.rejects(folderFiles(bad), /denied/);
});
