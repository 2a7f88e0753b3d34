// The mlpress worker: owns the WebAssembly module, so the page never blocks on it.
//
// Messages in (from app.js), each with a numeric `id`:
//   {id, type: 'open', file}          mount the File (WORKERFS, read lazily) and inspect it
//   {id, type: 'open-url', url, name} fetch a same-origin file (the sample), then as 'open'
//   {id, type: 'open-folder', files: [{path, file}]}  mount a .mlpackage folder's files
//                                     (paths relative to the folder's parent, all under one
//                                     top folder NAME.mlpackage) and inspect the folder
//   {id, type: 'plan', config}        the dry run of compress: what it would compress or skip,
//                                     why, and the expected sizes (answer: 'planned', plan)
//   {id, type: 'rewrite'}             rewrite the open package to /out, send back the output
//   {id, type: 'compress', config, name}  compress the open package with the config text
//                                     (coremltools YAML/JSON, '' = lossless) into /out as
//                                     NAME, send back the bytes and the report; posts
//                                     'progress' messages while it runs
//   {id, type: 'split', config, parts}  the weights the config compresses, in `parts` shares of
//                                     about equal size (answer: 'split', split); pool.js
//   {id, type: 'precompute', config, share, keep}  compress the weights of `share` (indices
//                                     from 'split') into this worker's results file; posts
//                                     'progress'; keep: the file stays here for the splice,
//                                     else it is sent back (answer: 'precomputed', written,
//                                     bytes, wasmBytes)
//   (open requests with `inspect: false` only mount the model: a pool's helper workers)
//   (compress with `results: [File|ArrayBuffer]` and `ownResults`: the other workers' results
//   files, and this worker's own, are spliced in instead of compressing those weights again)
//   {id, type: 'sensitivity' | 'size-plan' | 'size-curve', ...}  the size slider's analysis
//                                     and plans: see size-plan-worker.js
//   {id, type: 'histogram', weight, output, outputName, bins}  the weight's values in the open
//                                     model and in `output` (the compressed zip, a Blob the
//                                     page got from 'compressed'), counted over one range
//                                     (answer: 'histogram', histogram = {before, after})
// Messages out:
//   {type: 'ready', variant}                          once the module is loaded
//   {id, type: 'inspected', name, size, report}       report = the parsed inspect JSON
//   {id, type: 'rewritten', name, bytes, result}      bytes = ArrayBuffer (transferred)
//   {id, type: 'progress', done, total, weight}      before each weight is compressed
//                                                     (weight '' = writing the output)
//   {id, type: 'compressed', name, bytes, inputSize, report}  report = the parsed compress JSON
//   (bytes: an ArrayBuffer (transferred), or a File in OPFS when the output spilled there: see
//   spillfs.js; the page wraps either in a Blob)
//   {id, type: 'histogram', histogram}                the module's histogram JSON, parsed
//   {id, type: 'error', message, file}                any failure, message verbatim
//   {type: 'fatal', message}                          the module could not be loaded

import { createSpillFs } from './spillfs.js';
import { SIZE_PLAN_REQUESTS, forget as forgetSizePlans, sizePlanRequest } from './size-plan-worker.js';

const IN_DIR = '/in';
const OUT_DIR = '/out';
const RESULT_DIR = '/result'; // the compressed output, during a 'histogram' request (WORKERFS)
const RESULTS_DIR = '/results'; // this worker's share of a pooled compress (SPILLFS)
const OWN_RESULTS = `${RESULTS_DIR}/share.bin`;
const PARTS_DIR = '/parts'; // the other workers' results files (WORKERFS), during the splice

// A 1-function module whose body uses a SIMD instruction (v128.const; drop). Engines without
// wasm SIMD reject it in WebAssembly.validate.
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: () -> ()
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x17, 0x01, 0x15, 0x00, // code section: one body of 21 bytes, no locals
  0xfd, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // v128.const 0 ...
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x1a, 0x0b, // drop; end
]);

