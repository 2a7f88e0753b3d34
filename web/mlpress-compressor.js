// <mlpress-compressor>: a self-contained compressor for documentation pages. The reader picks
// a .mlpackage.zip (or a .mlpackage folder, or the sample), a preset, presses Compress, sees
// the progress (and can cancel), and downloads the result; everything runs on their machine
// through the embedding API (mlpress.js), which finds the worker and the wasm module beside
// this file.
//
//   <script type="module" src="PATH/mlpress-compressor.js"></script>
//   <mlpress-compressor preset="pal4" sample="PATH/sample/sample.mlpackage.zip"></mlpress-compressor>
//
// Attributes: preset (a key of config.js's PRESETS; default int8), config (YAML/JSON text;
// replaces the preset menu), sample (URL of a .mlpackage.zip offered as "Try the sample
// model"), wasm ("simd" or "baseline" to force a variant).
// Events: "mlpress-compressed" (detail {blob, report}) and "mlpress-error" (detail {message}).
// Styles: its own stylesheet (mlpress-compressor.css, beside this file, loaded with a <link>
// so that a strict style-src 'self' policy holds); colours follow prefers-color-scheme and
// the custom properties --mlpress-accent, --mlpress-fg, --mlpress-bg, --mlpress-border.

import { PRESETS, outputName, presetUnavailable } from './config.js';
import { compressWithReport, inspect, setVariant } from './mlpress.js';
import { isAbort } from './client.js';

const STYLESHEET = new URL('./mlpress-compressor.css', import.meta.url).href;
let uid = 0;

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === true) node.setAttribute(key, '');
    else if (value !== false && value !== undefined) node.setAttribute(key, value);
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

class MlpressCompressor extends HTMLElement {
  constructor() {
    super();
    const id = `mlpress-${++uid}`;
    const root = this.attachShadow({ mode: 'open' });
    const parts = {
      file: el('input', { type: 'file', id: `${id}-file`, accept: '.zip,application/zip', part: 'file-input' }),
      folder: el('input', { type: 'file', id: `${id}-folder`, webkitdirectory: true }),
      sample: el('button', { type: 'button', part: 'button' }, 'Try the sample model'),
      preset: el('select', { id: `${id}-preset` }),
      compress: el('button', { type: 'button', class: 'primary', part: 'button', disabled: true }, 'Compress'),
      cancel: el('button', { type: 'button', part: 'button', hidden: true }, 'Cancel'),
      progress: el('progress', { hidden: true, 'aria-label': 'Compression progress' }),
      status: el('p', { role: 'status', 'aria-live': 'polite', class: 'status' }),
      download: el('a', { hidden: true, part: 'download', class: 'button primary' }),
    };
    this.parts = parts;
    const box = el('div', { class: 'box', part: 'box' });
    const row1 = el('div', { class: 'row' });
    row1.append(
      el('label', { for: parts.file.id }, 'Model (.mlpackage.zip)'),
      parts.file,
      el('label', { for: parts.folder.id }, 'or folder'),
      parts.folder,
      parts.sample,
    );
    const row2 = el('div', { class: 'row' });
    row2.append(el('label', { for: parts.preset.id }, 'Preset'), parts.preset, parts.compress, parts.cancel);
    const row3 = el('div', { class: 'row' });
    row3.append(parts.progress, parts.download);
    box.append(row1, row2, row3, parts.status);
    root.append(el('link', { rel: 'stylesheet', href: STYLESHEET }), box);

    for (const [key, preset] of Object.entries(PRESETS)) parts.preset.append(new Option(preset.label, key));
    parts.file.addEventListener('change', () => {
      const [file] = parts.file.files;
      if (file) this.open(file, file.name);
    });
    parts.folder.addEventListener('change', () => {
      const files = [...parts.folder.files];
      if (files.length) this.open(files, (files[0].webkitRelativePath || files[0].name).split('/')[0]);
    });
    parts.sample.addEventListener('click', () => this.openSample());
    parts.compress.addEventListener('click', () => this.compress());
    parts.cancel.addEventListener('click', () => this.abort && this.abort.abort());
    this.input = null;
    this.downloadUrl = null;
  }

  static get observedAttributes() {
    return ['preset', 'config', 'sample', 'wasm'];
  }

  connectedCallback() {
    this.render();
  }

  attributeChangedCallback() {
    this.render();
  }

  render() {
    const { preset, sample } = this.parts;
    if (this.hasAttribute('wasm')) setVariant(this.getAttribute('wasm'));
    const key = this.getAttribute('preset');
    if (key && PRESETS[key]) preset.value = key;
    else if (!preset.value || !PRESETS[preset.value]) preset.value = 'int8';
    preset.hidden = this.hasAttribute('config');
    preset.previousElementSibling.hidden = preset.hidden;
    sample.hidden = !this.getAttribute('sample');
  }

