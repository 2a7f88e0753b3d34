// End-to-end tests of the page: scripts/serve.mjs serves web/, build-wasm/ and sample/ on a
// free local port; playwright-core drives Debian's /usr/bin/chromium (headless, fresh profile)
// through opening the sample, the weight table, Rewrite and its download, a broken file, and
// checks that every request the page makes stays on the local origin.
//
//   node --test tests/e2e/
//
// Needs build-wasm/mlpress-simd.{js,wasm} (scripts/build_wasm.sh) and the native CLI
// (scripts/build.sh). Environment: MLPRESS_WASM_BUILD_DIR, MLPRESS_BIN, MLPRESS_CHROMIUM
// (default /usr/bin/chromium), MLPRESS_SCREENSHOT_DIR (default $TMPDIR/mlpress-e2e): where
// screenshots of the page (light, dark, phone width) are written for a human to look at.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUILD = path.resolve(ROOT, process.env.MLPRESS_WASM_BUILD_DIR || 'build-wasm');
const MLPRESS_BIN = path.resolve(ROOT, process.env.MLPRESS_BIN || 'build/core/mlpress');
const CHROMIUM = process.env.MLPRESS_CHROMIUM || '/usr/bin/chromium';
const SAMPLE = path.join(ROOT, 'sample', 'sample.mlpackage.zip');
const SHOTS = process.env.MLPRESS_SCREENSHOT_DIR || path.join(os.tmpdir(), 'mlpress-e2e');
const TIMEOUT = 60_000;

function native(args) {
  const run = spawnSync(MLPRESS_BIN, args, { encoding: 'buffer' });
  if (run.error) throw new Error(`${MLPRESS_BIN} ${args.join(' ')}: ${run.error.message}`);
  return { status: run.status, stdout: run.stdout, stderr: run.stderr.toString() };
}

function nativeInspect(file) {
  const run = native(['inspect', file, '--json']);
  assert.equal(run.status, 0, `mlpress inspect ${file}: ${run.stderr}`);
  return JSON.parse(run.stdout.toString());
}

// A copy of zip bytes with, for every entry, the DOS time and date set to zero (local header
// and central directory): the writer stamps entries with the current time. With `modes`, the
// Unix permission bits of the central directory's external attributes are zeroed as well, and
// the entries whose bits were not 0644/0755 are listed in `odd` ("name: mode").
function zeroZipTimes(bytes, { modes = false } = {}) {
  const buf = Buffer.from(bytes);
  const eocdSig = 0x06054b50;
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== eocdSig) eocd--;
  assert.ok(eocd >= 0, 'not a zip: no end of central directory');
  const entries = buf.readUInt16LE(eocd + 10);
  const odd = [];
  let at = buf.readUInt32LE(eocd + 16);
  for (let i = 0; i < entries; i++) {
    assert.equal(buf.readUInt32LE(at), 0x02014b50, `central directory entry ${i}`);
    const local = buf.readUInt32LE(at + 42);
    assert.equal(buf.readUInt32LE(local), 0x04034b50, `local header ${i}`);
    buf.writeUInt32LE(0, at + 12); // central: time, date
    buf.writeUInt32LE(0, local + 10); // local: time, date
    const nameLength = buf.readUInt16LE(at + 28);
    if (modes) {
      const attributes = buf.readUInt32LE(at + 38);
      const mode = (attributes >>> 16) & 0o7777;
      const name = buf.toString('utf8', at + 46, at + 46 + nameLength);
      if (!name.endsWith('/') && mode !== 0o644) odd.push(`${name}: ${mode.toString(8)}`);
      buf.writeUInt32LE((attributes & ~(0o7777 << 16)) >>> 0, at + 38);
    }
    at += 46 + nameLength + buf.readUInt16LE(at + 30) + buf.readUInt16LE(at + 32);
  }
  return Object.assign(buf, { odd });
}

// The weights of an inspect report without the report's own path.
function weightsOf(report) {
  return report.weights;
}

