/** Worker-thread entry: runs GridWorkerCore requests and replies { ok } or { error }. */
import { parentPort } from 'node:worker_threads';
import { GridWorkerCore, type WorkerRequest } from './gridWorkerCore.js';

const core = new GridWorkerCore();
parentPort?.on('message', (msg: WorkerRequest) => {
  core.handle(msg).then(
    () => parentPort?.postMessage({ ok: true }),
    (e: unknown) => parentPort?.postMessage({ ok: false, error: e instanceof Error ? e.stack ?? e.message : String(e) }),
  );
});
