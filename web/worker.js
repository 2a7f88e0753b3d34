// The mlpress worker: owns the WebAssembly module, so the page never blocks on it.
//
// Messages in (from app.js), each with a numeric `id`:
//   {id, type: 'open', file}          mount the File (WORKERFS, read lazily) and inspect it
//   {id, type: 'open-url', url, name} fetch a same-origin file (the sample), then as 'open'
//   {id, type: 'rewrite'}             rewrite the open package to MEMFS, send back the bytes
//   {id, type: 'compress', config, name}  compress the open package with the config text
//                                     (coremltools YAML/JSON, '' = lossless) into MEMFS as
//                                     NAME, send back the bytes and the report
// Messages out:
//   {type: 'ready', variant}                          once the module is loaded
//   {id, type: 'inspected', name, size, report}       report = the parsed inspect JSON
//   {id, type: 'rewritten', name, bytes, result}      bytes = ArrayBuffer (transferred)
//   {id, type: 'compressed', name, bytes, inputSize, report}  report = the parsed compress JSON
//   {id, type: 'error', message, file}                any failure, message verbatim
//   {type: 'fatal', message}                          the module could not be loaded

const IN_DIR = '/in';
const OUT_DIR = '/out';

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
  return m;
})();

modulePromise.then(
  (m) => {
    mod = m;
    self.postMessage({ type: 'ready', variant });
  },
  (err) => {
    self.postMessage({
      type: 'fatal',
      message: `The mlpress module (${variant}) could not be loaded: ${messageOf(err)}`,
    });
  },
);

function messageOf(err) {
  if (err instanceof Error) return err.message;
  return String(err);
}

function unmountInput() {
  if (!current) return;
  try {
    mod.FS.unmount(IN_DIR);
  } catch {
    // not mounted
  }
  current = null;
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

function open(file) {
  unmountInput();
  clearOutput();
  // WORKERFS reads the File lazily through FileReaderSync: nothing is copied into wasm memory.
  mod.FS.mount(mod.FS.filesystems.WORKERFS, { files: [file] }, IN_DIR);
  current = { name: file.name, size: file.size };
  const report = JSON.parse(mod.inspect(`${IN_DIR}/${file.name}`));
  return { type: 'inspected', name: file.name, size: file.size, report };
}

function rewrite() {
  if (!current) throw new Error('No model is open.');
  clearOutput();
  const name = outputName(current.name);
  const outPath = `${OUT_DIR}/${name}`;
  const result = mod.rewrite(`${IN_DIR}/${current.name}`, outPath);
  const data = mod.FS.readFile(outPath); // a copy; free the MEMFS file at once
  mod.FS.unlink(outPath);
  return {
    message: { type: 'rewritten', name, inputSize: current.size, result, bytes: data.buffer },
    transfer: [data.buffer],
  };
}

function compress(config, requestedName) {
  if (!current) throw new Error('No model is open.');
  clearOutput();
  // The output's name is also the zip's top folder: a flat name only.
  const name = /^[^/\\]+\.mlpackage\.zip$/.test(requestedName || '') ? requestedName : outputName(current.name);
  const outPath = `${OUT_DIR}/${name}`;
  const report = JSON.parse(mod.compress(`${IN_DIR}/${current.name}`, outPath, config || ''));
  const data = mod.FS.readFile(outPath); // a copy; free the MEMFS file at once
  mod.FS.unlink(outPath);
  return {
    message: { type: 'compressed', name, inputSize: current.size, report, bytes: data.buffer },
    transfer: [data.buffer],
  };
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
    if (type === 'open') {
      fileName = request.file.name;
      self.postMessage({ id, ...open(request.file) });
    } else if (type === 'open-url') {
      fileName = request.name;
      const file = await fetchAsFile(request.url, request.name);
      self.postMessage({ id, ...open(file) });
    } else if (type === 'rewrite') {
      const { message, transfer } = rewrite();
      self.postMessage({ id, ...message }, transfer);
    } else if (type === 'compress') {
      const { message, transfer } = compress(request.config, request.name);
      self.postMessage({ id, ...message }, transfer);
    } else {
      throw new Error(`Unknown request '${type}'.`);
    }
  } catch (err) {
    if (type === 'open' || type === 'open-url') unmountInput();
    // The core names the file by its path in the module's FS; the user knows it by its name.
    let message = messageOf(err);
    if (fileName) message = message.replaceAll(`${IN_DIR}/${fileName}`, fileName);
    self.postMessage({ id, type: 'error', message, file: fileName });
  }
}
