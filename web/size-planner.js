// The page's "Automatic (size target)" panel (issue #7): analyse the open model's weights once
// (the worker keeps the analysis), then a size slider that re-plans on every move and shows
// the total size, the chosen option per weight and a chart of total error against size; its
// Compress button hands the plan's configs, as a job document, to the page's usual compress.
//
// app.js owns the worker, the busy state, errors and the compress path; it passes them in as
// `host` (initSizePlanner). Names taken from the model are only ever set as text.

import { isAbort } from './client.js';

const $ = (id) => document.getElementById(id);

const STEPS = 200; // slider positions between the smallest plan and the dense size
const CURVE_POINTS = 41; // plans swept for the chart

export function initSizePlanner(host) {
  const ui = {
    panel: $('size-plan'),
    actions: $('size-actions'),
    keepEnds: $('size-keep-ends'),
    minSnr: $('size-min-snr'),
    analyse: $('size-analyse'),
    progress: $('size-progress'),
    progressBar: $('size-progress-bar'),
    progressText: $('size-progress-text'),
    cancel: $('size-cancel'),
    controls: $('size-controls'),
    slider: $('size-slider'),
    summary: $('size-summary'),
    chart: $('size-chart'),
    compress: $('size-compress'),
    tbody: document.querySelector('#size-table tbody'),
  };

  // analysis: {report, sqNorm, dense, smallest} once analysed; plan: the plan shown.
  let model = null;
  let analysis = null;
  let plan = null;
  let curve = [];
  let disabled = true;
  let cancelling = false;
  // Slider moves while a plan is being computed: only the latest position is planned next.
  let planning = false;
  let wanted = null;

  function reset() {
    analysis = null;
    plan = null;
    curve = [];
    wanted = null;
    ui.controls.hidden = true;
    ui.progress.hidden = true;
    ui.tbody.replaceChildren();
    ui.summary.textContent = '';
    delete ui.summary.dataset.target;
    update();
  }

  function update() {
    ui.analyse.disabled = disabled || !model;
    ui.keepEnds.disabled = disabled;
    ui.minSnr.disabled = disabled;
    ui.slider.disabled = disabled || !analysis;
    ui.compress.disabled = disabled || !plan;
    ui.analyse.textContent = analysis ? 'Analyse again' : 'Analyse the weights';
  }

  function planOptions() {
    const options = { keep_first_last: ui.keepEnds.checked };
    const snr = ui.minSnr.value.trim();
    if (snr !== '') {
      const value = Number(snr);
      if (!Number.isFinite(value)) throw new Error(`The minimum SNR “${snr}” is not a number.`);
      options.min_snr_db = value;
    }
    return options;
  }

  // Slider position -> target bytes, linear from the smallest plan to the dense size.
  function targetAt(position) {
    const { smallest, dense } = analysis;
    return Math.round(smallest + ((dense - smallest) * position) / STEPS);
  }

  // ---------------------------------------------------------------------------------------
  // Analysis

  ui.analyse.addEventListener('click', () =>
    host.run(`Analysing the weights of ${model.name}…`, async () => {
      reset();
      host.hideError();
      const started = performance.now();
      ui.progressBar.removeAttribute('value');
      ui.progressText.textContent = 'Starting…';
      ui.progress.hidden = false;
      ui.cancel.disabled = false;
      try {
        const { report } = await host.call(
          { type: 'sensitivity', options: {} },
          {
            onProgress: ({ done, total, weight }) => {
              ui.progressBar.max = Math.max(total, 1);
              ui.progressBar.value = done;
              ui.progressBar.dataset.done = String(done);
              ui.progressText.textContent = weight
                ? `${done} of ${total} weights measured; measuring ${weight}…`
                : `${done} of ${total} weights measured.`;
              ui.progressBar.setAttribute('aria-valuetext', ui.progressText.textContent);
            },
          },
        );
        const sqNorm = report.weights.reduce((sum, w) => sum + w.sq_norm, 0);
        analysis = { report, sqNorm, dense: report.weight_file_bytes, smallest: 0 };
        await replan(Math.round(STEPS / 2));
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        host.setStatus(
          `Analysed ${report.weights.length} weights of ${model.name} in ${seconds} s: ` +
            `${report.choices.length} choices each. Move the slider to choose a size.`,
        );
        ui.controls.hidden = false;
      } catch (err) {
        analysis = null;
        if (isAbort(err)) {
          host.setStatus('Cancelled; starting a fresh worker…');
          try {
            await host.restart();
            host.setStatus(`Cancelled the analysis. ${model.name} is still open.`);
          } catch (restartError) {
            host.setStatus('');
            if (!isAbort(restartError)) host.showError(`Could not open “${model.name}” again`, restartError.message);
          }
          ui.analyse.focus();
        } else {
          host.setStatus('');
          host.showError(`Could not analyse “${model.name}”`, err.message, ui.actions);
        }
      } finally {
        cancelling = false;
        ui.progress.hidden = true;
      }
    }),
  );

  ui.cancel.addEventListener('click', () => {
    if (cancelling) return;
    cancelling = true;
    ui.cancel.disabled = true;
    host.cancel();
  });

  // The smallest plan and the chart's sweep for the current options, then the plan at
  // `position`.
  async function replan(position) {
    const options = planOptions();
    const { plan: smallest } = await host.call({ type: 'size-plan', target: null, options });
    analysis.smallest = Math.min(smallest.predicted_file_bytes, analysis.dense);
    ui.slider.dataset.minBytes = String(analysis.smallest);
    ui.slider.dataset.maxBytes = String(analysis.dense);
    const targets = [];
    for (let i = 0; i < CURVE_POINTS; i++) {
      targets.push(Math.round(analysis.smallest + ((analysis.dense - analysis.smallest) * i) / (CURVE_POINTS - 1)));
    }
    ({ points: curve } = await host.call({ type: 'size-curve', targets, options }));
    ui.slider.value = String(position);
    await planAt(position);
  }

  async function planAt(position) {
    const target = targetAt(position);
    const { plan: planned } = await host.call({ type: 'size-plan', target, options: planOptions() });
    plan = planned;
    showPlan(target);
    update();
  }

  // ---------------------------------------------------------------------------------------
  // The slider and the options

  ui.slider.addEventListener('input', () => {
    if (!analysis) return;
    wanted = Number(ui.slider.value);
    ui.summary.textContent = `Target ${formatBytes(targetAt(wanted))}: planning…`;
    // Said at once by a screen reader; the plan's size joins it when the plan comes back.
    ui.slider.setAttribute('aria-valuetext', formatBytes(targetAt(wanted)));
    if (!planning) pump();
  });

  async function pump() {
    planning = true;
    ui.summary.dataset.pending = 'true';
    try {
      while (wanted !== null && analysis) {
        const position = wanted;
        wanted = null;
        await planAt(position);
      }
    } catch (err) {
      if (!isAbort(err)) host.showError('Could not plan for this size', err.message, ui.actions);
    } finally {
      planning = false;
      delete ui.summary.dataset.pending;
    }
  }

  async function optionsChanged() {
    if (!analysis || disabled) return;
    host.hideError();
    try {
      await replan(Number(ui.slider.value));
    } catch (err) {
      if (!isAbort(err)) host.showError('Could not plan with these options', err.message, ui.actions);
    }
  }
  ui.keepEnds.addEventListener('change', optionsChanged);
  ui.minSnr.addEventListener('change', optionsChanged);

  ui.compress.addEventListener('click', () => {
    if (!plan) return;
    const job = plan.configs.length ? JSON.stringify({ steps: plan.configs.map((config) => ({ config })) }, null, 2) : '';
    const percent = Math.round((100 * plan.target_bytes) / analysis.dense);
    host.compressWith(job, `auto-${percent}pct`);
  });

  // ---------------------------------------------------------------------------------------
  // Drawing

  function showPlan(target) {
    const { dense, sqNorm } = analysis;
    const compressed = plan.items.filter((item) => item.choice !== 'dense').length;
    const snr = plan.total_sq_error > 0 ? 10 * Math.log10(sqNorm / plan.total_sq_error) : Infinity;
    const text =
      `Target ${formatBytes(target)} (${formatPercent(target / dense)} of ${formatBytes(dense)} dense): ` +
      `the plan’s weight files take at most ${formatBytes(plan.predicted_file_bytes)}; ` +
      `${compressed} of ${plan.items.length} weights compressed; total squared error ` +
      `${formatError(plan.total_sq_error)} (overall SNR ${Number.isFinite(snr) ? `${snr.toFixed(1)} dB` : 'exact'}).`;
    ui.summary.textContent = text;
    ui.summary.dataset.target = String(target);
    ui.summary.dataset.predicted = String(plan.predicted_file_bytes);
    ui.summary.dataset.error = String(plan.total_sq_error);
    ui.slider.setAttribute('aria-valuetext', `${formatBytes(target)}: plan ${formatBytes(plan.predicted_file_bytes)}`);

    const fragment = document.createDocumentFragment();
    for (const item of plan.items) {
      const tr = el('tr', item.choice === 'dense' ? 'skipped' : 'compressed');
      tr.dataset.op = item.op_name;
      tr.dataset.choice = item.choice;
      const name = el('th', 'name');
      name.scope = 'row';
      name.append(el('code', null, item.op_name));
      if (item.weights.length > 1 || item.weights[0] !== item.op_name) {
        name.append(el('div', 'muted', item.weights.join(', ')));
      }
      tr.append(
        name,
        el('td', 'choice', describeChoice(item)),
        el('td', 'num', formatCount(item.file_bytes)),
        el('td', 'num', item.snr_db === null ? 'exact' : item.snr_db.toFixed(1)),
      );
      fragment.append(tr);
    }
    ui.tbody.replaceChildren(fragment);
    drawChart();
  }

  function describeChoice(item) {
    const label = CHOICE_LABELS[item.choice] || item.choice;
    return item.kept_high_precision ? `${label} (first/last layer)` : label;
  }

  function drawChart() {
    const canvas = ui.chart;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(200, canvas.clientWidth || 480);
    const height = Math.max(120, canvas.clientHeight || 180);
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    if (!analysis || curve.length === 0) return;

    const style = getComputedStyle(canvas);
    const text = style.color;
    const muted = style.getPropertyValue('--muted').trim() || text;
    const accent = style.getPropertyValue('--accent').trim() || text;
    const font = `12px ${style.fontFamily}`;
    const pad = { left: 12, right: 12, top: 20, bottom: 30 };
    const xMin = analysis.smallest;
    const xMax = Math.max(analysis.dense, xMin + 1);
    // Errors span decades (the low-bit end dominates a linear scale): log scale, with an exact
    // plan (error 0) on the bottom axis.
    const errors = [...curve.map((p) => p.total_sq_error), plan ? plan.total_sq_error : 0];
    const positive = errors.filter((e) => e > 0);
    const yMax = positive.length ? Math.max(...positive) : 1;
    const yMin = positive.length ? Math.min(...positive) / 2 : yMax / 10;
    const span = Math.max(Math.log10(yMax / yMin), 1e-9);
    const x = (bytes) => pad.left + ((bytes - xMin) / (xMax - xMin)) * (width - pad.left - pad.right);
    const y = (error) => {
      const level = error > 0 ? Math.max(0, Math.log10(error / yMin) / span) : 0;
      return height - pad.bottom - level * (height - pad.top - pad.bottom);
    };

    // Axes.
    ctx.strokeStyle = muted;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(pad.left, pad.top);
    ctx.lineTo(pad.left, height - pad.bottom);
    ctx.lineTo(width - pad.right, height - pad.bottom);
    ctx.stroke();
    ctx.fillStyle = muted;
    ctx.font = font;
    ctx.textBaseline = 'top';
    ctx.textAlign = 'left';
    ctx.fillText(shortBytes(xMin), pad.left, height - pad.bottom + 6);
    ctx.textAlign = 'right';
    ctx.fillText(shortBytes(xMax), width - pad.right, height - pad.bottom + 6);
    ctx.textAlign = 'center';
    ctx.fillText('size →', width / 2, height - pad.bottom + 6);
    ctx.textAlign = 'left';
    ctx.textBaseline = 'bottom';
    const label = width < 420 ? 'squared error (log)' : `total squared error, log scale (${formatError(yMax)} at the top)`;
    ctx.fillText(label, pad.left + 4, pad.top - 4);

    // The curve: each swept plan at its own predicted size.
    const points = [...curve].sort((a, b) => a.predicted_file_bytes - b.predicted_file_bytes);
    ctx.strokeStyle = text;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    points.forEach((p, i) => {
      const px = x(p.predicted_file_bytes);
      const py = y(p.total_sq_error);
      if (i === 0) ctx.moveTo(px, py);
      else ctx.lineTo(px, py);
    });
    ctx.stroke();

    if (plan) {
      const px = x(plan.predicted_file_bytes);
      const py = y(plan.total_sq_error);
      ctx.strokeStyle = accent;
      ctx.setLineDash([3, 3]);
      ctx.beginPath();
      ctx.moveTo(px, pad.top);
      ctx.lineTo(px, height - pad.bottom);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = accent;
      ctx.beginPath();
      ctx.arc(px, py, 5, 0, 2 * Math.PI);
      ctx.fill();
    }
    canvas.setAttribute(
      'aria-label',
      `Chart of total squared error against size: from ${formatError(yMax)} at ${shortBytes(xMin)} down to ` +
        `${formatError(Math.min(...curve.map((p) => p.total_sq_error)))} at ${shortBytes(xMax)}` +
        (plan ? `; this plan: ${formatError(plan.total_sq_error)} at ${shortBytes(plan.predicted_file_bytes)}.` : '.'),
    );
  }

  let resizeTimer = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(drawChart, 100);
  });
  // The colours follow the page's light or dark scheme.
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', drawChart);

  reset();

  return {
    // A model was opened (or could not be: null).
    modelOpened(opened) {
      model = opened;
      reset();
    },
    // The worker was replaced: the analysis it held is gone.
    workerRestarted() {
      reset();
    },
    // The page is busy (or the module not ready): every control waits.
    setDisabled(value) {
      disabled = value;
      update();
    },
  };
}

