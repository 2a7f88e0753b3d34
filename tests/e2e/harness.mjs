// Shared pieces of the browser tests: the paths, the native CLI, the local server
// (scripts/serve.mjs on a free port), Debian's Chromium through playwright-core with a fresh
// profile and a log of every request, and the many-weights fixture.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILD = path.resolve(ROOT, process.env.MLPRESS_WASM_BUILD_DIR || 'build-wasm');
export const MLPRESS_BIN = path.resolve(ROOT, process.env.MLPRESS_BIN || 'build/core/mlpress');
export const CHROMIUM = process.env.MLPRESS_CHROMIUM || '/usr/bin/chromium';
export const SAMPLE = path.join(ROOT, 'sample', 'sample.mlpackage.zip');
export const TRANSFORMER_SAMPLE = path.join(ROOT, 'sample', 'transformer.mlpackage.zip');
export const TIMEOUT = 60_000;

export function native(args) {
  const run = spawnSync(MLPRESS_BIN, args, { encoding: 'buffer' });
  if (run.error) throw new Error(`${MLPRESS_BIN} ${args.join(' ')}: ${run.error.message}`);
  return { status: run.status, stdout: run.stdout, stderr: run.stderr.toString() };
}

// `mlpress compress IN OUT [--config FILE] --json`; returns {bytes, report}.
export function nativeCompress(input, out, configText, tmp) {
  const args = ['compress', input, out, '--json'];
  if (configText && configText.trim()) {
    const file = path.join(tmp, `${path.basename(out)}.config`);
    fs.writeFileSync(file, configText);
    args.push('--config', file);
  }
  const run = native(args);
  assert.equal(run.status, 0, run.stderr);
  return { bytes: fs.readFileSync(out), report: JSON.parse(run.stdout.toString()) };
}

// Compresses on `page` with the config in its editor, downloads the result (checking it is
// named `expectedName`) into TMP/page/, and compresses `input` with the CLI and the same config
// into TMP/cli/; returns {config, fromPage, pageBytes, cliBytes, report}.
export async function compressOnPageAndCli(page, tmp, input, expectedName) {
  const config = await page.locator('#config-text').inputValue();
  const downloadPromise = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Compress', exact: true }).click();
  await page.locator('#result').waitFor();
  await page.getByRole('link', { name: /^Download / }).click();
  const download = await downloadPromise;
  assert.equal(download.suggestedFilename(), expectedName);
  const fromPage = path.join(tmp, 'page', expectedName);
  await download.saveAs(fromPage);
  // The zip's top folder is named after the output file: the same name on both sides.
  fs.mkdirSync(path.join(tmp, 'cli'), { recursive: true });
  const { bytes, report } = nativeCompress(input, path.join(tmp, 'cli', expectedName), config, tmp);
  return { config, fromPage, pageBytes: fs.readFileSync(fromPage), cliBytes: bytes, report };
}

export function checkPrerequisites() {
  for (const [file, hint] of [
    [path.join(BUILD, 'mlpress-simd.js'), 'scripts/build_wasm.sh'],
    [path.join(BUILD, 'mlpress-simd.wasm'), 'scripts/build_wasm.sh'],
    [MLPRESS_BIN, 'scripts/build.sh'],
    [CHROMIUM, 'apt-get install chromium'],
    [SAMPLE, 'git checkout sample/'],
    [TRANSFORMER_SAMPLE, 'git checkout sample/'],
  ]) {
    assert.ok(fs.existsSync(file), `${file} is missing (${hint})`);
  }
}

export function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'serve.mjs'), '--port', '0'], {
      env: { ...process.env, MLPRESS_WASM_BUILD_DIR: BUILD },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = out.match(/serving (http:\/\/127\.0\.0\.1:\d+)\//);
      if (match) resolve({ child, origin: match[1] });
    });
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('exit', (code) => reject(new Error(`serve.mjs exited (${code}): ${err}`)));
  });
}

// A server, a browser with a fresh profile, one page; every request and console error logged.
// `contextOptions` go to Playwright's launchPersistentContext (e.g. {serviceWorkers: 'block'}).
export async function openBrowser(tmp, contextOptions = {}) {
  const { child: server, origin } = await startServer();
  const context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    downloadsPath: path.join(tmp, 'downloads'),
    viewport: { width: 1280, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--no-default-browser-check',
    ],
    ...contextOptions,
  });
  context.setDefaultTimeout(TIMEOUT);
  const requests = [];
  const consoleErrors = [];
  context.on('request', (request) => requests.push(request.url()));
  const page = context.pages()[0] || (await context.newPage());
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(`pageerror: ${error.message}`));
  return {
    server,
    origin,
    context,
    page,
    requests,
    consoleErrors,
    async close() {
      await context.close();
      server.removeAllListeners('exit');
      server.kill();
    },
  };
}

// Builds the many-weights model (tests/e2e/make_many_weights.py, coremltools) into `dir`:
// returns {zip, folder}.
export function makeManyWeights(dir) {
  const run = spawnSync('python3', [path.join(ROOT, 'tests', 'e2e', 'make_many_weights.py'), dir], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return { zip: path.join(dir, 'many_weights.mlpackage.zip'), folder: path.join(dir, 'many_weights.mlpackage') };
}

export function makeTmp(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// Registers, in the calling describe, the set-up of the tests on the many-weights model: before
// them a temporary folder (`prefix`), the fixture built in it and a browser opened (prerequisites
// checked first), handed to `opened({tmp, fixture, browser, page})`; after them the browser
// closed and the folder removed.
export function withManyWeightsBrowser(prefix, opened) {
  let tmp;
  let browser;
  before(async () => {
    checkPrerequisites();
    tmp = makeTmp(prefix);
    const fixture = makeManyWeights(path.join(tmp, 'fixture'));
    browser = await openBrowser(tmp);
    opened({ tmp, fixture, browser, page: browser.page });
  });
  after(async () => {
    if (browser) await browser.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });
}