function startServer() {
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

describe('the mlpress page', () => {
  let server;
  let origin;
  let context;
  let page;
  let tmp;
  let profile;
  const requests = [];
  const consoleErrors = [];

  before(async () => {
    for (const [file, hint] of [
      [path.join(BUILD, 'mlpress-simd.js'), 'scripts/build_wasm.sh'],
      [path.join(BUILD, 'mlpress-simd.wasm'), 'scripts/build_wasm.sh'],
      [MLPRESS_BIN, 'scripts/build.sh'],
      [CHROMIUM, 'apt-get install chromium'],
      [SAMPLE, 'git checkout sample/'],
    ]) {
      assert.ok(fs.existsSync(file), `${file} is missing (${hint})`);
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlpress-e2e-'));
    profile = path.join(tmp, 'profile');
    fs.mkdirSync(SHOTS, { recursive: true });
    ({ child: server, origin } = await startServer());
    context = await chromium.launchPersistentContext(profile, {
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
    });
    context.setDefaultTimeout(TIMEOUT);
    // Every request of every page and worker in this profile.
    context.on('request', (request) => requests.push(request.url()));
    page = context.pages()[0] || (await context.newPage());
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(`pageerror: ${error.message}`));
  });

  after(async () => {
    if (context) await context.close();
    if (server) {
      server.removeAllListeners('exit');
      server.kill();
    }
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  // Loads the page and waits until the worker has its module, or fails with the page's message.
  async function loadPage(query = '') {
    await page.goto(`${origin}/${query}`);
    await page.waitForFunction(
      () => document.documentElement.dataset.wasm || !document.getElementById('error').hidden,
    );
    if (await page.locator('#error').isVisible()) {
      const message = await page.locator('#error-message').innerText();
      const hint = message.includes('unsafe-eval')
        ? ' (the module uses eval: link it with -sDYNAMIC_EXECUTION=0, see docs/web.md)'
        : '';
      assert.fail(`the page did not start: ${message}${hint}`);
    }
    await page.locator('#status', { hasText: 'Ready' }).waitFor();
  }

  async function openSample() {
    await page.getByRole('button', { name: 'Try the sample model' }).click();
    await page.locator('#status', { hasText: 'Opened sample.mlpackage.zip' }).waitFor();
  }

  async function allRowNames() {
    await page.getByLabel('Hide constants of fewer than 10 elements').uncheck();
    await page.getByLabel('Filter').fill('');
    return page.locator('#weight-table tbody tr[data-name]').evaluateAll((rows) => rows.map((r) => r.dataset.name));
  }

  test('the sample opens, and the weight table lists what the CLI lists', async () => {
    await loadPage();
    assert.equal(await page.locator('html').getAttribute('data-wasm'), 'simd');
    await openSample();

    const report = nativeInspect(SAMPLE);
    const names = await allRowNames();
    assert.deepEqual(names, report.weights.map((w) => w.name));

    const summary = await page.locator('#summary').innerText();
    assert.match(summary, /Specification version\s+7/);
    assert.match(summary, /CoreML6/);
    for (const f of [...report.model.inputs, ...report.model.outputs]) assert.ok(summary.includes(f.name), f.name);
    assert.ok(summary.includes(report.model.metadata.author));
    assert.ok(summary.includes(report.model.metadata.short_description));

    // One row in full: the first weight with a blob.
    const blob = report.weights.find((w) => w.storage.kind === 'blob');
    const cells = await page.locator(`#weight-table tbody tr[data-name="${blob.name}"] > *`).allInnerTexts();
    assert.equal(cells[1], `[${blob.shape.join(', ')}]`);
    assert.equal(cells[2], blob.dtype);
    assert.equal(cells[3].replaceAll(',', ''), String(blob.element_count));
    assert.equal(cells[5], `weight.bin @ ${blob.storage.offset}`);
    assert.ok(cells[6].includes(blob.consumers[0].op_type));
  });

  test('hiding small constants, filtering and sorting', async () => {
    const report = nativeInspect(SAMPLE);
    const rows = page.locator('#weight-table tbody tr[data-name]');

    await page.getByLabel('Hide constants of fewer than 10 elements').check();
    const big = report.weights.filter((w) => w.element_count >= 10).map((w) => w.name);
    assert.deepEqual(await rows.evaluateAll((r) => r.map((x) => x.dataset.name)), big);

    await page.getByLabel('Filter').fill('fp16 weight');
    const filtered = await rows.evaluateAll((r) => r.map((x) => x.dataset.name));
    assert.ok(filtered.length > 0);
    for (const name of filtered) {
      const w = report.weights.find((x) => x.name === name);
      assert.equal(w.dtype, 'fp16');
    }
    await page.getByLabel('Filter').fill('no such weight anywhere');
    await page.getByText('No weights match.').waitFor();

    const names = await allRowNames();
    const elementsHeader = page.locator('#weight-table thead th[data-key="elements"]');
    await elementsHeader.getByRole('button').click();
    assert.equal(await elementsHeader.getAttribute('aria-sort'), 'ascending');
    let counts = await rows.evaluateAll((r) => r.map((x) => x.children[3].textContent.replaceAll(',', '')).map(Number));
    assert.deepEqual(counts, [...counts].sort((a, b) => a - b));
    assert.equal(counts.length, names.length);
    await elementsHeader.getByRole('button').click();
    assert.equal(await elementsHeader.getAttribute('aria-sort'), 'descending');
    counts = await rows.evaluateAll((r) => r.map((x) => x.children[3].textContent.replaceAll(',', '')).map(Number));
    assert.deepEqual(counts, [...counts].sort((a, b) => b - a));
  });

  test('Rewrite offers a download equal to `mlpress compress`', async (t) => {
    const downloadPromise = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Rewrite' }).click();
    await page.locator('#result').waitFor();
    const link = page.getByRole('link', { name: /^Download / });
    await link.click();
    const download = await downloadPromise;
    assert.equal(download.suggestedFilename(), 'sample.mlpackage.zip');
    const fromPage = path.join(tmp, 'page-out', 'sample.mlpackage.zip');
    await download.saveAs(fromPage);

    // The zip's top folder is named after the output file: the same name on both sides.
    const fromCli = path.join(tmp, 'cli-out', 'sample.mlpackage.zip');
    fs.mkdirSync(path.dirname(fromCli), { recursive: true });
    const run = native(['compress', SAMPLE, fromCli]);
    assert.equal(run.status, 0, run.stderr);

    const pageBytes = fs.readFileSync(fromPage);
    const cliBytes = fs.readFileSync(fromCli);
    assert.equal(pageBytes.length, cliBytes.length);
    if (!zeroZipTimes(pageBytes).equals(zeroZipTimes(cliBytes))) {
      // Known: in the browser the files reach the zip with mode 0666 (Emscripten's MEMFS has no
      // umask), natively with 0644. Everything else must be identical.
      const page = zeroZipTimes(pageBytes, { modes: true });
      const cli = zeroZipTimes(cliBytes, { modes: true });
      t.diagnostic(`zip differs from the CLI's in entry permissions: ${page.odd.join(', ')} (CLI: ${cli.odd.join(', ') || 'all 644'})`);
      assert.ok(page.equals(cli), 'same zip, up to entry timestamps and permission bits');
    }
    assert.deepEqual(weightsOf(nativeInspect(fromPage)), weightsOf(nativeInspect(fromCli)));

    const text = await page.locator('#result-text').innerText();
    const inputSize = fs.statSync(SAMPLE).size;
    assert.ok(text.includes(`${inputSize.toLocaleString('en-US')} bytes`), text);
    assert.ok(text.includes(`${pageBytes.length.toLocaleString('en-US')} bytes`), text);
  });

  test('a broken file shows an error naming it, and the page keeps working', async () => {
    const name = 'broken.mlpackage.zip';
    await page.locator('#file-input').setInputFiles({
      name,
      mimeType: 'application/zip',
      buffer: Buffer.from('this is a text file, not a zip archive\n'),
    });
    const error = page.getByRole('alert');
    await error.waitFor();
    const text = await error.innerText();
    assert.ok(text.includes(`Could not open “${name}”`), text);

    // The core's own message, as the CLI prints it for a file of that name (the page names the
    // file without its path).
    const local = path.join(tmp, name);
    fs.writeFileSync(local, 'this is a text file, not a zip archive\n');
    const cli = native(['inspect', local]);
    assert.equal(cli.status, 1);
    const cliMessage = cli.stderr.trim().replace(/^mlpress: error: /, '');
    assert.ok(cliMessage.includes(local), cli.stderr);
    const message = await page.locator('#error-message').innerText();
    assert.equal(message, cliMessage.replaceAll(local, name));
    assert.ok(await page.locator('#weights').isHidden());

    await openSample();
    assert.ok(await error.isHidden());
    assert.equal((await allRowNames()).length, nativeInspect(SAMPLE).weights.length);
  });

  test('keyboard only: Tab to the sample button, Enter, then sort with the keyboard', async () => {
    await loadPage();
    let focused = '';
    for (let i = 0; i < 10 && focused !== 'sample-button'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
    }
    assert.equal(focused, 'sample-button');
    await page.keyboard.press('Enter');
    await page.locator('#status', { hasText: 'Opened sample.mlpackage.zip' }).waitFor();
    await page.locator('#weight-table thead th[data-key="name"] button').focus();
    await page.keyboard.press('Enter');
    assert.equal(await page.locator('#weight-table thead th[data-key="name"]').getAttribute('aria-sort'), 'ascending');
  });

  test('the baseline build (?wasm=baseline) gives the same table', { skip: !fs.existsSync(path.join(BUILD, 'mlpress-baseline.wasm')) && 'no baseline build' }, async () => {
    await loadPage('?wasm=baseline');
    assert.equal(await page.locator('html').getAttribute('data-wasm'), 'baseline');
    await openSample();
    assert.deepEqual(await allRowNames(), nativeInspect(SAMPLE).weights.map((w) => w.name));
  });

  test('screenshots: light, dark, phone width', async () => {
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const [label, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 390, height: 844 }]]) {
        await page.setViewportSize(viewport);
        await loadPage();
        await openSample();
        await page.getByRole('button', { name: 'Rewrite' }).click();
        await page.locator('#result').waitFor();
        const file = path.join(SHOTS, `${label}-${scheme}.png`);
        await page.screenshot({ path: file, fullPage: true });
        assert.ok(fs.statSync(file).size > 0);
      }
    }
    // And the error box.
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.locator('#file-input').setInputFiles({ name: 'notes.mlpackage.zip', mimeType: 'application/zip', buffer: Buffer.from('hello\n') });
    await page.getByRole('alert').waitFor();
    await page.locator('.open').screenshot({ path: path.join(SHOTS, 'error-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.locator('.open').screenshot({ path: path.join(SHOTS, 'error-light.png') });
  });

  test('every request went to the local origin, with no console errors', () => {
    assert.ok(requests.length > 0);
    assert.ok(requests.some((u) => u.endsWith('/wasm/mlpress-simd.wasm')), 'the worker\'s requests are seen');
    const foreign = requests.filter((u) => new URL(u).origin !== origin);
    assert.deepEqual(foreign, [], `requests off ${origin}`);
    assert.deepEqual(consoleErrors, []);
  });
});
