// The mlpress page: file picking, the model summary, the weight table, the compression config,
// compress and download. All the work happens in worker.js; this module only talks to it and
// draws. The config text and its presets are handled by config.js.
//
// Everything taken from a model (names, metadata) is untrusted: it is only ever put into the
// page as text (textContent), never as HTML.

import { PRESETS, isBlank, opNameOverrides, outputName, setKeepDense } from './config.js';

const $ = (id) => document.getElementById(id);

const ui = {
  dropzone: $('dropzone'),
  fileInput: $('file-input'),
  sampleButton: $('sample-button'),
  status: $('status'),
  error: $('error'),
  errorTitle: $('error-title'),
  errorMessage: $('error-message'),
  errorDismiss: $('error-dismiss'),
  model: $('model'),
  summary: $('summary'),
  weights: $('weights'),
  filter: $('weight-filter'),
  hideSmall: $('hide-small'),
  weightCount: $('weight-count'),
  table: $('weight-table'),
  tbody: document.querySelector('#weight-table tbody'),
  compress: $('compress'),
  preset: $('preset'),
  configText: $('config-text'),
  configFile: $('config-file'),
  configExport: $('config-export'),
  compressButton: $('compress-button'),
  compressActions: $('compress-actions'),
  progress: $('progress'),
  progressText: $('progress-text'),
  result: $('result'),
  resultText: $('result-text'),
  download: $('download-link'),
  resultsBody: document.querySelector('#results-table tbody'),
  variant: $('variant'),
};

const SAMPLE_URL = 'sample/sample.mlpackage.zip';
const SAMPLE_NAME = 'sample.mlpackage.zip';
const SMALL_CONSTANT = 10; // like `mlpress inspect`'s text table: fewer elements are hidden

// ---------------------------------------------------------------------------------------------
// The worker

const forcedVariant = new URLSearchParams(location.search).get('wasm');
const workerUrl = new URL('worker.js', import.meta.url);
if (forcedVariant) workerUrl.searchParams.set('wasm', forcedVariant);
const worker = new Worker(workerUrl, { type: 'module', name: 'mlpress' });

let nextId = 1;
const pending = new Map();
let ready = false;
let busy = false;

worker.onmessage = (event) => {
  const message = event.data;
  if (message.type === 'ready') {
    ready = true;
    ui.variant.textContent = message.variant === 'simd' ? 'SIMD build' : 'baseline build, without SIMD';
    document.documentElement.dataset.wasm = message.variant;
    setStatus('Ready. Open a model to begin.');
    updateControls();
    return;
  }
  if (message.type === 'fatal') {
    setStatus('');
    ui.variant.textContent = 'not loaded';
    showError('mlpress could not start', message.message);
    for (const { reject } of pending.values()) reject(new Error(message.message));
    pending.clear();
    return;
  }
  const entry = pending.get(message.id);
  if (!entry) return;
  pending.delete(message.id);
  if (message.type === 'error') entry.reject(Object.assign(new Error(message.message), { file: message.file }));
  else entry.resolve(message);
};

worker.onerror = (event) => {
  event.preventDefault();
  setStatus('');
  showError('mlpress could not start', `The worker failed: ${event.message || 'unknown error'}.`);
};

function call(message, transfer = []) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, ...message }, transfer);
  });
}

// ---------------------------------------------------------------------------------------------
// State and controls

let state = null; // {name, size, report, rows}
let downloadUrl = null;
const sort = { key: null, dir: 1 };

function setStatus(text) {
  ui.status.textContent = text;
}

// The alert box sits under the control that failed: the open section's, or the compress
// section's (it is one element, moved).
function showError(title, message, near = ui.status) {
  if (ui.error.previousElementSibling !== near) near.after(ui.error);
  ui.errorTitle.textContent = title;
  ui.errorMessage.textContent = message;
  ui.error.hidden = false;
}

function hideError() {
  ui.error.hidden = true;
}

function updateControls() {
  const disabled = !ready || busy;
  ui.fileInput.disabled = disabled;
  ui.sampleButton.disabled = disabled;
  ui.compressButton.disabled = disabled || !state;
  ui.preset.disabled = busy;
  ui.configFile.disabled = busy;
  ui.configText.readOnly = busy;
  for (const select of ui.tbody.querySelectorAll('select')) select.disabled = busy || isBlank(ui.configText.value);
  ui.dropzone.classList.toggle('disabled', disabled);
  document.body.classList.toggle('busy', busy);
}

