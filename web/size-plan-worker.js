// The worker's side of the size slider (size-planner.js): the requests that analyse the open
// package and plan it for a size target, over the module's sensitivity and planForSize
// bindings (wasm/plan_bindings.cc). The analysis stays in the module, keyed by the package's
// path, until the worker opens another package (forget()).
//
// Requests (worker.js passes them here; answers go back with the request's id):
//   {type: 'sensitivity', options}    analyse: `mlpress sensitivity --json`, parsed; posts
//                                     'progress' messages ({done, total, weight}) while it runs
//                                     answer: {type: 'sensitivity', report}
//   {type: 'size-plan', target, options}   one plan: `mlpress plan --json`, parsed
//                                     (target: bytes, a size text, or null = the smallest plan)
//                                     answer: {type: 'size-plan', plan}
//   {type: 'size-curve', targets, options} many plans, totals only (for the chart)
//                                     answer: {type: 'size-curve', points: [{target_bytes,
//                                     predicted_file_bytes, total_sq_error}]}

export const SIZE_PLAN_REQUESTS = new Set(['sensitivity', 'size-plan', 'size-curve']);

function optionsText(options) {
  return options ? JSON.stringify(options) : '';
}

// The answer to one request, for the package at `inPath`; `postProgress({done, total, weight})`
// is called synchronously from inside the analysis.
export function sizePlanRequest(mod, inPath, request, postProgress) {
  if (request.type === 'sensitivity') {
    const report = JSON.parse(mod.sensitivity(inPath, optionsText(request.options), postProgress));
    return { type: 'sensitivity', report };
  }
  if (request.type === 'size-plan') {
    const plan = JSON.parse(mod.planForSize(inPath, request.target ?? null, optionsText(request.options)));
    return { type: 'size-plan', plan };
  }
  if (request.type === 'size-curve') {
    const options = optionsText(request.options);
    const points = [];
    for (const target of request.targets || []) {
      const plan = JSON.parse(mod.planForSize(inPath, target, options));
      points.push({
        target_bytes: plan.target_bytes,
        predicted_file_bytes: plan.predicted_file_bytes,
        total_sq_error: plan.total_sq_error,
      });
    }
    return { type: 'size-curve', points };
  }
  throw new Error(`Unknown request '${request.type}'.`);
}

// Drops every analysis: the package at a path may be another one next time.
export function forget(mod) {
  if (mod && mod.forgetSensitivity) mod.forgetSensitivity('');
}
