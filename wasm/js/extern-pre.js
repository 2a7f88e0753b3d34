// mlpress: emcc 3.1.6's Node.js support expects CommonJS's `require` and `__dirname`, which an
// ES module does not have. Recreate them under Node.js; browsers and workers skip this.
var require, __dirname;
if (typeof process == 'object' && typeof process.versions == 'object' &&
    typeof process.versions.node == 'string') {
  const { createRequire } = await import('node:module');
  require = createRequire(import.meta.url);
  __dirname = require('node:path').dirname(require('node:url').fileURLToPath(import.meta.url));
}
