// The mlpress page: file picking, the model summary, the weight table, the compression config,
// compress and download. All the work happens in worker.js; this module only talks to it and
// draws. The config text and its presets are handled by config.js.
//
// Everything taken from a model (names, metadata) is untrusted: it is only ever put into the
// page as text (textContent), never as HTML.

import { WorkerClient, isAbort } from './client.js';
import { folderFiles } from './folder.js';
import { initHistogram } from './histogram.js';
import { initSizePlanner } from './size-planner.js';
import { cancelPool, compressOnWorkers, poolSize } from './pool.js';
import {
  MODEL_PRESETS,
  PRESETS,
  isBlank,
  isJobDocument,
  modelTarget,
  opNameOverrides,
  outputName,
  presetUnavailable,
  setKeepDense,
} from './config.js';

const $ = (id) => document.getElementById(id);

const ui = {
  dropzone: $('dropzone'),
  fileInput: $('file-input'),
  folderInput: $('folder-input'),
  sampleButton: $('sample-button'),
  transformerSampleButton: $('transformer-sample-button'),
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
  presetNote: $('preset-note'),
  presetAvailability: $('preset-availability'),
  configText: $('config-text'),
  configFile: $('config-file'),
  configExport: $('config-export'),
  compressButton: $('compress-button'),
  planButton: $('plan-button'),
  plan: $('plan'),
  planText: $('plan-text'),
  planBody: document.querySelector('#plan-table tbody'),
  compressActions: $('compress-actions'),
  progress: $('progress'),
  progressBar: $('progress-bar'),
  progressText: $('progress-text'),
  cancelButton: $('cancel-button'),
  result: $('result'),
  resultText: $('result-text'),
  download: $('download-link'),
  resultsBody: document.querySelector('#results-table tbody'),
  variant: $('variant'),
};

// The bundled samples: an iOS16 CNN, and an iOS18 transformer for the presets that need iOS18.
const SAMPLES = {
  cnn: { url: 'sample/sample.mlpackage.zip', name: 'sample.mlpackage.zip' },
  transformer: { url: 'sample/transformer.mlpackage.zip', name: 'transformer.mlpackage.zip' },
};
const SMALL_CONSTANT = 10; // like `mlpress inspect`'s text table: fewer elements are hidden

// ---------------------------------------------------------------------------------------------
// The worker

const forcedVariant = new URLSearchParams(location.search).get('wasm');
// How many workers share a compress (pool.js): the cores, capped; ?workers=N forces N.
const workerCount = poolSize(new URLSearchParams(location.search).get('workers'));
const workerUrl = new URL('worker.js', import.meta.url);

let client = null; // the WorkerClient; replaced by a fresh one after a cancel
let ready = false;
let busy = false;

// Starts a worker; resolves once its module is loaded (the page then says which variant).
function startWorker() {
  ready = false;
  client = new WorkerClient(workerUrl, { variant: forcedVariant || undefined });
  const mine = client;
  return client.ready.then(
    (variant) => {
      if (client !== mine) return;
      ready = true;
      ui.variant.textContent = variant === 'simd' ? 'SIMD build' : 'baseline build, without SIMD';
      document.documentElement.dataset.wasm = variant;
      updateControls();
    },
    (err) => {
      if (client !== mine || isAbort(err)) throw err;
      setStatus('');
      ui.variant.textContent = 'not loaded';
      showError('mlpress could not start', err.message);
      throw err;
    },
  );
}

function call(message, options) {
  return client.call(message, options);
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
  ui.folderInput.disabled = disabled;
  ui.sampleButton.disabled = disabled;
  ui.transformerSampleButton.disabled = disabled;
  ui.compressButton.disabled = disabled || !state;
  ui.planButton.disabled = disabled || !state;
  ui.preset.disabled = busy;
  ui.configFile.disabled = busy;
  ui.configText.readOnly = busy;
  for (const select of ui.tbody.querySelectorAll('select')) select.disabled = busy || !overridable(ui.configText.value);
  ui.dropzone.classList.toggle('disabled', disabled);
  document.body.classList.toggle('busy', busy);
  sizePlanner.setDisabled(disabled || !state);
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
      const source = { type: 'open', file };
      showModel(await call(source), source);
    } catch (err) {
      failOpen(file.name, err);
    }
  });
}

