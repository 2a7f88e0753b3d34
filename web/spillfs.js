// SPILLFS: an Emscripten file system for the module's output and temporary files that keeps
// large files out of memory. It is MEMFS for everything but file contents: a file lives in a
// JS typed array until it grows past `thresholdBytes`, then moves to a file in the origin
// private file system (OPFS) and is read and written there through a FileSystemSyncAccessHandle.
//
// The core writes files synchronously, but OPFS hands out files and sync handles only
// asynchronously, so a pool of empty OPFS files with open sync handles is made ready before
// each call into the module (prepare()). A file that would spill while the pool is empty, or in
// a browser without sync handles, stays in memory: slower to fail, never wrong.
//
// Unlinked files keep their storage while open (the core inflates into an unlinked temporary
// file); their OPFS file is emptied and returned to the pool when the last stream closes.
//
// OPFS files belong to a session folder `mlpress-<random>` that this worker holds a Web Lock
// on. A new worker removes the folders of sessions whose lock is free: a worker the page
// terminated (cancel) or a tab that closed leaves nothing behind for longer than that.
//
//   const spill = createSpillFs(mod.FS);
//   mod.FS.mount(spill.fs, {}, '/out');
//   await spill.prepare();            // before each call into the module
//   ... the module writes /out/x.zip ...
//   const result = await spill.take('/out/x.zip');   // {file} (OPFS) or {bytes}; unlinked
//   await spill.releaseIdle();        // close and delete the pool's unused OPFS files

const EIO = 29; // Emscripten's (WASI) errno values
const ENOSPC = 51;

const DEFAULT_THRESHOLD = 1 << 20;
const DEFAULT_POOL = 6;

export function opfsSyncHandlesAvailable() {
  return (
    typeof navigator !== 'undefined' &&
    !!navigator.storage &&
    typeof navigator.storage.getDirectory === 'function' &&
    typeof FileSystemSyncAccessHandle !== 'undefined'
  );
}

