// Unit tests of web/config.js (the presets and the table's "keep dense" edits of the config
// text), under Node.js without a browser:  node --test tests/e2e/config.test.mjs
// The page's e2e test (page.test.mjs) checks the same edits through the UI and the CLI.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  MODEL_PRESETS,
  PRESETS,
  detectionHeads,
  embeddingWeights,
  firstAndLastLayers,
  isJobDocument,
  modelTarget,
  opNameOverrides,
  outputName,
  presetUnavailable,
  setKeepDense,
} from '../../web/config.js';

describe('web/config.js', () => {
  test('the presets: labels, tags and config types', () => {
    assert.deepEqual(
      Object.values(PRESETS).map((p) => p.label),
      [
        'none: lossless rewrite',
        'int8 per-channel (iOS16+)',
        'int4 per-block 32 (iOS18)',
        'palettize 6-bit k-means',
        'palettize 4-bit k-means',
        'prune 50%',
        'prune 50% then palettize 4-bit (iOS18)',
      ],
    );
    assert.equal(PRESETS.lossless.text, '');
    for (const p of Object.values(PRESETS).slice(1).filter((x) => !isJobDocument(x.text))) {
      assert.match(p.text, /^config_type: Op\w+Config$/m);
      assert.match(p.text, /^global_config:$/m);
      assert.ok(p.text.endsWith('\n'));
    }
  });

  test('YAML: keep dense appends an op_name_configs block, and removing it restores the text', () => {
    const base = PRESETS.int8.text;
    let text = setKeepDense(base, 'conv2_weight', true);
    assert.equal(text, `${base}op_name_configs:\n  conv2_weight: null\n`);
    text = setKeepDense(text, 'odd name: yes', true);
    text = setKeepDense(text, 'null', true);
    assert.equal(text, `${base}op_name_configs:\n  conv2_weight: null\n  "odd name: yes": null\n  "null": null\n`);
    assert.deepEqual([...opNameOverrides(text)], [['conv2_weight', 'dense'], ['odd name: yes', 'dense'], ['null', 'dense']]);
    assert.equal(setKeepDense(text, 'conv2_weight', true), text, 'idempotent');
    for (const name of ['conv2_weight', 'odd name: yes', 'null']) text = setKeepDense(text, name, false);
    assert.equal(text, base);
    assert.equal(setKeepDense(base, 'nothing', false), base);
  });

  test('YAML: an existing block, own entries, comments and the following keys survive', () => {
    const text = [
      'config_type: OpLinearQuantizerConfig',
      'op_name_configs:   # per op',
      '    a:',
      '      dtype: int8',
      '    b: ~  # dense',
      "    'c d': null",
      '# a comment at the left',
      'global_config:',
      '  dtype: int8',
      '',
    ].join('\n');
    assert.deepEqual([...opNameOverrides(text)], [['a', 'custom'], ['b', 'dense'], ['c d', 'dense']]);
    const denseA = setKeepDense(text, 'a', true);
    assert.equal(denseA, text.replace('    a:\n      dtype: int8\n', '    a: null\n'));
    const added = setKeepDense(text, 'e', true);
    assert.equal(added, text.replace("    'c d': null\n", "    'c d': null\n    e: null\n"));
    let removed = text;
    for (const name of ['a', 'b', 'c d']) removed = setKeepDense(removed, name, false);
    assert.equal(removed, 'config_type: OpLinearQuantizerConfig\n# a comment at the left\nglobal_config:\n  dtype: int8\n');
  });

  test('YAML: an empty or null op_name_configs becomes a block; an inline one is refused', () => {
    assert.equal(setKeepDense('config_type: X\nop_name_configs: {}\n', 'w', true), 'config_type: X\nop_name_configs:\n  w: null\n');
    assert.equal(setKeepDense('config_type: X\nop_name_configs: null\n', 'w', true), 'config_type: X\nop_name_configs:\n  w: null\n');
    assert.throws(() => setKeepDense('config_type: X\nop_name_configs: {a: null}\n', 'w', true), /inline/);
    assert.deepEqual([...opNameOverrides('config_type: X\nop_name_configs: {a: null}\n')], []);
  });

  test('JSON stays JSON', () => {
    const json = '{"config_type":"OpPalettizerConfig","global_config":{"nbits":4},"op_name_configs":{"a":{"nbits":2}}}';
    assert.deepEqual([...opNameOverrides(json)], [['a', 'custom']]);
    const dense = setKeepDense(json, 'b', true);
    assert.deepEqual(JSON.parse(dense).op_name_configs, { a: { nbits: 2 }, b: null });
    assert.deepEqual([...opNameOverrides(dense)], [['a', 'custom'], ['b', 'dense']]);
    const back = setKeepDense(setKeepDense(dense, 'a', false), 'b', false);
    assert.deepEqual(JSON.parse(back), { config_type: 'OpPalettizerConfig', global_config: { nbits: 4 } });
  });

  test('an empty config or a job document cannot take overrides; output names', () => {
    assert.throws(() => setKeepDense('  \n', 'a', true), /empty/);
    const job = '{"steps": [{"config": {"config_type": "OpPalettizerConfig", "global_config": {"nbits": 4}}}]}';
    assert.ok(isJobDocument(job));
    assert.ok(isJobDocument('steps:\n  - config:\n      config_type: OpPalettizerConfig\n'));
    assert.ok(!isJobDocument(PRESETS.pal4.text));
    assert.throws(() => setKeepDense(job, 'a', true), /job document/);
    assert.equal(outputName('sample.mlpackage.zip', 'int8'), 'sample-int8.mlpackage.zip');
    assert.equal(outputName('My Model.mlpackage.zip', ''), 'My Model.mlpackage.zip');
    assert.equal(outputName('x.zip', 'pal4'), 'x-pal4.mlpackage.zip');
  });
});

