// The mlpress embedding API: inspect and compress a Core ML package from any page, with the
// WebAssembly module running in a worker. The worker (worker.js) and the module
// (wasm/mlpress-*.js/.wasm) are found relative to this file (import.meta.url), so the folder
// can be copied anywhere.
//
//   import { inspect, compress } from './mlpress.js';
//   const report = await inspect(file);             // `mlpress inspect --json`, parsed
//   const planned = await plan(file, config);       // what compress would do, expected sizes
//   const blob = await compress(file, { config_type: 'OpLinearQuantizerConfig',
//                                       global_config: { dtype: 'int8' } },
//                               { onProgress: ({ done, total, weight }) => {}, signal });
//
// `file` is a File or Blob holding a zipped .mlpackage (NAME.mlpackage.zip), or the files of a
// .mlpackage folder (an array or FileList from <input webkitdirectory>, each with its
// webkitRelativePath). `config` is a coremltools OptimizationConfig as an object (sent as
// JSON) or as YAML/JSON text; null or '' means a lossless rewrite. An AbortSignal cancels: the
// worker is ended (with any partial output) and the promise rejects with the signal's reason;
// the next call starts a fresh worker.
//
// Calls run one at a time, in the order made. Everything happens on this machine.

import { WorkerClient } from './client.js';
import { cancelPool, compressOnWorkers, poolSize } from './pool.js';

const WORKER_URL = new URL('./worker.js', import.meta.url);

let client = null;
let queue = Promise.resolve();
let variantOption;

// Chooses the wasm variant for the next worker ('simd', 'baseline', or undefined = detect).
export function setVariant(variant) {
  variantOption = variant;
}

function worker() {
  if (!client || client.ended) client = new WorkerClient(WORKER_URL, { variant: variantOption });
  return client;
}

// Ends the worker now (any call in progress rejects); the next call starts another.
export function terminate() {
  if (client) client.terminate();
  client = null;
}

// Runs `task(client)` after the calls before it; `signal` aborts it while it waits or runs.
function enqueue(signal, task) {
  const run = queue.then(async () => {
    signal?.throwIfAborted();
    const mine = worker();
    const onAbort = () => {
      mine.terminate(signal.reason);
      cancelPool(signal.reason); // the helpers of a compress on several workers
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await mine.ready;
      return await task(mine);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (mine.ended && client === mine) client = null;
    }
  });
  queue = run.catch(() => {});
  return run;
}

// The open request for `input`: one File/Blob (a zip), or a package folder's files.
function openRequest(input) {
  if (input instanceof Blob) {
    const file = input instanceof File ? input : new File([input], 'model.mlpackage.zip');
    return { type: 'open', file };
  }
  const files = Array.from(input || []);
  if (files.length && files.every((f) => f instanceof File)) {
    // The folder's files with their paths from <input webkitdirectory>; the worker mounts them.
    return { type: 'open-folder', files: files.map((file) => ({ path: file.webkitRelativePath || file.name, file })) };
  }
  throw new TypeError('mlpress: expected a File or Blob (a .mlpackage.zip), or the files of a .mlpackage folder.');
}

function configText(config) {
  if (config === null || config === undefined) return '';
  if (typeof config === 'string') return config;
  if (typeof config === 'object') return JSON.stringify(config);
  throw new TypeError('mlpress: the config is an object or YAML/JSON text.');
}

function stemOf(name) {
  return name.replace(/\.zip$/i, '').replace(/\.mlpackage$/i, '') || 'model';
}

// The report of `mlpress inspect --json` for the package, as an object.
export function inspect(input, { signal } = {}) {
  const request = openRequest(input);
  return enqueue(signal, async (c) => (await c.call(request)).report);
}

// What compress(input, config) would compress or skip, and why, with the expected sizes;
// nothing is compressed. See docs/wasm.md (plan).
export function plan(input, config, { signal } = {}) {
  const request = openRequest(input);
  const text = configText(config);
  return enqueue(signal, async (c) => {
    await c.call(request);
    return (await c.call({ type: 'plan', config: text })).plan;
  });
}

// Compresses the package; resolves with {blob, report}: the .mlpackage.zip as a File (a Blob
// with a name) and the report of `mlpress compress --json` (without its "output" field).
// Options: onProgress({done, total, weight}), signal, name (the output's file name, which is
// also the zip's top folder; default STEM-compressed.mlpackage.zip, or STEM.mlpackage.zip for
// a lossless rewrite), workers (how many workers share the compress, as the page does it:
// default 1; 'auto' = one per core, at most 4; the output is the same bytes either way).
export function compressWithReport(input, config, { onProgress, signal, name, workers = 1 } = {}) {
  const request = openRequest(input);
  const text = configText(config);
  return enqueue(signal, async (c) => {
    const opened = await c.call(request);
    const lossless = !/\S/.test(text);
    const outName = name || `${stemOf(opened.name)}${lossless ? '' : '-compressed'}.mlpackage.zip`;
    const message = await compressOnWorkers({
      main: c,
      openRequest: request,
      workerUrl: WORKER_URL,
      variant: c.variant,
      workers: workers === 'auto' ? poolSize() : Number(workers) || 1,
      config: text,
      name: outName,
      onProgress,
    });
    const blob = new File([message.bytes], message.name, { type: 'application/zip' });
    return { blob, report: message.report };
  });
}

// As compressWithReport, resolving with the Blob only.
export async function compress(input, config, options = {}) {
  return (await compressWithReport(input, config, options)).blob;
}