async function run(statusText, task) {
  if (!ready || busy) return;
  busy = true;
  hideError();
  setStatus(statusText);
  updateControls();
  try {
    await task();
  } finally {
    busy = false;
    updateControls();
  }
}

// ---------------------------------------------------------------------------------------------
// Opening a model

function openFile(file) {
  return run(`Reading ${file.name}…`, async () => {
    try {
      const message = await call({ type: 'open', file });
      showModel(message);
    } catch (err) {
      failOpen(file.name, err);
    }
  });
}

function openSample() {
  return run(`Loading the sample model…`, async () => {
    try {
      const message = await call({ type: 'open-url', url: SAMPLE_URL, name: SAMPLE_NAME });
      showModel(message);
    } catch (err) {
      failOpen(SAMPLE_NAME, err);
    }
  });
}

function failOpen(name, err) {
  state = null;
  ui.model.hidden = true;
  ui.weights.hidden = true;
  ui.compress.hidden = true;
  clearResult();
  setStatus('');
  showError(`Could not open “${name}”`, err.message);
}

function showModel({ name, size, report }) {
  clearResult();
  state = { name, size, report, rows: report.weights.map(toRow) };
  renderSummary();
  renderWeights();
  ui.model.hidden = false;
  ui.weights.hidden = false;
  ui.compress.hidden = false;
  const t = report.totals;
  setStatus(`Opened ${name}: ${plural(t.weights, 'weight')}, ${formatBytes(t.dense_weight_bytes)} of weight data.`);
}

ui.fileInput.addEventListener('change', () => {
  const file = ui.fileInput.files[0];
  ui.fileInput.value = ''; // choosing the same file again fires 'change' again
  if (file) openFile(file);
});

ui.sampleButton.addEventListener('click', () => openSample());
ui.errorDismiss.addEventListener('click', () => {
  const inCompress = ui.error.previousElementSibling === ui.compressActions;
  hideError();
  (inCompress && !ui.compressButton.disabled ? ui.compressButton : ui.sampleButton).focus();
});

// Dropping anywhere on the page opens the file; the browser must not navigate to it instead.
let dragDepth = 0;
window.addEventListener('dragenter', (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  dragDepth++;
  ui.dropzone.classList.add('dragging');
});
window.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) ui.dropzone.classList.remove('dragging');
});
window.addEventListener('dragover', (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = ready && !busy ? 'copy' : 'none';
});
window.addEventListener('drop', (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  dragDepth = 0;
  ui.dropzone.classList.remove('dragging');
  const files = [...event.dataTransfer.files];
  if (files.length === 0) return;
  if (files.length > 1) {
    showError('One model at a time', `You dropped ${files.length} files; drop a single .mlpackage.zip.`);
    return;
  }
  const [file] = files;
  const item = event.dataTransfer.items && event.dataTransfer.items[0];
  const entry = item && item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
  if (entry && entry.isDirectory) {
    // A folder: not supported yet.
    showError(`Could not open “${file.name}”`, 'Folders cannot be opened yet: zip the .mlpackage folder first.');
    return;
  }
  openFile(file);
});

function hasFiles(event) {
  return event.dataTransfer && [...event.dataTransfer.types].includes('Files');
}

// ---------------------------------------------------------------------------------------------
// The summary

function renderSummary() {
  const { report, name, size } = state;
  const model = report.model;
  ui.summary.replaceChildren();

  const facts = [
    ['File', `${name} (${formatBytes(size)})`],
    ['Package', report.package.name],
    ['Model type', model.type],
    ['Specification version', String(model.specification_version)],
    ['Opsets', opsets(report.programs)],
    [
      'Weights',
      `${plural(report.totals.weights, 'weight')}, ${formatCount(report.totals.weight_elements)} elements, ` +
        `${formatBytes(report.totals.dense_weight_bytes)} dense; ` +
        `${formatCount(report.totals.compressed_weights)} already compressed`,
    ],
    ['Weights folder', formatBytes(report.totals.weights_dir_bytes)],
  ];
  if (model.default_function) facts.push(['Default function', model.default_function]);
  ui.summary.append(definitionList(facts, 'facts'));

  ui.summary.append(featureBlock('Inputs', model.inputs));
  ui.summary.append(featureBlock('Outputs', model.outputs));
  if (model.states && model.states.length) ui.summary.append(featureBlock('States', model.states));
  if (model.functions && model.functions.length) {
    for (const fn of model.functions) {
      ui.summary.append(featureBlock(`Function ${fn.name}: inputs`, fn.inputs));
      ui.summary.append(featureBlock(`Function ${fn.name}: outputs`, fn.outputs));
    }
  }
  ui.summary.append(metadataBlock(model.metadata || {}));
}