const CHOICE_LABELS = {
  dense: 'dense (kept)',
  int8_channel: 'int8 per channel',
  int4_channel: 'int4 per channel',
  int8_block32: 'int8 per block of 32',
  int4_block32: 'int4 per block of 32',
  pal8_tensor: 'palettize 8-bit',
  pal6_tensor: 'palettize 6-bit',
  pal4_tensor: 'palettize 4-bit',
  pal3_tensor: 'palettize 3-bit',
  pal2_tensor: 'palettize 2-bit',
  pal8_group16: 'palettize 8-bit, groups of 16',
  pal6_group16: 'palettize 6-bit, groups of 16',
  pal4_group16: 'palettize 4-bit, groups of 16',
  pal3_group16: 'palettize 3-bit, groups of 16',
  pal2_group16: 'palettize 2-bit, groups of 16',
  prune50: 'prune 50%',
  prune75: 'prune 75%',
};

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

function shortBytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[i]}`;
}

function formatBytes(n) {
  return n < 1024 ? `${formatCount(n)} B` : `${shortBytes(n)} (${formatCount(n)} bytes)`;
}

function formatPercent(x) {
  return `${(x * 100).toFixed(1)}%`;
}

function formatError(x) {
  if (x === 0) return '0';
  return x.toExponential(2);
}
