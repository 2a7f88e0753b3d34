// Compressing with several workers at once, without SharedArrayBuffer (so without cross-origin
// isolation): workers share nothing but messages and files. Used by app.js; no DOM.
//
// 1. The page's worker (`main`, which has the model open) splits the weights the config
//    compresses into shares of about equal size ('split').
// 2. Every worker compresses its share into a results file, one weight at a time
//    ('precompute'): the main worker and `shares - 1` helper workers, which open the same
//    File (read lazily, as the main worker does) without inspecting it. Their results come back
//    as OPFS Files (or bytes without OPFS).
// 3. The main worker runs the ordinary compress with every results file mounted, taking each
//    weight's stored result instead of compressing it ('compress' with `results`): the output
//    is the single worker's (and the CLI's) byte for byte.
//
// Jobs of several steps, joint steps and lossless rewrites run on the main worker alone, as do
// configs that compress fewer than two weights. Progress sums the workers' counts and names the
// weight each one is compressing. cancel() (or any worker's error) ends the helpers; the caller
// ends the main worker itself on cancel, as for a single-worker compress.

import { WorkerClient } from './client.js';
import { removeEndedSessions } from './spillfs.js';

// Each worker holds its own wasm memory (up to about 100 MiB for a 4096 x 4096 weight) and its
// own copy of the model's program: more than four costs memory for little gain.
export const MAX_WORKERS = 4;

// The pool size for this machine: navigator.hardwareConcurrency capped at MAX_WORKERS (1 on a
// single core). `requested` (e.g. the page's ?workers=N) overrides it, within 1..8.
export function poolSize(requested) {
  const forced = Number.parseInt(requested, 10);
  if (Number.isFinite(forced) && forced >= 1) return Math.min(forced, 8);
  const cores = typeof navigator !== 'undefined' ? navigator.hardwareConcurrency || 1 : 1;
  return Math.max(1, Math.min(cores, MAX_WORKERS));
}

const helpers = new Set(); // the helper workers of the run in progress

// Ends the helper workers of the run in progress; its promise rejects with `reason`.
export function cancelPool(reason = new DOMException('The operation was cancelled.', 'AbortError')) {
  for (const helper of helpers) helper.terminate(reason);
  helpers.clear();
  cleanUp();
}

// The ended helpers' OPFS folders (a helper's results file stays there until removed).
function cleanUp() {
  removeEndedSessions().catch((err) => console.warn('mlpress: could not clean OPFS up:', err));
}

// Compresses the model open in `main` with `config` into `name`, on up to `workers` workers.
// `openRequest`: the request that opened the model in `main` ({type: 'open', file}, ...).
// Resolves with main's 'compressed' message plus `workers`: the weights each worker compressed
// (one entry when the run was not split). onProgress({done, total, weight}): weight names what
// each busy worker compresses, joined by ', '; '' while the package is written.
export async function compressOnWorkers({ main, openRequest, workerUrl, variant, workers, config, name, onProgress }) {
  const single = async () => {
    const message = await main.call({ type: 'compress', config, name }, { onProgress });
    return { ...message, workers: [message.report.weights.filter((w) => w.compressed).length] };
  };
  if (workers < 2 || !/\S/.test(config || '')) return single();
  const { split } = await main.call({ type: 'split', config, parts: workers });
  const shares = split.splittable ? split.shares.filter((share) => share.length > 0) : [];
  if (shares.length < 2) return single();

  const mine = shares.slice(1).map(() => new WorkerClient(workerUrl, { variant }));
  for (const helper of mine) helpers.add(helper);
  const total = shares.reduce((sum, share) => sum + share.length, 0);
  const busy = shares.map(() => ({ done: 0, weight: '' }));
  const report = () => {
    const done = busy.reduce((sum, b) => sum + b.done, 0);
    const weight = busy
      .map((b) => b.weight)
      .filter(Boolean)
      .join(', ');
    onProgress?.({ done, total, weight: weight || (done < total ? '…' : '') });
  };
  try {
    const answers = await Promise.all(
      shares.map(async (share, i) => {
        const client = i === 0 ? main : mine[i - 1];
        if (i > 0) {
          await client.ready;
          await client.call({ ...openRequest, inspect: false });
        }
        const onShareProgress = ({ done, weight }) => {
          busy[i] = { done, weight };
          report();
        };
        return client.call({ type: 'precompute', config, share, keep: i === 0 }, { onProgress: onShareProgress });
      }),
    );
    onProgress?.({ done: total, total, weight: '' });
    const message = await main.call(
      { type: 'compress', config, name, results: answers.slice(1).map((a) => a.bytes), ownResults: true },
      { onProgress: ({ weight }) => weight === '' && onProgress?.({ done: total, total, weight: '' }) },
    );
    // workerMemory: each worker's wasm memory after its share (the memory test checks them all).
    return { ...message, workers: answers.map((a) => a.written), workerMemory: answers.map((a) => a.wasmBytes) };
  } finally {
    for (const helper of mine) {
      helper.terminate();
      helpers.delete(helper);
    }
    cleanUp();
  }
}