  // Turns off the presets the model of `report` cannot run (iOS18-only presets on older
  // models), each option saying why, as the page does; when the chosen one is off, chooses
  // int8 and returns the key that was chosen before.
  updatePresets(report) {
    const { preset } = this.parts;
    for (const option of preset.options) {
      const reason = presetUnavailable(PRESETS[option.value], report);
      option.disabled = Boolean(reason);
      option.textContent = reason ? `${PRESETS[option.value].label} — ${reason}` : PRESETS[option.value].label;
    }
    if (!preset.selectedOptions[0] || !preset.selectedOptions[0].disabled) return '';
    const before = preset.value;
    preset.value = 'int8';
    return before;
  }

  // The config text: the `config` attribute, else the chosen preset's.
  configText() {
    if (this.hasAttribute('config')) return this.getAttribute('config');
    return PRESETS[this.parts.preset.value].text;
  }

  configTag() {
    if (this.hasAttribute('config')) return 'custom';
    return PRESETS[this.parts.preset.value].tag;
  }

  setStatus(text) {
    this.parts.status.textContent = text;
  }

  fail(message) {
    this.setStatus(message);
    this.parts.status.classList.add('error');
    this.dispatchEvent(new CustomEvent('mlpress-error', { detail: { message }, bubbles: true, composed: true }));
  }

  setBusy(busy) {
    const { file, folder, sample, preset, compress, cancel, progress } = this.parts;
    for (const control of [file, folder, sample, preset]) control.disabled = busy;
    compress.disabled = busy || !this.input;
    cancel.hidden = !busy;
    progress.hidden = !busy;
    this.toggleAttribute('busy', busy);
  }

  clearDownload() {
    if (this.downloadUrl) URL.revokeObjectURL(this.downloadUrl);
    this.downloadUrl = null;
    this.parts.download.hidden = true;
  }

  async open(input, name) {
    this.clearDownload();
    this.parts.status.classList.remove('error');
    this.setBusy(true);
    this.parts.cancel.hidden = true;
    this.setStatus(`Reading ${name}…`);
    try {
      const report = await inspect(input);
      this.input = { data: input, name };
      const t = report.totals;
      const switched = this.updatePresets(report);
      this.setStatus(
        `${name}: ${t.weights} weights, ${formatBytes(t.dense_weight_bytes)} of weight data.` +
          (switched ? ` The preset "${switched}" cannot run on it (${presetUnavailable(PRESETS[switched], report)}): int8 chosen instead.` : ''),
      );
    } catch (err) {
      this.input = null;
      this.fail(`Could not open ${name}: ${err.message}`);
    } finally {
      this.setBusy(false);
    }
  }

  async openSample() {
    const url = new URL(this.getAttribute('sample'), document.baseURI);
    const name = decodeURIComponent(url.pathname.split('/').pop()) || 'sample.mlpackage.zip';
    try {
      const response = await fetch(url, { credentials: 'same-origin' });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      await this.open(new File([await response.blob()], name, { type: 'application/zip' }), name);
    } catch (err) {
      this.fail(`Could not load the sample: ${err.message}`);
    }
  }

  async compress() {
    if (!this.input) return;
    this.clearDownload();
    this.parts.status.classList.remove('error');
    this.abort = new AbortController();
    this.setBusy(true);
    const { progress } = this.parts;
    progress.removeAttribute('value');
    this.setStatus(`Compressing ${this.input.name}…`);
    const name = outputName(this.input.name, this.configTag());
    try {
      const { blob, report } = await compressWithReport(this.input.data, this.configText(), {
        name,
        signal: this.abort.signal,
        onProgress: ({ done, total, weight }) => {
          progress.max = Math.max(total, 1);
          progress.value = done;
          this.setStatus(weight ? `${done} of ${total} weights done; compressing ${weight}…` : `${done} of ${total} weights done; writing…`);
        },
      });
      this.downloadUrl = URL.createObjectURL(blob);
      const { download } = this.parts;
      download.href = this.downloadUrl;
      download.download = blob.name;
      download.textContent = `Download ${blob.name} (${formatBytes(blob.size)})`;
      download.hidden = false;
      const compressed = report.weights.filter((w) => w.compressed).length;
      this.setStatus(`Done: ${compressed} of ${report.weights.length} weights compressed; ${formatBytes(blob.size)}.`);
      this.dispatchEvent(new CustomEvent('mlpress-compressed', { detail: { blob, report }, bubbles: true, composed: true }));
    } catch (err) {
      if (isAbort(err)) this.setStatus('Cancelled: nothing was written.');
      else this.fail(`Could not compress ${this.input.name}: ${err.message}`);
    } finally {
      this.abort = null;
      this.setBusy(false);
    }
  }
}

if (!customElements.get('mlpress-compressor')) customElements.define('mlpress-compressor', MlpressCompressor);

export { MlpressCompressor };
