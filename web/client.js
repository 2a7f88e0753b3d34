// A page-side handle on one mlpress worker (worker.js): starts it, sends requests and matches
// the answers, forwards progress messages, and ends it. Used by the page (app.js) and by the
// embedding API (mlpress.js); no DOM.
//
// The worker runs each request synchronously inside the wasm module, so a running request
// cannot be interrupted: terminate() ends the worker (and everything in its memory), and the
// caller starts a fresh one. Every request still waiting then rejects with `reason` (by
// default an AbortError DOMException).

export class WorkerClient {
  // workerUrl: URL of worker.js. variant: 'simd' | 'baseline' | undefined (the worker picks).
  constructor(workerUrl, { variant } = {}) {
    const url = new URL(workerUrl);
    if (variant) url.searchParams.set('wasm', variant);
    this.worker = new Worker(url, { type: 'module', name: 'mlpress' });
    this.pending = new Map();
    this.nextId = 1;
    this.ended = false;
    // Resolves with the variant once the module is loaded; rejects when it cannot load.
    this.ready = new Promise((resolve, reject) => {
      this.readyCallbacks = { resolve, reject };
    });
    this.worker.onmessage = (event) => this.receive(event.data);
    this.worker.onerror = (event) => {
      event.preventDefault();
      this.fail(new Error(`The worker failed: ${event.message || 'unknown error'}.`));
    };
  }

  receive(message) {
    if (message.type === 'ready') {
      this.variant = message.variant;
      this.readyCallbacks.resolve(message.variant);
      return;
    }
    if (message.type === 'fatal') {
      this.fail(new Error(message.message));
      return;
    }
    const entry = this.pending.get(message.id);
    if (!entry) return;
    if (message.type === 'progress') {
      if (entry.onProgress) entry.onProgress({ done: message.done, total: message.total, weight: message.weight });
      return;
    }
    this.pending.delete(message.id);
    if (message.type === 'error') entry.reject(Object.assign(new Error(message.message), { file: message.file }));
    else entry.resolve(message);
  }

  // The module could not start (or the worker died): every request fails with `error`.
  fail(error) {
    this.readyCallbacks.reject(error);
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }

  // Sends {type, ...} and resolves with the worker's answer; onProgress gets the request's
  // progress messages ({done, total, weight}).
  call(message, { transfer = [], onProgress } = {}) {
    if (this.ended) return Promise.reject(new Error('The mlpress worker has ended.'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ id, ...message }, transfer);
    });
  }

  // Ends the worker at once, whatever it is doing; its memory (the wasm module, any partial
  // output) goes with it. Requests still waiting reject with `reason`.
  terminate(reason = new DOMException('The operation was cancelled.', 'AbortError')) {
    if (this.ended) return;
    this.ended = true;
    this.worker.terminate();
    this.readyCallbacks.reject(reason);
    this.ready.catch(() => {});
    for (const { reject } of this.pending.values()) reject(reason);
    this.pending.clear();
  }
}

// True for the error terminate() rejects with by default (and for an AbortSignal's default
// reason).
export function isAbort(err) {
  return err instanceof DOMException && err.name === 'AbortError';
}
