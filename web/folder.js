// The files of a dropped folder (a FileSystemDirectoryEntry from
// DataTransferItem.webkitGetAsEntry()), as the worker's 'open-folder' request wants them:
// [{path, file}], paths starting with the folder's own name, as <input webkitdirectory> gives
// them in webkitRelativePath. No DOM beyond the entry interfaces; tests/e2e/folder.test.mjs
// runs it under Node.js with stand-in entries.

export async function folderFiles(root) {
  const out = [];
  async function walk(entry, path) {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      out.push({ path, file });
      return;
    }
    const reader = entry.createReader();
    // readEntries gives the children in batches, until an empty batch.
    for (;;) {
      const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (batch.length === 0) break;
      for (const child of batch) await walk(child, `${path}/${child.name}`);
    }
  }
  await walk(root, root.name);
  return out;
}
