// Times one compress call of the wasm module under Node.js; prints the wall and CPU seconds on the
// last line.
//   node scripts/bench_wasm.mjs simd|baseline IN.zip OUT.zip CONFIG.yaml [WASM_DIR]
// WASM_DIR holds mlpress-<variant>.{js,wasm} (default build-wasm/).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [variant, input, output, configPath, wasmDir] = process.argv.slice(2);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const build = wasmDir ? path.resolve(wasmDir) : path.join(root, 'build-wasm');
const { default: createMlpress } = await import(pathToFileURL(path.join(build, `mlpress-${variant}.js`)).href);
const mod = await createMlpress({ wasmBinary: fs.readFileSync(path.join(build, `mlpress-${variant}.wasm`)) });
for (const dir of new Set([path.dirname(path.resolve(input)), path.dirname(path.resolve(output))])) {
  mod.FS.mkdirTree(dir);
  mod.FS.mount(mod.FS.filesystems.NODEFS, { root: dir }, dir);
}
const config = fs.readFileSync(configPath, 'utf8');
const cpuStart = process.cpuUsage();
const start = process.hrtime.bigint();
mod.compress(path.resolve(input), path.resolve(output), config);
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const cpu = process.cpuUsage(cpuStart);
console.log(seconds.toFixed(4), ((cpu.user + cpu.system) / 1e6).toFixed(4));
