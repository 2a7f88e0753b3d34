// The "values before and after" panel under the results: for the weight chosen in its menu (or
// with a row's "Histogram" button), the worker decodes the weight in the open model and in the
// compressed output (the module's `histogram` binding: constexpr chains decoded as
// `mlpress decompress` does) and counts its values in BINS equal bins over the original
// weight's range. Both charts share that range and one vertical scale, so the bars compare.
// Drawn as SVG with CSS classes (no inline style: the page's CSP), with a text alternative and
// a table of the counts.

const BINS = 64;
const SVG_NS = 'http://www.w3.org/2000/svg';
const WIDTH = BINS * 10; // viewBox units; the SVG stretches to the panel's width
const HEIGHT = 100;

// call: sends a request to the worker (app.js's). el: app.js's element helper.
export function initHistogram({ call, el }) {
  const $ = (id) => document.getElementById(id);
  const panel = $('histogram');
  const select = $('histogram-weight');
  const text = $('histogram-text');
  const charts = $('histogram-charts');
  const resultsBody = document.querySelector('#results-table tbody');

  let result = null; // {blob, name, report} of the shown compress
  let generation = 0; // bumped when the result goes: later answers are dropped
  let wanted = null; // the weight to draw next (the latest choice wins)
  let running = false;

  function clear() {
    generation++;
    result = null;
    wanted = null;
    panel.hidden = true;
    select.replaceChildren();
    charts.replaceChildren();
    delete charts.dataset.weight;
    text.textContent = '';
  }

  // After a compress: the menu lists the report's weights, each results row gets a button.
  function resultShown({ blob, name, report }) {
    clear();
    const weights = report.weights || [];
    if (weights.length === 0) return;
    result = { blob, name, report };
    const placeholder = el('option', null, 'Choose a weight…');
    placeholder.value = '';
    select.append(placeholder);
    const listed = new Set(); // a job of several steps reports a weight once per step
    for (const w of weights) {
      if (listed.has(w.name)) continue;
      listed.add(w.name);
      const option = el('option', null, w.compressed ? `${w.name} (${w.op_type})` : `${w.name} (kept dense)`);
      option.value = w.name;
      select.append(option);
    }
    select.value = '';
    for (const row of resultsBody.querySelectorAll('tr[data-name]')) {
      const button = el('button', 'button small histogram-button', 'Histogram');
      button.type = 'button';
      button.dataset.weight = row.dataset.name;
      button.setAttribute('aria-label', `Histogram of ${row.dataset.name}`);
      button.setAttribute('aria-controls', 'histogram');
      row.querySelector('th').append(button);
    }
    text.textContent = 'Choose a weight to see its values before and after compression.';
    panel.hidden = false;
  }

  function choose(weight) {
    if (!result || !weight) return;
    wanted = weight;
    if (!running) drawLoop();
  }

  async function drawLoop() {
    running = true;
    try {
      while (wanted && result) {
        const weight = wanted;
        const mine = generation;
        const { blob, name } = result;
        wanted = null;
        text.textContent = `Reading ${weight}…`;
        panel.setAttribute('aria-busy', 'true');
        let answer;
        try {
          answer = await call({ type: 'histogram', weight, output: blob, outputName: name, bins: BINS });
        } catch (err) {
          if (mine !== generation) continue;
          charts.replaceChildren();
          text.textContent = `Could not read ${weight}: ${err.message}`;
          continue;
        }
        if (mine !== generation || wanted) continue;
        draw(weight, answer.histogram);
      }
    } finally {
      running = false;
      panel.removeAttribute('aria-busy');
    }
  }

  function draw(weight, { before, after }) {
    const [lo, hi] = before.range;
    const top = Math.max(1, ...before.counts, ...after.counts);
    charts.replaceChildren(
      figure('before', 'Before', before, top, lo, hi),
      figure('after', 'After', after, top, lo, hi),
      countsTable(before, after, lo, hi),
    );
    charts.dataset.weight = weight;
    text.textContent =
      `${weight}: ${BINS} bins from ${number(lo)} to ${number(hi)} (the original's range); ` +
      `the bar heights share one scale (tallest ${count(top)} values).`;
  }

  function figure(kind, title, h, top, lo, hi) {
    const fig = el('figure', `histogram-figure ${kind}`);
    fig.dataset.kind = kind;
    const caption = el('figcaption');
    caption.append(el('strong', null, `${title}: `), `${h.op_type === 'const' ? 'dense const' : h.op_type}`);
    if (h.weight !== select.value && h.weight) caption.append(' ', el('code', null, h.weight));
    caption.append(`, ${h.dtype} [${h.shape.join(', ')}], ${count(h.total)} values`);
    const outside = [];
    if (h.below) outside.push(`${count(h.below)} below the range`);
    if (h.above) outside.push(`${count(h.above)} above it`);
    if (h.nan) outside.push(`${count(h.nan)} NaN`);
    if (outside.length) caption.append(` (${outside.join(', ')}: not drawn)`);

    const svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('role', 'img');
    svg.setAttribute('class', 'histogram-svg');
    const peak = h.counts.indexOf(Math.max(...h.counts));
    const step = (hi - lo) / BINS;
    svg.setAttribute(
      'aria-label',
      `${title}: ${count(h.total)} values in ${BINS} bins from ${number(lo)} to ${number(hi)}; ` +
        `the most, ${count(h.counts[peak])}, from ${number(lo + peak * step)} to ${number(lo + (peak + 1) * step)}.`,
    );
    const barWidth = WIDTH / h.counts.length;
    h.counts.forEach((n, i) => {
      const rect = document.createElementNS(SVG_NS, 'rect');
      const height = (n / top) * HEIGHT;
      rect.setAttribute('x', String(i * barWidth));
      rect.setAttribute('width', String(barWidth * 0.85));
      rect.setAttribute('y', String(HEIGHT - height));
      rect.setAttribute('height', String(height));
      rect.setAttribute('class', 'histogram-bar');
      rect.dataset.count = String(n);
      svg.append(rect);
    });
    const axis = document.createElementNS(SVG_NS, 'line');
    axis.setAttribute('x1', '0');
    axis.setAttribute('x2', String(WIDTH));
    axis.setAttribute('y1', String(HEIGHT));
    axis.setAttribute('y2', String(HEIGHT));
    axis.setAttribute('class', 'histogram-axis-line');
    svg.append(axis);

    const scale = el('div', 'histogram-scale');
    scale.setAttribute('aria-hidden', 'true');
    scale.append(el('span', null, number(lo)), el('span', null, number((lo + hi) / 2)), el('span', null, number(hi)));
    fig.append(caption, svg, scale);
    return fig;
  }

  // The numbers behind the bars, for screen readers and for reading exact counts.
  function countsTable(before, after, lo, hi) {
    const details = el('details', 'histogram-counts');
    details.append(el('summary', null, 'Counts per bin'));
    const wrap = el('div', 'table-wrap');
    wrap.tabIndex = 0;
    wrap.setAttribute('role', 'region');
    wrap.setAttribute('aria-label', 'Counts per bin');
    const table = el('table');
    const head = el('tr');
    for (const label of ['From', 'To', 'Before', 'After']) {
      const th = el('th', label === 'Before' || label === 'After' ? 'num' : null, label);
      th.scope = 'col';
      head.append(th);
    }
    const thead = el('thead');
    thead.append(head);
    const tbody = el('tbody');
    const step = (hi - lo) / BINS;
    before.counts.forEach((n, i) => {
      const tr = el('tr');
      tr.append(
        el('td', 'num', number(lo + i * step)),
        el('td', 'num', i + 1 === BINS ? number(hi) : number(lo + (i + 1) * step)),
        el('td', 'num', count(n)),
        el('td', 'num', count(after.counts[i])),
      );
      tbody.append(tr);
    });
    table.append(thead, tbody);
    wrap.append(table);
    details.append(wrap);
    return details;
  }

  select.addEventListener('change', () => choose(select.value));
  resultsBody.addEventListener('click', (event) => {
    const button = event.target.closest('button.histogram-button');
    if (!button) return;
    select.value = button.dataset.weight;
    choose(button.dataset.weight);
  });

  return { clear, resultShown };
}

const countFormat = new Intl.NumberFormat('en-US');

function count(n) {
  return countFormat.format(n);
}

function number(x) {
  if (x === 0) return '0';
  return Number(x.toPrecision(4)).toString();
}