function simdSupported() {
  try {
    return WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

// `?wasm=baseline|simd` on the worker's URL forces a variant (for tests); otherwise the probe
// decides.
function chooseVariant() {
  const forced = new URL(self.location.href).searchParams.get('wasm');
  if (forced === 'simd' || forced === 'baseline') return forced;
  return simdSupported() ? 'simd' : 'baseline';
}

const variant = chooseVariant();
let mod = null;
let spill = null; // SPILLFS on OUT_DIR and /tmp: large files go to OPFS, not memory
let current = null; // {name, size} of the mounted File

const modulePromise = (async () => {
  const jsUrl = new URL(`./wasm/mlpress-${variant}.js`, self.location.href).href;
  const { default: createMlpress } = await import(jsUrl);
  const m = await createMlpress({
    locateFile: (file) => new URL(file, jsUrl).href,
    print: () => {},
    printErr: (text) => console.warn('mlpress:', text),
  });
  m.FS.mkdir(IN_DIR);
  m.FS.mkdir(OUT_DIR);
  m.FS.mkdir(RESULTS_DIR);
  m.FS.mkdir(PARTS_DIR);
  spill = createSpillFs(m.FS);
  m.FS.mount(spill.fs, {}, OUT_DIR);
  m.FS.mount(spill.fs, {}, RESULTS_DIR);
  m.FS.mount(spill.fs, {}, '/tmp'); // inflated copies of deflated zip entries
  return m;
})();

modulePromise.then(
  (m) => {
    mod = m;
    self.postMessage({ type: 'ready', variant });
    queue = queue.then(() => warmUp(m));
  },
  (err) => {
    self.postMessage({
      type: 'fatal',
      message: `The mlpress module (${variant}) could not be loaded: ${messageOf(err)}`,
    });
  },
);

// Warm-up, off the user's path: V8 compiles a wasm function when it is first called (and the
// busy ones again, optimised, in the background), so the first compress on a fresh module pays
// about 0.1-0.2 s of CPU for compiling the code it reaches (docs/benchmarks.md). Compressing the
// bundled sample (23 KB) once per kind of config, in memory, right after loading moves that
// before the user's first request, which queues behind it. Best effort: where the sample is not
// served next to the worker, nothing is warmed.
const WARM_DIR = '/warm';
const WARM_CONFIGS = [
  'config_type: OpLinearQuantizerConfig\nglobal_config: {dtype: int8, granularity: per_channel}\n',
  'config_type: OpPalettizerConfig\nglobal_config: {mode: kmeans, nbits: 4, granularity: per_tensor}\n',
];

async function warmUp(m) {
  const input = `${WARM_DIR}/sample.mlpackage.zip`;
  const output = `${WARM_DIR}/warm.mlpackage.zip`;
  try {
    const response = await fetch(new URL('sample/sample.mlpackage.zip', self.location.href).href, {
      credentials: 'same-origin',
    });
    if (!response.ok) return;
    const bytes = new Uint8Array(await response.arrayBuffer());
    m.FS.mkdirTree(WARM_DIR); // MEMFS: nothing here touches the OPFS pool
    m.FS.writeFile(input, bytes);
    for (const config of WARM_CONFIGS) {
      m.compress(input, output, config);
      m.FS.unlink(output);
    }
  } catch {
    // a warm-up that fails leaves only a slower first request
  } finally {
    for (const path of [output, input]) {
      try {
        m.FS.unlink(path);
      } catch {
        // not there
      }
    }
  }
}

function messageOf(err) {
  if (err instanceof Error) return err.message;
  return String(err);
}

function unmountInput() {
  forgetSizePlans(mod); // the size slider's analysis was of this package
  if (!current) return;
  try {
    mod.FS.unmount(IN_DIR);
  } catch {
    // not mounted
  }
  current = null;
}

function clearResults() {
  try {
    mod.FS.unlink(OWN_RESULTS);
  } catch {
    // none
  }
}

function clearOutput() {
  for (const entry of mod.FS.readdir(OUT_DIR)) {
    if (entry === '.' || entry === '..') continue;
    try {
      mod.FS.unlink(`${OUT_DIR}/${entry}`);
    } catch {
      // a leftover folder (the core removes its temporaries on failure); leave it
    }
  }
}

// The output's name: the input's, ending in .mlpackage.zip.
function outputName(inputName) {
  const stem = inputName.replace(/\.zip$/i, '').replace(/\.mlpackage$/i, '') || 'model';
  return `${stem}.mlpackage.zip`;
}

function open(file, inspect = true) {
  unmountInput();
  clearOutput();
  clearResults();
  // WORKERFS reads the File lazily through FileReaderSync: nothing is copied into wasm memory.
  mod.FS.mount(mod.FS.filesystems.WORKERFS, { files: [file] }, IN_DIR);
  current = { name: file.name, size: file.size };
  if (!inspect) return { type: 'opened', name: file.name, size: file.size };
  const report = JSON.parse(mod.inspect(`${IN_DIR}/${file.name}`));
  return { type: 'inspected', name: file.name, size: file.size, report };
}

// A package folder: every file mounted at /in/PATH (WORKERFS makes the folders), read lazily
// like a single File. The paths come from the page (webkitRelativePath or a dropped folder's
// entries): one top folder, no empty, '.' or '..' parts.
function openFolder(files, inspect = true) {
  unmountInput();
  clearOutput();
  clearResults();
  if (!Array.isArray(files) || files.length === 0) throw new Error('The folder is empty.');
  const tops = new Set();
  const blobs = files.map(({ path, file }) => {
    const parts = String(path).split('/');
    if (parts.length < 2 || parts.some((p) => p === '' || p === '.' || p === '..')) {
      throw new Error(`Unexpected path in the folder: ${path}`);
    }
    tops.add(parts[0]);
    return { name: parts.join('/'), data: file };
  });
  if (tops.size !== 1) throw new Error(`Choose one .mlpackage folder (got ${[...tops].join(', ')}).`);
  const [name] = tops;
  mod.FS.mount(mod.FS.filesystems.WORKERFS, { blobs }, IN_DIR);
  const size = files.reduce((sum, { file }) => sum + file.size, 0);
  current = { name, size };
  if (!inspect) return { type: 'opened', name, size, folder: true };
  const report = JSON.parse(mod.inspect(`${IN_DIR}/${name}`));
  return { type: 'inspected', name, size, report, folder: true };
}

async function rewrite() {
  if (!current) throw new Error('No model is open.');
  clearOutput();
  const name = outputName(current.name);
  const outPath = `${OUT_DIR}/${name}`;
  const result = mod.rewrite(`${IN_DIR}/${current.name}`, outPath);
  const { bytes, transfer } = await takeOutput(outPath);
  return { message: { type: 'rewritten', name, inputSize: current.size, result, bytes }, transfer };
}

async function compress(id, config, requestedName, results, ownResults) {
  if (!current) throw new Error('No model is open.');
  clearOutput();
  // The output's name is also the zip's top folder: a flat name only.
  const name = /^[^/\\]+\.mlpackage\.zip$/.test(requestedName || '') ? requestedName : outputName(current.name);
  const outPath = `${OUT_DIR}/${name}`;
  // Called synchronously from inside the core; the page gets each message at once, while the
  // compression goes on. To cancel, the page terminates this worker.
  const onProgress = ({ done, total, weight }) => {
    self.postMessage({ id, type: 'progress', done, total, weight });
  };
  const report = results
    ? spliceResults(outPath, config, results, ownResults, onProgress)
    : JSON.parse(mod.compress(`${IN_DIR}/${current.name}`, outPath, config || '', onProgress));
  const { bytes, transfer } = await takeOutput(outPath);
  return { message: { type: 'compressed', name, inputSize: current.size, report, bytes }, transfer };
}

// Phase 1 of a pooled compress (pool.js): this worker's share of the weights, compressed one at
// a time into its results file. `keep`: the file stays for the splice in this worker; else it
// is handed over (an OPFS File, valid until this worker's next request, or the bytes).
async function precompute(id, config, share, keep) {
  if (!current) throw new Error('No model is open.');
  clearResults();
  const onProgress = ({ done, total, weight }) => {
    self.postMessage({ id, type: 'progress', done, total, weight });
  };
  const { written } = JSON.parse(
    mod.precompute(`${IN_DIR}/${current.name}`, OWN_RESULTS, config || '', JSON.stringify(share), onProgress),
  );
  // The wasm memory after the share (it only grows: its peak), for the memory test.
  const wasmBytes = mod.HEAP8.length;
  if (keep) return { message: { type: 'precomputed', written, wasmBytes }, transfer: [] };
  const { bytes, transfer } = await takeOutput(OWN_RESULTS);
  return { message: { type: 'precomputed', written, wasmBytes, bytes }, transfer };
}

// Phase 2: the other workers' results files mounted read-only (read lazily, as the model is),
// and this worker's own, spliced into an ordinary compress.
function spliceResults(outPath, config, results, ownResults, onProgress) {
  const blobs = results.map((data, i) => ({
    name: `share-${i + 1}.bin`,
    data: data instanceof Blob ? data : new Blob([data]),
  }));
  const paths = blobs.map((b) => `${PARTS_DIR}/${b.name}`);
  if (ownResults) paths.unshift(OWN_RESULTS);
  mod.FS.mount(mod.FS.filesystems.WORKERFS, { blobs }, PARTS_DIR);
  try {
    return JSON.parse(
      mod.compressWithResults(`${IN_DIR}/${current.name}`, outPath, config || '', JSON.stringify(paths), onProgress),
    );
  } finally {
    mod.FS.unmount(PARTS_DIR);
    clearResults();
  }
}

function folderName(files) {
  const first = Array.isArray(files) && files[0] ? String(files[0].path) : '';
  return first.split('/')[0] || undefined;
}

async function fetchAsFile(url, name) {
  const target = new URL(url, self.location.href);
  if (target.origin !== self.location.origin) throw new Error(`Refusing to fetch ${url}: not this site.`);
  const response = await fetch(target.href, { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`Could not load ${name}: HTTP ${response.status}.`);
  const blob = await response.blob();
  return new File([blob], name, { type: 'application/zip' });
}

// One request at a time, in order.
let queue = Promise.resolve();

self.onmessage = (event) => {
  const request = event.data;
  queue = queue.then(() => handle(request));
};

async function handle(request) {
  const { id, type } = request;
  let fileName = current ? current.name : undefined;
  try {
    await modulePromise;
    // A histogram reads the last output, whose OPFS file the next prepare() would delete.
    if (type !== 'histogram') await spill.prepare();
    if (type === 'open') {
      fileName = request.file.name;
      self.postMessage({ id, ...open(request.file, request.inspect !== false) });
    } else if (type === 'open-url') {
      fileName = request.name;
      const file = await fetchAsFile(request.url, request.name);
      self.postMessage({ id, ...open(file, request.inspect !== false) });
    } else if (type === 'open-folder') {
      fileName = folderName(request.files);
      self.postMessage({ id, ...openFolder(request.files, request.inspect !== false) });
    } else if (type === 'histogram') {
      self.postMessage({ id, type: 'histogram', histogram: histogram(request) });
    } else if (type === 'plan') {
      if (!current) throw new Error('No model is open.');
      const plan = JSON.parse(mod.plan(`${IN_DIR}/${current.name}`, request.config || ''));
      self.postMessage({ id, type: 'planned', plan });
    } else if (type === 'rewrite') {
      const { message, transfer } = await rewrite();
      self.postMessage({ id, ...message }, transfer);
    } else if (type === 'compress') {
      const { message, transfer } = await compress(
        id,
        request.config,
        request.name,
        request.results,
        request.ownResults,
      );
      self.postMessage({ id, ...message }, transfer);
    } else if (type === 'split') {
      if (!current) throw new Error('No model is open.');
      const split = JSON.parse(mod.splitWeights(`${IN_DIR}/${current.name}`, request.config || '', request.parts));
      self.postMessage({ id, type: 'split', split });
    } else if (type === 'precompute') {
      const { message, transfer } = await precompute(id, request.config, request.share, request.keep);
      self.postMessage({ id, ...message }, transfer);
    } else if (SIZE_PLAN_REQUESTS.has(type)) {
      if (!current) throw new Error('No model is open.');
      const onProgress = ({ done, total, weight }) => self.postMessage({ id, type: 'progress', done, total, weight });
      self.postMessage({ id, ...sizePlanRequest(mod, `${IN_DIR}/${current.name}`, request, onProgress) });
    } else {
      throw new Error(`Unknown request '${type}'.`);
    }
  } catch (err) {
    if (type === 'open' || type === 'open-url' || type === 'open-folder') unmountInput();
    // The core names the file by its path in the module's FS; the user knows it by its name.
    let message = messageOf(err);
    if (fileName) message = message.replaceAll(`${IN_DIR}/${fileName}`, fileName);
    self.postMessage({ id, type: 'error', message, file: fileName });
  } finally {
    if (spill) await spill.releaseIdle();
  }
}

// The histograms of one weight before (the open model) and after (the compressed output the
// page holds, mounted read-only with WORKERFS for this call: nothing is copied).
function histogram({ weight, output, outputName: name, bins }) {
  if (!current) throw new Error('No model is open.');
  if (!(output instanceof Blob)) throw new Error('No compressed output to compare with.');
  const outName = /^[^/\\]+\.zip$/.test(name || '') ? name : 'output.mlpackage.zip';
  mod.FS.mkdirTree(RESULT_DIR);
  mod.FS.mount(mod.FS.filesystems.WORKERFS, { blobs: [{ name: outName, data: output }] }, RESULT_DIR);
  try {
    return JSON.parse(mod.histogram(`${IN_DIR}/${current.name}`, `${RESULT_DIR}/${outName}`, String(weight), bins));
  } catch (err) {
    throw new Error(messageOf(err).replaceAll(`${RESULT_DIR}/${outName}`, outName));
  } finally {
    mod.FS.unmount(RESULT_DIR);
  }
}

// The finished output, unlinked from the module's FS: a File in OPFS (a Blob read from disk
// when the page downloads it; `new Blob([file])` does not copy it) or, without OPFS, the bytes.
async function takeOutput(outPath) {
  const { file, bytes } = await spill.take(outPath);
  if (file) return { bytes: file, transfer: [] };
  return { bytes: bytes.buffer, transfer: [bytes.buffer] };
}

// For tests: the module's memory (it only grows, so this is also its peak) and SPILLFS's counts.
self.mlpressMemory = () => ({ wasmBytes: mod ? mod.HEAP8.length : 0, ...(spill ? spill.stats : {}) });