// A .mlpackage folder: `files` = [{path, file}], paths starting with the folder's name.
function openFolder(name, files) {
  return run(`Reading ${name}…`, async () => {
    try {
      const source = { type: 'open-folder', files };
      showModel(await call(source), source);
    } catch (err) {
      failOpen(name, err);
    }
  });
}

function openSample({ url, name }) {
  return run(`Loading the sample model…`, async () => {
    try {
      const source = { type: 'open-url', url, name };
      showModel(await call(source), source);
    } catch (err) {
      failOpen(name, err);
    }
  });
}

function failOpen(name, err) {
  state = null;
  sizePlanner.modelOpened(null);
  ui.model.hidden = true;
  ui.weights.hidden = true;
  ui.compress.hidden = true;
  clearResult();
  setStatus('');
  showError(`Could not open “${name}”`, err.message);
}

// source: the request that opened it, to open it again in a fresh worker after a cancel.
function showModel({ name, size, report }, source) {
  clearResult();
  state = { name, size, report, source, rows: report.weights.map(toRow) };
  sizePlanner.modelOpened({ name });
  renderSummary();
  renderWeights();
  ui.model.hidden = false;
  ui.weights.hidden = false;
  ui.compress.hidden = false;
  // The model presets follow the model: computed again for this one; presets its target cannot
  // run are off, saying why.
  for (const option of ui.preset.querySelectorAll('option[data-model]')) option.disabled = false;
  const off = updatePresetAvailability(report);
  if (off.includes(ui.preset.value)) applyPreset('int8');
  else if (MODEL_PRESETS[ui.preset.value]) applyPreset(ui.preset.value);
  const t = report.totals;
  setStatus(`Opened ${name}: ${plural(t.weights, 'weight')}, ${formatBytes(t.dense_weight_bytes)} of weight data.`);
}

ui.fileInput.addEventListener('change', () => {
  const file = ui.fileInput.files[0];
  ui.fileInput.value = ''; // choosing the same file again fires 'change' again
  if (file) openFile(file);
});

ui.folderInput.addEventListener('change', () => {
  const files = [...ui.folderInput.files].map((file) => ({ path: file.webkitRelativePath || file.name, file }));
  ui.folderInput.value = '';
  if (files.length === 0) return;
  openFolder(files[0].path.split('/')[0], files);
});

