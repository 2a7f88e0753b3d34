// Times compress calls of the wasm module under Node.js: the first call on a freshly loaded
// module (module loading excluded), then, with CALLS > 1, further calls on the same module.
// Prints one line per call, "WALL_SECONDS CPU_SECONDS" (CPU: the whole process, V8's compiler
// threads included).
//   node scripts/bench_wasm.mjs simd|baseline IN.zip OUT.zip CONFIG.yaml [WASM_DIR] [CALLS]
// WASM_DIR holds mlpress-<variant>.{js,wasm} (default build-wasm/). OUT is removed before each
// call, as the native benchmark removes its output, so no call pays for replacing the last one.
//
// The first call runs code V8 has not compiled yet: Node.js 20 compiles wasm functions lazily
// (Liftoff, on their first call) and recompiles the hot ones with TurboFan in the background
// during the call; a loop that started in Liftoff code finishes there. Later calls run the
// optimised code. Both are reported, labelled: a page can warm its worker's module before the
// user's file arrives, and coremltools' repeated runs happen in a warm Python process.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [variant, input, output, configPath, wasmDir, callsArg] = process.argv.slice(2);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const build = wasmDir ? path.resolve(wasmDir) : path.join(root, 'build-wasm');
const calls = Math.max(1, Number(callsArg || 1));
const { default: createMlpress } = await import(pathToFileURL(path.join(build, `mlpress-${variant}.js`)).href);
const mod = await createMlpress({ wasmBinary: fs.readFileSync(path.join(build, `mlpress-${variant}.wasm`)) });
for (const dir of new Set([path.dirname(path.resolve(input)), path.dirname(path.resolve(output))])) {
  mod.FS.mkdirTree(dir);
  mod.FS.mount(mod.FS.filesystems.NODEFS, { root: dir }, dir);
}
const config = fs.readFileSync(configPath, 'utf8');
for (let call = 0; call < calls; ++call) {
  fs.rmSync(path.resolve(output), { force: true });
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  mod.compress(path.resolve(input), path.resolve(output), config);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  console.log(seconds.toFixed(4), ((cpu.user + cpu.system) / 1e6).toFixed(4));
}
