// mlpress: under Node.js, read the .wasm beside this file unless the caller passed
// `wasmBinary` or `locateFile`. Node.js 18+ has a global fetch, which emcc 3.1.6's loader would
// try on a file path, and fail.
if (typeof process == 'object' && typeof process.versions == 'object' &&
    typeof process.versions.node == 'string' && !Module['wasmBinary'] && !Module['locateFile']) {
  Module['wasmBinary'] = require('fs').readFileSync(
      require('url').fileURLToPath(_scriptDir.replace(/\.m?js$/, '.wasm')));
}
