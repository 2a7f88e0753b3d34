// The compression config as text: the presets, and the per-op "keep dense" overrides that the
// weight table writes into the text as op_name_configs entries (null = leave that op dense).
//
// The text is a coremltools OptimizationConfig as YAML or JSON; the core parses it. This module
// only edits the op_name_configs part, in place, so that the user's own text (comments, order,
// other entries) survives: JSON text is parsed and written back with two-space indentation,
// YAML text is edited line by line in its top-level `op_name_configs:` block.
// Plain functions, no DOM: tests/e2e/config.test.mjs runs them under Node.js.

export const PRESETS = {
  lossless: { label: 'none: lossless rewrite', tag: '', text: '' },
  int8: {
    label: 'int8 per-channel (iOS16+)',
    tag: 'int8',
    text: `# int8 per-channel linear quantization (iOS16+)
config_type: OpLinearQuantizerConfig
global_config:
  mode: linear_symmetric
  dtype: int8
  granularity: per_channel
`,
  },
  int4: {
    label: 'int4 per-block 32 (iOS18)',
    tag: 'int4',
    needs: 'iOS18',
    text: `# int4 per-block linear quantization, blocks of 32 (iOS18 models only)
config_type: OpLinearQuantizerConfig
global_config:
  mode: linear_symmetric
  dtype: int4
  granularity: per_block
  block_size: 32
`,
  },
  pal6: {
    label: 'palettize 6-bit k-means',
    tag: 'pal6',
    text: `# 6-bit palettization: a 64-entry lookup table per weight, by k-means (iOS16+)
config_type: OpPalettizerConfig
global_config:
  nbits: 6
  mode: kmeans
`,
  },
  pal4: {
    label: 'palettize 4-bit k-means',
    tag: 'pal4',
    text: `# 4-bit palettization: a 16-entry lookup table per weight, by k-means (iOS16+)
config_type: OpPalettizerConfig
global_config:
  nbits: 4
  mode: kmeans
`,
  },
  prune50: {
    label: 'prune 50%',
    tag: 'prune50',
    text: `# magnitude pruning: the smallest 50% of each weight's values become zeros (iOS16+)
config_type: OpMagnitudePrunerConfig
global_config:
  target_sparsity: 0.5
`,
  },
  // Two steps in one job document, as coremltools' prune_weights and then palettize_weights
  // with joint_compression=True on the model it returned (joint compression needs iOS18).
  'prune-pal4': {
    label: 'prune 50% then palettize 4-bit (iOS18)',
    tag: 'prune50-pal4',
    needs: 'iOS18',
    text: `# Prune 50%, then palettize the kept values to 4 bits by k-means (iOS18 models only):
# coremltools' prune_weights, then palettize_weights with joint_compression=True.
steps:
  - config:
      config_type: OpMagnitudePrunerConfig
      global_config:
        target_sparsity: 0.5
  - config:
      config_type: OpPalettizerConfig
      global_config:
        nbits: 4
        mode: kmeans
    joint_compression: true
`,
  },
};

// The target of the model in an inspect report, from its programs' opsets (CoreML8 = iOS18):
// {ios: 18, name: 'iOS18', opset: 'CoreML8'}, the oldest when functions differ; null when the
// model is not an ML Program.
const OPSET_TARGETS = { 5: 15, 6: 16, 7: 17, 8: 18, 9: 26 };

export function modelTarget(report) {
  let oldest = null;
  for (const program of (report && report.programs) || []) {
    for (const fn of program.functions || []) {
      const match = /^CoreML(\d+)$/.exec(fn.opset || '');
      if (!match) continue;
      const n = Number(match[1]);
      if (!oldest || n < oldest.n) oldest = { n, opset: fn.opset };
    }
  }
  if (!oldest) return null;
  const ios = OPSET_TARGETS[oldest.n] || oldest.n + 10;
  return { ios, name: `iOS${ios}`, opset: oldest.opset };
}

// Why the preset cannot run on the model of `report` ('' when it can): presets with `needs:
// 'iOS18'` (per-block and 4-bit quantization, joint compression) need an iOS18 model, as in
// coremltools.
export function presetUnavailable(preset, report) {
  if (!preset || !preset.needs || !report) return '';
  const need = Number(preset.needs.replace(/^iOS/, ''));
  const target = modelTarget(report);
  if (!target) return `needs an ${preset.needs} ML Program; this model is not an ML Program`;
  if (target.ios >= need) return '';
  return `needs an ${preset.needs} model; this one targets ${target.name} (opset ${target.opset})`;
}

const HEADER = /^op_name_configs[ \t]*:(.*)$/;
const NULLS = new Set(['', 'null', 'Null', 'NULL', '~']);