// Removes the OPFS folders of sessions whose worker has ended (their Web Lock is free), from any
// context (the page too): a worker the page terminates keeps its lock a moment longer, so this
// looks `tries` times, `delayMs` apart. A session's lock is taken before its folder is made, so a
// starting worker's folder is never removed.
export async function removeEndedSessions({ tries = 10, delayMs = 200 } = {}) {
  if (typeof navigator === 'undefined' || !navigator.locks || !navigator.storage?.getDirectory) return;
  const root = await navigator.storage.getDirectory();
  for (let i = 0; i < tries; i++) {
    const names = [];
    for await (const [name, handle] of root.entries()) {
      if (handle.kind === 'directory' && name.startsWith('mlpress-')) names.push(name);
    }
    for (const name of names) {
      await navigator.locks.request(name, { ifAvailable: true }, async (lock) => {
        if (lock) await root.removeEntry(name, { recursive: true }).catch(() => {});
      });
    }
    if (i + 1 < tries) await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}

export function createSpillFs(FS, { thresholdBytes = DEFAULT_THRESHOLD, poolSize = DEFAULT_POOL } = {}) {
  const MEMFS = FS.filesystems.MEMFS;
  const pool = []; // {handle, access, name, node}: node = the file using it, or null
  const retired = []; // names of OPFS files handed out by take(); removed by the next prepare()
  let sessionDir = null; // FileSystemDirectoryHandle, once prepare() made one
  let counter = 0;
  const stats = { memoryBytes: 0, memoryPeakBytes: 0, spilledFiles: 0, memoryFallbacks: 0 };

  function ioError(err) {
    const quota = err && err.name === 'QuotaExceededError';
    return new FS.ErrnoError(quota ? ENOSPC : EIO);
  }

  // Memory accounting of in-memory file contents (capacity, not used bytes).
  function setCapacity(node, contents) {
    const before = node.contents ? node.contents.length : 0;
    node.contents = contents;
    stats.memoryBytes += (contents ? contents.length : 0) - before;
    stats.memoryPeakBytes = Math.max(stats.memoryPeakBytes, stats.memoryBytes);
  }

  function growMemory(node, size) {
    const capacity = node.contents ? node.contents.length : 0;
    if (size <= capacity) return;
    const next = new Uint8Array(Math.max(size, Math.min(capacity * 2, size + (1 << 20)), 256));
    if (node.contents) next.set(node.contents.subarray(0, node.usedBytes));
    setCapacity(node, next);
  }

  function spill(node) {
    const slot = pool.find((s) => !s.node);
    if (!slot) {
      if (!node.fellBack) stats.memoryFallbacks++;
      node.fellBack = true;
      return;
    }
    try {
      slot.access.truncate(0);
      if (node.usedBytes) writeAll(slot.access, node.contents.subarray(0, node.usedBytes), 0);
    } catch (err) {
      throw ioError(err);
    }
    slot.node = node;
    node.slot = slot;
    setCapacity(node, null);
    stats.spilledFiles++;
  }

  function writeAll(access, data, at) {
    let done = 0;
    while (done < data.length) {
      const n = access.write(data.subarray(done), { at: at + done });
      if (n <= 0) throw new FS.ErrnoError(ENOSPC);
      done += n;
    }
  }

  // The file's storage is given back: its OPFS file emptied for reuse, or its array dropped.
  function free(node) {
    if (node.slot) {
      const slot = node.slot;
      node.slot = null;
      slot.node = null;
      try {
        slot.access.truncate(0);
      } catch {
        // the pool entry is dropped by releaseIdle() if it stays broken
      }
    }
    setCapacity(node, null);
    node.usedBytes = 0;
  }

  function release(node) {
    node.unlinked = true;
    if (!node.openCount) free(node);
  }

  function resize(node, size) {
    if (node.slot) {
      try {
        node.slot.access.truncate(size);
      } catch (err) {
        throw ioError(err);
      }
    } else if (size > thresholdBytes && (spill(node), node.slot)) {
      return resize(node, size);
    } else if (size < node.usedBytes) {
      node.contents.fill(0, size, node.usedBytes);
    } else {
      growMemory(node, size);
    }
    node.usedBytes = size;
  }

  const fileNodeOps = {
    getattr: (node) => MEMFS.node_ops.getattr(node),
    setattr(node, attr) {
      if (attr.mode !== undefined) node.mode = attr.mode;
      if (attr.timestamp !== undefined) node.timestamp = attr.timestamp;
      if (attr.size !== undefined) resize(node, attr.size);
    },
  };

  const fileStreamOps = {
    open(stream) {
      stream.node.openCount = (stream.node.openCount || 0) + 1;
    },
    close(stream) {
      const node = stream.node;
      node.openCount--;
      if (node.unlinked && !node.openCount) free(node);
    },
    llseek: (stream, offset, whence) => MEMFS.stream_ops.llseek(stream, offset, whence),
    read(stream, buffer, offset, length, position) {
      const node = stream.node;
      if (position >= node.usedBytes) return 0;
      const size = Math.min(node.usedBytes - position, length);
      if (!node.slot) {
        buffer.set(node.contents.subarray(position, position + size), offset);
        return size;
      }
      try {
        return node.slot.access.read(buffer.subarray(offset, offset + size), { at: position });
      } catch (err) {
        throw ioError(err);
      }
    },
    write(stream, buffer, offset, length, position) {
      if (!length) return 0;
      const node = stream.node;
      node.timestamp = Date.now();
      const end = position + length;
      if (!node.slot && end > thresholdBytes) spill(node);
      if (node.slot) {
        try {
          writeAll(node.slot.access, buffer.subarray(offset, offset + length), position);
        } catch (err) {
          throw err instanceof FS.ErrnoError ? err : ioError(err);
        }
      } else {
        growMemory(node, end);
        node.contents.set(buffer.subarray(offset, offset + length), position);
      }
      node.usedBytes = Math.max(node.usedBytes, end);
      return length;
    },
    allocate(stream, offset, length) {
      if (offset + length > stream.node.usedBytes) resize(stream.node, offset + length);
    },
  };

  function adopt(node) {
    if (FS.isDir(node.mode)) {
      node.node_ops = dirNodeOps;
    } else if (FS.isFile(node.mode)) {
      node.node_ops = fileNodeOps;
      node.stream_ops = fileStreamOps;
      node.slot = null;
      node.openCount = 0;
    }
    return node;
  }

  function lookupOrNull(parent, name) {
    try {
      return FS.lookupNode(parent, name);
    } catch {
      return null;
    }
  }

  const dirNodeOps = {
    ...MEMFS.node_ops,
    getattr: (node) => MEMFS.node_ops.getattr(node),
    mknod: (parent, name, mode, dev) => adopt(MEMFS.node_ops.mknod(parent, name, mode, dev)),
    unlink(parent, name) {
      const node = lookupOrNull(parent, name);
      MEMFS.node_ops.unlink(parent, name);
      if (node && FS.isFile(node.mode)) release(node);
    },
    rename(oldNode, newDir, newName) {
      const replaced = lookupOrNull(newDir, newName);
      MEMFS.node_ops.rename(oldNode, newDir, newName);
      if (replaced && replaced !== oldNode && FS.isFile(replaced.mode)) release(replaced);
    },
  };
  delete dirNodeOps.readlink;

  const fs = {
    mount: (mount) => adopt(MEMFS.mount(mount)),
  };

  async function removeStaleSessions(root) {
    if (!navigator.locks) return;
    for await (const [name, handle] of root.entries()) {
      if (handle.kind !== 'directory' || !name.startsWith('mlpress-') || name === sessionDir.name) continue;
      await navigator.locks.request(name, { ifAvailable: true }, async (lock) => {
        if (lock) await root.removeEntry(name, { recursive: true }).catch(() => {});
      });
    }
  }

  async function openSession() {
    const root = await navigator.storage.getDirectory();
    const name = `mlpress-${crypto.getRandomValues(new Uint32Array(2)).join('')}`;
    if (navigator.locks) {
      // Held until this worker ends: tells other workers the folder is in use.
      await new Promise((resolve) => {
        navigator.locks.request(name, () => {
          resolve();
          return new Promise(() => {});
        });
      });
    }
    sessionDir = await root.getDirectoryHandle(name, { create: true });
    await removeStaleSessions(root);
  }

  return {
    fs,
    stats,
    // Makes `poolSize` OPFS files with sync handles ready; removes the files take() handed out
    // before. Without OPFS sync handles it does nothing and every file stays in memory.
    async prepare() {
      if (!opfsSyncHandlesAvailable()) return false;
      try {
        if (!sessionDir) await openSession();
        while (retired.length) await sessionDir.removeEntry(retired.pop()).catch(() => {});
        while (pool.length < poolSize) {
          const name = `file-${counter++}`;
          const handle = await sessionDir.getFileHandle(name, { create: true });
          const access = await handle.createSyncAccessHandle();
          pool.push({ handle, access, name, node: null });
        }
        return true;
      } catch (err) {
        console.warn('mlpress: OPFS is not usable, output stays in memory:', err);
        return false;
      }
    },
    // The finished file at `path` as {file} (an OPFS File, read from disk when used; it stays
    // valid until the next prepare()) or {bytes} (a Uint8Array copy); the path is unlinked.
    async take(path) {
      const node = FS.lookupPath(path).node;
      if (!node.slot) {
        const bytes = node.contents ? node.contents.slice(0, node.usedBytes) : new Uint8Array(0);
        FS.unlink(path);
        return { bytes };
      }
      const slot = node.slot;
      node.slot = null; // the unlink below must not empty it
      pool.splice(pool.indexOf(slot), 1);
      FS.unlink(path);
      slot.access.flush();
      slot.access.close();
      retired.push(slot.name);
      return { file: await slot.handle.getFile() };
    },
    // Closes and deletes the pool's unused OPFS files (all of them after a call that failed).
    async releaseIdle() {
      for (const slot of pool.filter((s) => !s.node)) {
        pool.splice(pool.indexOf(slot), 1);
        try {
          slot.access.close();
        } catch {
          // already closed
        }
        await sessionDir.removeEntry(slot.name).catch(() => {});
      }
    },
  };
}