function opsets(programs) {
  const parts = [];
  for (const program of programs || []) {
    for (const fn of program.functions) {
      const where = programs.length > 1 ? `${program.id} / ${fn.name}` : fn.name;
      parts.push(`${fn.opset} (${where}, ${plural(fn.op_count, 'op')})`);
    }
  }
  return parts.length ? parts.join('; ') : 'none (not an ML Program)';
}

function definitionList(pairs, className) {
  const dl = el('dl', className);
  for (const [term, value] of pairs) {
    if (value === undefined || value === null || value === '') continue;
    dl.append(el('dt', null, term), el('dd', null, value));
  }
  return dl;
}

function featureBlock(title, features) {
  const block = el('div', 'block');
  block.append(el('h3', null, title));
  if (!features || features.length === 0) {
    block.append(el('p', 'muted', 'none'));
    return block;
  }
  const ul = el('ul', 'features');
  for (const f of features) {
    const li = el('li');
    li.append(el('code', 'feature-name', f.name), ' ', el('span', 'feature-type', describeFeature(f)));
    if (f.description) li.append(el('div', 'muted', f.description));
    ul.append(li);
  }
  block.append(ul);
  return block;
}

function describeFeature(f) {
  if (f.type === 'multiArray') {
    const shape = Array.isArray(f.shape) && f.shape.length ? ` [${f.shape.join(', ')}]` : '';
    return `${f.dtype || 'multiArray'}${shape}`;
  }
  if (f.type === 'image') {
    const size = f.width && f.height ? ` ${f.width}×${f.height}` : '';
    return `image${size}${f.color_space ? ` ${f.color_space}` : ''}`;
  }
  return f.type || 'unknown';
}

function metadataBlock(metadata) {
  const block = el('div', 'block metadata');
  block.append(el('h3', null, 'Metadata'));
  const pairs = [
    ['Author', metadata.author],
    ['Description', metadata.short_description],
    ['Version', metadata.version],
    ['License', metadata.license],
  ];
  for (const [key, value] of Object.entries(metadata.user_defined || {})) pairs.push([key, String(value)]);
  if (pairs.every(([, v]) => v === undefined || v === null || v === '')) {
    block.append(el('p', 'muted', 'none'));
  } else {
    block.append(definitionList(pairs, 'metadata-list'));
  }
  return block;
}

// ---------------------------------------------------------------------------------------------
// The weight table

function toRow(w) {
  const consumers = w.consumers || [];
  const storage = describeStorage(w.storage);
  const compression = describeCompression(w.compression);
  const shape = `[${(w.shape || []).join(', ')}]`;
  const consumerText = consumers.map((c) => `${c.op_type}.${c.parameter} (${c.op_name})`);
  if (w.block_output) consumerText.push('block output');
  return {
    weight: w,
    name: w.name,
    shape,
    dtype: w.dtype,
    elements: w.element_count,
    sparsity: w.sparsity,
    storage,
    consumers: consumerText,
    compression,
    search: [w.name, w.op_name, w.op_type, shape, w.dtype, storage, compression, ...consumerText]
      .join('\n')
      .toLowerCase(),
  };
}

function describeStorage(storage) {
  if (!storage) return '';
  if (storage.kind === 'blob') {
    const file = (storage.file || '').replace(/^@model_path\/weights\//, '');
    return `${file} @ ${storage.offset}`;
  }
  return storage.kind;
}

function describeCompression(c) {
  if (!c) return '';
  const parts = [c.kind];
  if (c.nbits) parts.push(`${c.nbits}-bit`);
  if (c.granularity) parts.push(c.granularity.replaceAll('_', ' '));
  if (c.sparsity !== null && c.sparsity !== undefined) parts.push(`${formatPercent(c.sparsity)} sparse`);
  return parts.join(', ');
}

const compareBy = {
  name: (a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }),
  shape: (a, b) => compareArrays(a.weight.shape || [], b.weight.shape || []),
  dtype: (a, b) => a.dtype.localeCompare(b.dtype, undefined, { numeric: true }),
  elements: (a, b) => a.elements - b.elements,
  sparsity: (a, b) => nullLast(a.sparsity, b.sparsity),
  storage: (a, b) => a.storage.localeCompare(b.storage, undefined, { numeric: true }),
  consumers: (a, b) => a.consumers.length - b.consumers.length || a.consumers.join().localeCompare(b.consumers.join()),
  compression: (a, b) => a.compression.localeCompare(b.compression),
};