export function isBlank(text) {
  return !/\S/.test(text);
}

// The text as JSON, or undefined when it is not JSON (then it is YAML).
function asJson(text) {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(trimmed);
    return value && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

// YAML: a value without its trailing comment (" #..."), for the simple values this module reads.
function stripComment(value) {
  const match = value.match(/^(.*?)(?:\s+#.*)?$/);
  return match[1].trim();
}

function indentOf(line) {
  return line.match(/^[ \t]*/)[0].length;
}

function isBlankOrComment(line) {
  return /^\s*(#.*)?$/.test(line);
}

// A YAML mapping key at the start of `rest`: "double", 'single' or plain. Returns {key, after}
// (after = the text behind the ':'), or null.
function parseKey(rest) {
  let match = rest.match(/^"((?:[^"\\]|\\.)*)"[ \t]*:(.*)$/);
  if (match) {
    try {
      return { key: JSON.parse(`"${match[1]}"`), after: match[2] };
    } catch {
      return null;
    }
  }
  match = rest.match(/^'((?:[^']|'')*)'[ \t]*:(.*)$/);
  if (match) return { key: match[1].replaceAll("''", "'"), after: match[2] };
  match = rest.match(/^([^\s#'"{}[\],&*!|>%@`][^:#]*?)[ \t]*:(?:[ \t]+(.*))?$/);
  if (match) return { key: match[1], after: match[2] || '' };
  return null;
}

const RESERVED = /^(null|true|false|yes|no|on|off|y|n|~)$/i;

function yamlKey(name) {
  return /^[A-Za-z_][A-Za-z0-9_./-]*$/.test(name) && !RESERVED.test(name) ? name : JSON.stringify(name);
}

// The YAML text's op_name_configs block: {header, start, end, indent, entries: [{key, start,
// end, dense}]} with line indices (end exclusive), or null when there is none.
function yamlBlock(lines) {
  const header = lines.findIndex((line) => HEADER.test(line));
  if (header < 0) return null;
  const inline = stripComment(lines[header].match(HEADER)[1]);
  if (!NULLS.has(inline) && inline !== '{}') {
    throw new Error(
      'op_name_configs is written inline ({…}): write it as an indented block to use the table’s choices.',
    );
  }
  let end = header + 1;
  let last = header + 1; // after the last indented content line
  while (end < lines.length && (isBlankOrComment(lines[end]) ? !/^#/.test(lines[end]) : indentOf(lines[end]) > 0)) {
    end++;
    if (!isBlankOrComment(lines[end - 1])) last = end;
  }
  const body = [];
  for (let i = header + 1; i < last; i++) if (!isBlankOrComment(lines[i])) body.push(i);
  const indent = body.length ? indentOf(lines[body[0]]) : 2;
  const entries = [];
  for (let k = 0; k < body.length; k++) {
    const i = body[k];
    if (indentOf(lines[i]) !== indent) continue;
    const parsed = parseKey(lines[i].slice(indent));
    if (!parsed) continue;
    let j = k + 1;
    while (j < body.length && indentOf(lines[body[j]]) > indent) j++;
    const entryEnd = j < body.length ? body[j] : last;
    const value = stripComment(parsed.after);
    const hasChildren = j > k + 1;
    entries.push({ key: parsed.key, start: i, end: entryEnd, dense: NULLS.has(value) && !hasChildren });
  }
  return { header, inline, start: header + 1, end: last, indent, entries };
}

// A job document ({"steps": [...]}, or YAML with a top-level steps: key) rather than one config.
export function isJobDocument(text) {
  const json = asJson(text);
  if (json) return Object.prototype.hasOwnProperty.call(json, 'steps');
  return /^steps[ \t]*:/m.test(text);
}

// op name -> 'dense' (a null entry) or 'custom' (an entry with its own config), from the text.
export function opNameOverrides(text) {
  const result = new Map();
  if (isBlank(text)) return result;
  const json = asJson(text);
  if (json) {
    const configs = json.op_name_configs;
    if (configs && typeof configs === 'object') {
      for (const [key, value] of Object.entries(configs)) result.set(key, value === null ? 'dense' : 'custom');
    }
    return result;
  }
  let block;
  try {
    block = yamlBlock(text.split('\n'));
  } catch {
    return result; // inline op_name_configs: not shown in the table
  }
  if (block) for (const e of block.entries) result.set(e.key, e.dense ? 'dense' : 'custom');
  return result;
}

// The text with op `opName` set to keep dense (an op_name_configs entry `opName: null`) or, with
// dense = false, with its op_name_configs entry removed (the config's other rules apply again).
export function setKeepDense(text, opName, dense) {
  if (isBlank(text)) throw new Error('The config is empty (a lossless rewrite keeps every weight dense anyway).');
  if (isJobDocument(text)) {
    throw new Error('The text is a job document of several steps: add op_name_configs to the steps’ configs by hand.');
  }
  const json = asJson(text);
  if (json) {
    const configs = json.op_name_configs && typeof json.op_name_configs === 'object' ? json.op_name_configs : {};
    if (dense) configs[opName] = null;
    else delete configs[opName];
    if (Object.keys(configs).length) json.op_name_configs = configs;
    else delete json.op_name_configs;
    return `${JSON.stringify(json, null, 2)}\n`;
  }
  const lines = text.split('\n');
  const block = yamlBlock(lines);
  const entryLine = (indent) => `${' '.repeat(indent)}${yamlKey(opName)}: null`;
  if (!block) {
    if (!dense) return text;
    const tail = text.endsWith('\n') ? '' : '\n';
    return `${text}${tail}op_name_configs:\n${entryLine(2)}\n`;
  }
  const entry = block.entries.find((e) => e.key === opName);
  if (dense) {
    if (entry) lines.splice(entry.start, entry.end - entry.start, entryLine(block.indent));
    else lines.splice(block.end, 0, entryLine(block.indent));
    if (block.inline) lines[block.header] = 'op_name_configs:';
  } else if (entry) {
    lines.splice(entry.start, entry.end - entry.start);
    if (block.entries.length === 1) {
      // The block is empty now: drop the header (and the block's leftover comments/blank lines).
      const removed = block.end - block.header - (entry.end - entry.start);
      lines.splice(block.header, removed);
    }
  }
  return lines.join('\n');
}

// The name of the output: NAME-TAG.mlpackage.zip (NAME.mlpackage.zip for a lossless rewrite).
export function outputName(inputName, tag) {
  const stem = inputName.replace(/\.zip$/i, '').replace(/\.mlpackage$/i, '') || 'model';
  return `${stem}${tag ? `-${tag}` : ''}.mlpackage.zip`;
}

// ---------------------------------------------------------------------------------------------
// Presets computed from the model: which weights to leave dense follows from the model's op
// list (the inspect report's weights, in model order, with their consumers).

const CONV_TYPES = new Set(['conv', 'conv_transpose']);
const CLASSIFIER_TYPES = new Set(['linear', 'matmul']);
// Op names that mark a detection model's heads (class scores, boxes, anchors).
const HEAD_NAME = /head|cls|class|box|bbox|reg(ress)?|detect|anchor|score|objectness/i;

function floatWeights(report) {
  return (report.weights || []).filter((w) => /^(fp|bf)\d+$/.test(w.dtype) && !w.compression && w.op_type === 'const');
}

function consumedBy(w, types) {
  return (w.consumers || []).some((c) => types.has(c.op_type) && c.parameter !== 'bias');
}

// The op_name_configs block that leaves `opNames` dense, or '' for none.
function keepDenseBlock(opNames) {
  const unique = [...new Set(opNames)];
  if (!unique.length) return '';
  return `op_name_configs:\n${unique.map((n) => `  ${yamlKey(n)}: null\n`).join('')}`;
}

// The first conv's weight and the last classifier's (a linear/matmul weight; a conv's when
// the model has none): the layers quantization hurts most.
export function firstAndLastLayers(report) {
  const weights = floatWeights(report);
  const first = weights.find((w) => consumedBy(w, CONV_TYPES));
  const classifiers = weights.filter((w) => consumedBy(w, CLASSIFIER_TYPES));
  const convs = weights.filter((w) => consumedBy(w, CONV_TYPES));
  const last = classifiers.length ? classifiers[classifiers.length - 1] : convs[convs.length - 1];
  return { first: first ? first.op_name : null, last: last && last !== first ? last.op_name : null };
}

// A detection model's heads: weights of ops whose names say head/class/box/...; without such
// names, the last conv or linear weight before each model output (as many as there are
// outputs), which is where detection heads sit.
export function detectionHeads(report) {
  const weights = floatWeights(report).filter((w) => consumedBy(w, new Set([...CONV_TYPES, ...CLASSIFIER_TYPES])));
  const named = weights.filter((w) => HEAD_NAME.test(w.op_name) || (w.consumers || []).some((c) => HEAD_NAME.test(c.op_name)));
  if (named.length) return named.map((w) => w.op_name);
  const outputs = Math.max(1, ((report.model && report.model.outputs) || []).length);
  return weights.slice(-outputs).map((w) => w.op_name);
}

// Weights consumed by gather ops: a transformer's embedding tables.
export function embeddingWeights(report) {
  return floatWeights(report)
    .filter((w) => (w.consumers || []).some((c) => c.op_type === 'gather' || c.op_type === 'gather_nd' || c.op_type === 'gather_along_axis'))
    .map((w) => w.op_name);
}

const INT8_GLOBAL = `config_type: OpLinearQuantizerConfig
global_config:
  mode: linear_symmetric
  dtype: int8
  granularity: per_channel
`;

// The transformer presets' configs: int4 per-block quantization of every weight but the
// embedding tables (gather inputs), and 6-bit palettization of those tables.
const INT4_BLOCK_BUT_EMBEDDINGS = `config_type: OpLinearQuantizerConfig
global_config:
  mode: linear_symmetric
  dtype: int4
  granularity: per_block
  block_size: 32
op_type_configs:
  gather: null
`;

const PAL6_EMBEDDINGS = `config_type: OpPalettizerConfig
op_type_configs:
  gather:
    nbits: 6
    mode: kmeans
`;

// `text` with every non-empty line indented by `spaces` (a config nested in a job's steps).
function indented(text, spaces) {
  return text.replace(/^(?=.)/gm, ' '.repeat(spaces));
}

// An iOS18 transformer preset: a fixed config `text`; the note names the embedding tables with
// `embeddingsDone` (what the config does to them), or says `noEmbeddings` when there are none.
function transformerPreset({ label, tag, text, embeddingsDone, noEmbeddings }) {
  return {
    label,
    tag,
    needs: 'iOS18',
    build(report) {
      const embeddings = embeddingWeights(report);
      return { text, note: embeddings.length ? `${embeddingsDone}: ${embeddings.join(', ')}.` : noEmbeddings };
    },
  };
}

// key -> {label, tag, needs, build(report) -> {text, note}}.
export const MODEL_PRESETS = {
  cnn: {
    label: 'vision CNN: int8 per-channel, first conv and classifier kept',
    tag: 'cnn-int8',
    build(report) {
      const { first, last } = firstAndLastLayers(report);
      const kept = [first, last].filter(Boolean);
      return {
        text:
          `# Vision CNN: int8 per-channel linear quantization (iOS16+). The first conv and the last\n` +
          `# classifier layer stay dense: they are the most sensitive to quantization.\n` +
          INT8_GLOBAL +
          keepDenseBlock(kept),
        note: kept.length ? `Kept dense: ${kept.join(', ')}.` : 'No conv or classifier weights found: every weight is quantized.',
      };
    },
  },
  detection: {
    label: 'detection: int8 backbone, heads kept',
    tag: 'det-int8',
    build(report) {
      const heads = detectionHeads(report);
      return {
        text:
          `# Detection: the backbone int8 per-channel (iOS16+); the heads (class scores, boxes)\n` +
          `# stay dense.\n` +
          INT8_GLOBAL +
          keepDenseBlock(heads),
        note: heads.length ? `Heads kept dense: ${heads.join(', ')}.` : 'No head weights found.',
      };
    },
  },
  transformer: transformerPreset({
    label: 'transformer: int4 per-block 32 (iOS18), embeddings kept dense',
    tag: 'tfm-int4',
    text:
      `# Transformer: int4 per-block linear quantization, blocks of 32 (iOS18 models only).\n` +
      `# Embedding tables (gather inputs) stay dense here; the preset "embeddings palettized"\n` +
      `# palettizes them in a second step.\n` +
      INT4_BLOCK_BUT_EMBEDDINGS,
    embeddingsDone: 'Embeddings kept dense',
    noEmbeddings: 'No embedding (gather) weights found.',
  }),
  // Two steps, not joint: coremltools takes one config type per call, so the int4 quantizer
  // and the palettizer are two calls, each on weights the other leaves alone (a palettized
  // table is no longer a const, so a later non-joint step would skip it anyway).
  'tfm-pal': transformerPreset({
    label: 'transformer: int4 per-block 32, embeddings palettized 6-bit (iOS18)',
    tag: 'tfm-int4-pal6',
    text:
      `# Transformer (iOS18 models only), in two steps as two coremltools calls:\n` +
      `# 1. linear_quantize_weights: int4 per-block, blocks of 32, for every weight but the\n` +
      `#    embedding tables (gather inputs);\n` +
      `# 2. palettize_weights: the embedding tables to 6 bits (a 64-entry k-means lookup table).\n` +
      `steps:\n` +
      `  - config:\n` +
      indented(INT4_BLOCK_BUT_EMBEDDINGS, 6) +
      `  - config:\n` +
      indented(PAL6_EMBEDDINGS, 6),
    embeddingsDone: 'Embeddings palettized',
    noEmbeddings: 'No embedding (gather) weights found: only the int4 step applies.',
  }),
};