// The presets computed from a model: on the sample (its report from the CLI) and on small
// hand-made reports for the cases the sample does not have.
describe('web/config.js model presets', () => {
  const w = (opName, dtype, consumers, extra = {}) => ({
    name: opName,
    op_name: opName,
    op_type: 'const',
    dtype,
    compression: null,
    consumers: consumers.map(([op_type, op_name, parameter = 'weight']) => ({ op_type, op_name, parameter })),
    ...extra,
  });

  test('vision CNN on the sample: the first conv and the classifier stay dense, and the CLI agrees', async () => {
    const { spawnSync } = await import('node:child_process');
    const path = await import('node:path');
    const fs = await import('node:fs');
    const os = await import('node:os');
    const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
    const bin = path.resolve(root, process.env.MLPRESS_BIN || 'build/core/mlpress');
    const sample = path.join(root, 'sample', 'sample.mlpackage.zip');
    const report = JSON.parse(spawnSync(bin, ['inspect', sample, '--json'], { encoding: 'utf8' }).stdout);
    assert.deepEqual(firstAndLastLayers(report), { first: 'conv1_weight_0_to_fp16', last: 'classifier_weight_0_to_fp16' });
    const { text, note } = MODEL_PRESETS.cnn.build(report);
    assert.deepEqual([...opNameOverrides(text)], [
      ['conv1_weight_0_to_fp16', 'dense'],
      ['classifier_weight_0_to_fp16', 'dense'],
    ]);
    assert.match(note, /conv1_weight_0_to_fp16/);
    // The CLI reads the text and leaves exactly those two dense "by op_name".
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlpress-preset-'));
    try {
      const config = path.join(tmp, 'cnn.yaml');
      fs.writeFileSync(config, text.replace('global_config:\n', 'global_config:\n  weight_threshold: 100\n'));
      const run = spawnSync(bin, ['compress', sample, path.join(tmp, 'out.mlpackage.zip'), '--config', config, '--json'], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      const skipped = JSON.parse(run.stdout).weights.filter((x) => !x.compressed && /op_name/.test(x.reason)).map((x) => x.op_name);
      assert.deepEqual(skipped, ['conv1_weight_0_to_fp16', 'classifier_weight_0_to_fp16']);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('vision CNN without a linear layer keeps the last conv; compressed and int weights do not count', () => {
    const report = {
      weights: [
        w('a_w', 'fp16', [['conv', 'a']]),
        w('q_w', 'int8', [['conv', 'q']]),
        w('b_w', 'fp16', [['conv', 'b']]),
        w('c_w', 'fp16', [['conv', 'c']], { compression: { kind: 'palettized' } }),
      ],
    };
    assert.deepEqual(firstAndLastLayers(report), { first: 'a_w', last: 'b_w' });
  });

  test('detection heads: by name, else the last conv/linear weight per output', () => {
    const named = {
      model: { outputs: [{}, {}] },
      weights: [w('bb1', 'fp16', [['conv', 'backbone_1']]), w('h1', 'fp16', [['conv', 'cls_head']]), w('h2', 'fp16', [['conv', 'box_pred']])],
    };
    assert.deepEqual(detectionHeads(named), ['h1', 'h2']);
    const unnamed = {
      model: { outputs: [{}, {}] },
      weights: [w('x1', 'fp16', [['conv', 'c1']]), w('x2', 'fp16', [['conv', 'c2']]), w('x3', 'fp16', [['conv', 'c3']]), w('x4', 'fp16', [['conv', 'c4', 'bias']])],
    };
    assert.deepEqual(detectionHeads(unnamed), ['x2', 'x3']);
  });

  test('transformer: gather inputs are the embeddings, kept dense by op type', () => {
    const report = { weights: [w('emb', 'fp16', [['gather', 'g', 'x']]), w('q', 'fp16', [['linear', 'l']])] };
    assert.deepEqual(embeddingWeights(report), ['emb']);
    const { text, note } = MODEL_PRESETS.transformer.build(report);
    assert.match(text, /^op_type_configs:\n {2}gather: null$/m);
    assert.match(text, /block_size: 32/);
    assert.match(note, /emb/);
  });

  test('the model target from the opsets, and which presets need iOS18', () => {
    const report = (...opsets) => ({ programs: [{ functions: opsets.map((opset, i) => ({ name: `f${i}`, opset })) }] });
    assert.deepEqual(modelTarget(report('CoreML6')), { ios: 16, name: 'iOS16', opset: 'CoreML6' });
    assert.deepEqual(modelTarget(report('CoreML8', 'CoreML7')), { ios: 17, name: 'iOS17', opset: 'CoreML7' });
    assert.equal(modelTarget({ programs: [] }), null);
    const ios18 = [...Object.entries(PRESETS), ...Object.entries(MODEL_PRESETS)].filter(([, p]) => p.needs).map(([k]) => k);
    assert.deepEqual(ios18.sort(), ['int4', 'prune-pal4', 'tfm-pal', 'transformer']);
    for (const key of ios18) {
      const preset = PRESETS[key] || MODEL_PRESETS[key];
      assert.equal(presetUnavailable(preset, report('CoreML8')), '');
      assert.equal(presetUnavailable(preset, report('CoreML9')), '');
      assert.equal(presetUnavailable(preset, report('CoreML6')), 'needs an iOS18 model; this one targets iOS16 (opset CoreML6)');
      assert.match(presetUnavailable(preset, { programs: [] }), /not an ML Program/);
    }
    assert.equal(presetUnavailable(PRESETS.int8, report('CoreML6')), '');
    assert.equal(presetUnavailable(PRESETS.int4, null), '', 'no model: not judged');
  });

  test('the two-step presets are job documents: prune then joint palettize; int4 then palettized embeddings', () => {
    const prunePal = PRESETS['prune-pal4'].text;
    assert.ok(isJobDocument(prunePal));
    assert.match(prunePal, /OpMagnitudePrunerConfig[\s\S]*target_sparsity: 0\.5[\s\S]*OpPalettizerConfig[\s\S]*nbits: 4\n\s+mode: kmeans\n\s+joint_compression: true\n$/);
    const report = { weights: [w('emb', 'fp16', [['gather', 'g', 'x']]), w('q', 'fp16', [['linear', 'l']])] };
    const { text, note } = MODEL_PRESETS['tfm-pal'].build(report);
    assert.ok(isJobDocument(text));
    assert.doesNotMatch(text, /joint_compression/);
    assert.match(text, /dtype: int4[\s\S]*block_size: 32\n\s+op_type_configs:\n\s+gather: null\n[\s\S]*OpPalettizerConfig\n\s+op_type_configs:\n\s+gather:\n\s+nbits: 6\n\s+mode: kmeans\n$/);
    assert.match(note, /Embeddings palettized: emb/);
  });
});