// Weights that a config can compress: float constants not compressed already.
function compressible(w) {
  return /^(fp|bf)\d+$/.test(w.dtype) && !w.compression;
}

function compareArrays(a, b) {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

function nullLast(a, b) {
  if (a === null || a === undefined) return b === null || b === undefined ? 0 : 1;
  if (b === null || b === undefined) return -1;
  return a - b;
}

function visibleRows() {
  const needle = ui.filter.value.trim().toLowerCase();
  const words = needle ? needle.split(/\s+/) : [];
  let rows = state.rows.filter(
    (r) => (!ui.hideSmall.checked || r.elements >= SMALL_CONSTANT) && words.every((w) => r.search.includes(w)),
  );
  if (sort.key) {
    const cmp = compareBy[sort.key];
    // Stable sort; descending flips the comparison, ties stay in model order.
    rows = rows.map((r, i) => [r, i]).sort((x, y) => sort.dir * cmp(x[0], y[0]) || x[1] - y[1]).map((x) => x[0]);
  }
  return rows;
}

function renderWeights() {
  const rows = visibleRows();
  const overrides = currentOverrides();
  const fragment = document.createDocumentFragment();
  for (const r of rows) {
    const tr = el('tr');
    tr.dataset.name = r.name;
    const name = el('th', 'name');
    name.scope = 'row';
    name.append(el('code', null, r.name));
    if (r.weight.op_name !== r.name) name.append(el('div', 'muted', `op ${r.weight.op_name}`));
    tr.append(
      name,
      el('td', 'shape', r.shape),
      el('td', 'dtype', r.dtype),
      el('td', 'num', formatCount(r.elements)),
      el('td', 'num', r.sparsity === null || r.sparsity === undefined ? '—' : formatPercent(r.sparsity)),
      el('td', 'storage', r.storage),
      consumersCell(r.consumers),
      el('td', 'compression', r.compression || '—'),
      overrideCell(r.weight, overrides),
    );
    fragment.append(tr);
  }
  ui.tbody.replaceChildren(fragment);
  const total = state.rows.length;
  ui.weightCount.textContent =
    rows.length === total ? `${plural(total, 'weight')}` : `showing ${rows.length} of ${plural(total, 'weight')}`;
  if (rows.length === 0) {
    const tr = el('tr', 'empty');
    const td = el('td', 'muted', 'No weights match.');
    td.colSpan = 9;
    tr.append(td);
    ui.tbody.append(tr);
  }
}

function consumersCell(consumers) {
  const td = el('td', 'consumers');
  if (consumers.length === 0) {
    td.textContent = '—';
    return td;
  }
  const ul = el('ul');
  for (const c of consumers) ul.append(el('li', null, c));
  td.append(ul);
  return td;
}

// The per-row choice: follow the config, or keep this op dense (an op_name_configs entry set to
// null in the config text). An entry with its own config shows as such.
function overrideCell(w, overrides) {
  const td = el('td', 'override');
  if (!compressible(w)) {
    td.textContent = '—';
    return td;
  }
  const select = el('select');
  select.dataset.op = w.op_name;
  select.setAttribute('aria-label', `When compressing ${w.op_name}`);
  select.append(new Option('Use config', 'config'), new Option('Keep dense', 'dense'));
  setOverrideSelect(select, overrides.get(w.op_name));
  select.disabled = busy || isBlank(ui.configText.value);
  td.append(select);
  return td;
}

function setOverrideSelect(select, override) {
  let custom = select.querySelector('option[value="custom"]');
  if (override === 'custom' && !custom) {
    custom = new Option('Own entry in config', 'custom');
    select.append(custom);
  } else if (override !== 'custom' && custom) {
    custom.remove();
  }
  select.value = override || 'config';
}

function currentOverrides() {
  return opNameOverrides(ui.configText.value);
}

// After the config text changed: the table's choices follow it.
function syncOverrides() {
  const overrides = currentOverrides();
  for (const select of ui.tbody.querySelectorAll('select')) {
    setOverrideSelect(select, overrides.get(select.dataset.op));
    select.disabled = busy || isBlank(ui.configText.value);
  }
}

ui.tbody.addEventListener('change', (event) => {
  const select = event.target;
  if (!(select instanceof HTMLSelectElement)) return;
  try {
    setConfigText(setKeepDense(ui.configText.value, select.dataset.op, select.value === 'dense'), { keepPreset: true });
    hideError();
  } catch (err) {
    showError('Could not change the config', err.message, ui.compressActions);
    syncOverrides();
  }
});

for (const th of ui.table.querySelectorAll('thead th[data-key]')) {
  th.querySelector('button').addEventListener('click', () => {
    const key = th.dataset.key;
    if (sort.key === key) sort.dir = -sort.dir;
    else {
      sort.key = key;
      sort.dir = 1;
    }
    for (const other of ui.table.querySelectorAll('thead th[data-key]')) {
      other.setAttribute('aria-sort', other === th ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none');
    }
    if (state) renderWeights();
  });
}

ui.filter.addEventListener('input', () => state && renderWeights());
ui.hideSmall.addEventListener('change', () => state && renderWeights());

// ---------------------------------------------------------------------------------------------
// The config: presets, the text, import and export

let configTag = ''; // names the output: NAME-TAG.mlpackage.zip ('' = lossless, 'custom' = edited)

function applyPreset(key) {
  const preset = PRESETS[key];
  if (!preset) return;
  ui.configText.value = preset.text;
  configTag = preset.tag;
  showPreset(key);
  syncOverrides();
}

function showPreset(key) {
  const custom = ui.preset.querySelector('option[value="custom"]');
  custom.hidden = key !== 'custom';
  ui.preset.value = key;
}

// The text changed by hand, by an import or by the table's choices (keepPreset: the preset's
// name still describes it, with a few ops left dense).
function setConfigText(text, { keepPreset = false } = {}) {
  if (ui.configText.value !== text) ui.configText.value = text;
  if (!keepPreset) {
    const match = Object.entries(PRESETS).find(([, p]) => p.text === text || (isBlank(text) && !p.text));
    if (match) {
      configTag = match[1].tag;
      showPreset(match[0]);
    } else {
      configTag = 'custom';
      showPreset('custom');
    }
  }
  syncOverrides();
}

ui.preset.addEventListener('change', () => {
  if (ui.preset.value !== 'custom') applyPreset(ui.preset.value);
});

ui.configText.addEventListener('input', () => setConfigText(ui.configText.value));

const MAX_CONFIG_BYTES = 1 << 20;

ui.configFile.addEventListener('change', async () => {
  const file = ui.configFile.files[0];
  ui.configFile.value = '';
  if (!file) return;
  hideError();
  try {
    if (file.size > MAX_CONFIG_BYTES) throw new Error(`${file.name} is ${formatBytes(file.size)}; a config is at most 1 MiB.`);
    setConfigText(await file.text());
    setStatus(`Imported the config ${file.name}.`);
  } catch (err) {
    showError(`Could not import “${file.name}”`, err.message, ui.compressActions);
  }
});

ui.configExport.addEventListener('click', () => {
  const stem = state ? outputName(state.name, '').replace(/\.mlpackage\.zip$/, '') : 'mlpress';
  const name = `${stem}-${configTag || 'lossless'}.yaml`;
  const url = URL.createObjectURL(new Blob([ui.configText.value], { type: 'application/yaml' }));
  const a = el('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  setStatus(`Exported the config as ${name}.`);
});

// ---------------------------------------------------------------------------------------------
// Compress and download

function clearResult() {
  ui.result.hidden = true;
  if (downloadUrl) URL.revokeObjectURL(downloadUrl);
  downloadUrl = null;
  ui.download.removeAttribute('href');
  ui.resultsBody.replaceChildren();
}

// An indeterminate bar with the elapsed time: the core reports no progress yet. The timer runs
// on the page's thread, which stays free while the worker computes.
let progressTimer = null;

function startProgress(text) {
  const started = performance.now();
  const tick = () => {
    ui.progressText.textContent = `${text} ${((performance.now() - started) / 1000).toFixed(1)} s`;
  };
  tick();
  ui.progress.hidden = false;
  progressTimer = setInterval(tick, 100);
  return started;
}

function stopProgress() {
  clearInterval(progressTimer);
  progressTimer = null;
  ui.progress.hidden = true;
}

ui.compressButton.addEventListener('click', () =>
  run(`Compressing ${state.name}…`, async () => {
    clearResult();
    const config = ui.configText.value;
    const lossless = isBlank(config);
    const name = outputName(state.name, lossless ? '' : configTag || 'custom');
    const started = startProgress(lossless ? 'Rewriting…' : 'Compressing…');
    try {
      const message = await call({ type: 'compress', config: lossless ? '' : config, name });
      const seconds = (performance.now() - started) / 1000;
      showResult(message, seconds, lossless);
    } catch (err) {
      setStatus('');
      showError(`Could not compress “${state.name}”`, err.message, ui.compressActions);
    } finally {
      stopProgress();
    }
  }),
);

function showResult({ name, bytes, inputSize, report }, seconds, lossless) {
  const blob = new Blob([bytes], { type: 'application/zip' });
  downloadUrl = URL.createObjectURL(blob);
  ui.download.href = downloadUrl;
  ui.download.download = name;
  ui.download.textContent = `Download ${name}`;

  const weights = report.weights;
  const compressed = weights.filter((w) => w.compressed);
  const dense = weights.reduce((sum, w) => sum + w.dense_bytes, 0);
  const stored = weights.reduce((sum, w) => sum + (w.compressed ? w.stored_bytes : w.dense_bytes), 0);
  const after = blob.size;
  const change = inputSize > 0 ? ` (${formatSignedPercent((after - inputSize) / inputSize)})` : '';
  ui.resultText.textContent =
    `Done in ${seconds.toFixed(1)} s: ${formatBytes(inputSize)} before, ${formatBytes(after)} after${change}. ` +
    (lossless
      ? `Lossless rewrite: ${plural(report.blobs_written, 'blob')} written to weight.bin.`
      : `${formatCount(compressed.length)} of ${plural(weights.length, 'weight')} compressed; ` +
        `weight data ${formatBytes(dense)} → ${formatBytes(stored)}.`);

  const fragment = document.createDocumentFragment();
  for (const w of weights) {
    const tr = el('tr', w.compressed ? 'compressed' : 'skipped');
    tr.dataset.name = w.name;
    tr.dataset.compressed = String(Boolean(w.compressed));
    const nameCell = el('th', 'name');
    nameCell.scope = 'row';
    nameCell.append(el('code', null, w.name));
    if (w.op_name !== w.name) nameCell.append(el('div', 'muted', `op ${w.op_name}`));
    tr.append(
      nameCell,
      el('td', 'op-type', w.compressed ? w.op_type : 'kept dense'),
      el('td', 'num', formatCount(w.dense_bytes)),
      el('td', 'num', formatCount(w.compressed ? w.stored_bytes : w.dense_bytes)),
      el('td', 'num', w.compressed ? formatDb(w.snr_db) : '—'),
      el('td', 'num', w.compressed ? formatCosine(w.cosine) : '—'),
      el('td', 'why', w.compressed ? `config from ${w.config_from}` : w.reason || ''),
    );
    fragment.append(tr);
  }
  if (weights.length === 0) {
    const tr = el('tr', 'empty');
    const td = el('td', 'muted', lossless ? 'A lossless rewrite compresses nothing: every weight is written as it was.' : 'The config selected no weights.');
    td.colSpan = 7;
    tr.append(td);
    fragment.append(tr);
  }
  ui.resultsBody.replaceChildren(fragment);
  ui.result.hidden = false;
  setStatus(lossless ? `Rewrote ${state.name}.` : `Compressed ${state.name}.`);
  ui.download.focus();
}

// ---------------------------------------------------------------------------------------------
// Helpers

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const countFormat = new Intl.NumberFormat('en-US');

function formatCount(n) {
  return countFormat.format(n);
}

function plural(n, word) {
  return `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;
}

function formatBytes(n) {
  if (n < 1024) return `${formatCount(n)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[i]} (${formatCount(n)} bytes)`;
}

function formatDb(x) {
  if (x === null || x === undefined) return 'exact';
  return x.toFixed(1);
}

function formatCosine(x) {
  if (x === null || x === undefined) return '—';
  if (x === 1) return '1';
  return x.toFixed(6);
}

function formatPercent(x) {
  if (x === 0) return '0%';
  if (x === 1) return '100%';
  return `${(x * 100).toFixed(1)}%`;
}

function formatSignedPercent(x) {
  const magnitude = Math.abs(x) * 100;
  const text = `${magnitude.toFixed(magnitude < 0.1 ? 3 : 1)}%`;
  if (x > 0) return `+${text}`;
  if (x < 0) return `−${text}`;
  return '±0%';
}

applyPreset(ui.preset.value);
updateControls();