ui.sampleButton.addEventListener('click', () => openSample(SAMPLES.cnn));
ui.transformerSampleButton.addEventListener('click', () => openSample(SAMPLES.transformer));
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
  if (!ready || busy) return;
  const files = [...event.dataTransfer.files];
  if (files.length === 0) return;
  if (files.length > 1) {
    showError('One model at a time', `You dropped ${files.length} items; drop a single .mlpackage.zip or .mlpackage folder.`);
    return;
  }
  const [file] = files;
  // The entry must be taken now: the DataTransfer is emptied once this handler returns.
  const item = event.dataTransfer.items && event.dataTransfer.items[0];
  const entry = item && item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
  if (entry && entry.isDirectory) {
    folderFiles(entry).then(
      (list) => openFolder(entry.name, list),
      (err) => showError(`Could not read “${entry.name}”`, err.message),
    );
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
  select.disabled = busy || !overridable(ui.configText.value);
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

// The row menus edit a single config's op_name_configs: not an empty text or a job document.
function overridable(text) {
  return !isBlank(text) && !isJobDocument(text);
}

function currentOverrides() {
  return opNameOverrides(ui.configText.value);
}

// After the config text changed: the table's choices follow it.
function syncOverrides() {
  const overrides = currentOverrides();
  for (const select of ui.tbody.querySelectorAll('select')) {
    setOverrideSelect(select, overrides.get(select.dataset.op));
    select.disabled = busy || !overridable(ui.configText.value);
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

// Every preset that applies now: the fixed ones, and those computed from the open model (the
// vision CNN, detection and transformer presets, whose kept-dense layers come from its ops).
function currentPresets() {
  const presets = Object.entries(PRESETS).map(([key, p]) => [key, { ...p, note: '' }]);
  if (state) {
    for (const [key, p] of Object.entries(MODEL_PRESETS)) presets.push([key, { ...p, ...p.build(state.report) }]);
  }
  return presets;
}

// Turns off the preset menu's entries that the model of `report` cannot run (their text says
// why, and a line under the menu names the model's target); returns their keys.
function updatePresetAvailability(report) {
  const presets = { ...PRESETS, ...MODEL_PRESETS };
  const off = [];
  for (const option of ui.preset.options) {
    const preset = presets[option.value];
    if (!preset) continue;
    const reason = presetUnavailable(preset, report);
    option.textContent = reason ? `${preset.label} — ${reason}` : preset.label;
    if (reason) off.push(option.value);
    if (reason || !option.hasAttribute('data-model')) option.disabled = Boolean(reason);
  }
  const target = modelTarget(report);
  ui.presetAvailability.hidden = off.length === 0;
  ui.presetAvailability.textContent = off.length
    ? `Off for this model: the presets that need an iOS18 model (per-block and 4-bit quantization, ` +
      `joint compression); it targets ${target ? `${target.name} (opset ${target.opset})` : 'no ML Program'}. ` +
      `The transformer sample is an iOS18 model.`
    : '';
  return off;
}

function applyPreset(key) {
  const found = currentPresets().find(([k]) => k === key);
  if (!found) return;
  const [, preset] = found;
  ui.configText.value = preset.text;
  configTag = preset.tag;
  showPreset(key);
  ui.presetNote.textContent = preset.note;
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
    const runnable = currentPresets().filter(([, p]) => !presetUnavailable(p, state && state.report));
    const match = runnable.find(([, p]) => p.text === text || (isBlank(text) && !p.text));
    if (match) {
      configTag = match[1].tag;
      showPreset(match[0]);
      ui.presetNote.textContent = match[1].note;
    } else {
      configTag = 'custom';
      showPreset('custom');
      ui.presetNote.textContent = '';
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
  ui.plan.hidden = true;
  if (downloadUrl) URL.revokeObjectURL(downloadUrl);
  downloadUrl = null;
  ui.download.removeAttribute('href');
  ui.resultsBody.replaceChildren();
  histogramPanel.clear();
}

// The progress bar: weights done of the total, the weight being compressed, and the elapsed
// time (on the page's thread, which stays free while the worker computes).
let progressTimer = null;
let progressLine = '';

function startProgress(text) {
  const started = performance.now();
  progressLine = text;
  const tick = () => {
    ui.progressText.textContent = `${progressLine} ${((performance.now() - started) / 1000).toFixed(1)} s`;
  };
  ui.progressBar.removeAttribute('value'); // indeterminate until the first report
  ui.progressBar.removeAttribute('aria-valuetext');
  tick();
  ui.progress.hidden = false;
  ui.cancelButton.disabled = false;
  progressTimer = setInterval(tick, 100);
  return { started, tick };
}

function showProgress({ done, total, weight }, tick) {
  ui.progressBar.max = Math.max(total, 1);
  ui.progressBar.value = done;
  ui.progressBar.dataset.done = String(done);
  ui.progressBar.dataset.total = String(total);
  progressLine = weight
    ? `${formatCount(done)} of ${plural(total, 'weight')} done; compressing ${weight}…`
    : `${formatCount(done)} of ${plural(total, 'weight')} done; writing the package…`;
  ui.progressBar.setAttribute('aria-valuetext', progressLine);
  tick();
}

function stopProgress() {
  clearInterval(progressTimer);
  progressTimer = null;
  ui.progress.hidden = true;
  ui.cancelButton.disabled = true;
}

let cancelling = false;

// Cancel: the worker computes synchronously, so it is ended (with whatever it had written) and
// a fresh one started; the model is then opened again in it.
ui.cancelButton.addEventListener('click', () => {
  if (!busy || cancelling) return;
  cancelling = true;
  ui.cancelButton.disabled = true;
  client.terminate();
  cancelPool();
});

async function restartWorker() {
  sizePlanner.workerRestarted(); // the analysis was in the old worker
  await startWorker();
  if (!state) return;
  const message = await call(state.source);
  state.size = message.size;
}

ui.compressButton.addEventListener('click', () =>
  run(`Compressing ${state.name}…`, async () => {
    clearResult();
    const config = ui.configText.value;
    const lossless = isBlank(config);
    const name = outputName(state.name, lossless ? '' : configTag || 'custom');
    const { started, tick } = startProgress(lossless ? 'Rewriting…' : 'Compressing…');
    try {
      const message = await compressOnWorkers({
        main: client,
        openRequest: state.source,
        workerUrl,
        variant: client.variant,
        workers: workerCount,
        config: lossless ? '' : config,
        name,
        onProgress: (progress) => showProgress(progress, tick),
      });
      const seconds = (performance.now() - started) / 1000;
      showResult(message, seconds, lossless);
      // How the weights were shared between the workers, e.g. "5,5" (the tests read it).
      ui.result.dataset.workers = message.workers.join(',');
      ui.result.dataset.workerMemory = (message.workerMemory || []).join(',');
      if (message.workers.length > 1) {
        ui.resultText.textContent += ` Compressed by ${message.workers.length} workers (${message.workers.join(' + ')} weights).`;
      }
    } catch (err) {
      if (isAbort(err)) {
        stopProgress();
        setStatus('Cancelled; starting a fresh worker…');
        try {
          await restartWorker();
          setStatus(`Cancelled: nothing was written. ${state.name} is still open.`);
        } catch (restartError) {
          setStatus('');
          if (!isAbort(restartError)) showError(`Could not open “${state.name}” again`, restartError.message);
        }
        ui.compressButton.focus();
        return;
      }
      setStatus('');
      showError(`Could not compress “${state.name}”`, err.message, ui.compressActions);
    } finally {
      cancelling = false;
      stopProgress();
    }
  }),
);

// The plan: a dry run of the compress, shown before running it.
ui.planButton.addEventListener('click', () =>
  run(`Planning ${state.name}…`, async () => {
    clearResult();
    try {
      const { plan } = await call({ type: 'plan', config: ui.configText.value });
      showPlan(plan);
    } catch (err) {
      setStatus('');
      showError(`Could not plan “${state.name}”`, err.message, ui.compressActions);
    }
  }),
);

function showPlan(plan) {
  const weights = plan.weights;
  const compressed = weights.filter((w) => w.compressed);
  const unknown = plan.unknown ? ` (${plural(plan.unknown, 'weight')} depend on the values and are not counted)` : '';
  ui.planText.textContent = isBlank(ui.configText.value)
    ? 'A lossless rewrite: every weight is written as it is.'
    : `${formatCount(compressed.length)} of ${plural(weights.length, 'weight')} will be compressed: ` +
      `${formatBytes(plan.dense_bytes)} of weight data → about ${formatBytes(plan.expected_bytes)}${unknown}.`;
  const fragment = document.createDocumentFragment();
  for (const w of weights) {
    const tr = el('tr', w.compressed ? 'compressed' : 'skipped');
    tr.dataset.name = w.name;
    tr.dataset.compressed = String(w.compressed);
    const nameCell = el('th', 'name');
    nameCell.scope = 'row';
    nameCell.append(el('code', null, w.name));
    if (w.op_name !== w.name) nameCell.append(el('div', 'muted', `op ${w.op_name}`));
    tr.append(
      nameCell,
      el('td', 'op-type', w.compressed ? w.op_type : 'kept dense'),
      el('td', 'num', formatCount(w.dense_bytes)),
      el('td', 'num', w.compressed ? (w.expected_bytes === null ? 'depends on values' : `≈ ${formatCount(w.expected_bytes)}`) : formatCount(w.dense_bytes)),
      el('td', 'why', w.compressed ? `config from ${w.config_from}` : w.reason || ''),
    );
    fragment.append(tr);
  }
  ui.planBody.replaceChildren(fragment);
  ui.plan.hidden = false;
  setStatus(`Planned ${state.name}.`);
}

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
  histogramPanel.resultShown({ blob, name, report });
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

// The values before and after of a weight of the result (histogram.js).
const histogramPanel = initHistogram({ call, el });

// The automatic (size target) panel: it plans in the worker and compresses through the usual
// path, with its plan's configs as a job document in the config box.
const sizePlanner = initSizePlanner({
  call,
  run,
  setStatus,
  showError,
  hideError,
  cancel: () => client.terminate(),
  restart: restartWorker,
  compressWith(text, tag) {
    setConfigText(text);
    configTag = tag;
    ui.compressButton.click();
  },
});

applyPreset(ui.preset.value);
updateControls();
startWorker().then(
  () => setStatus('Ready. Open a model to begin.'),
  () => {},
);

// Offline after the first visit: sw.js keeps a copy of the page's own files.
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register(new URL('sw.js', import.meta.url)).catch((err) => {
    console.warn('mlpress: no offline copy:', err.message);
  });
}
