/** Worker thread of ms-pool.ts: runs ms-jobs.ts jobs on shared arrays and reports completion. */
import { parentPort } from 'node:worker_threads';
import { runJob, type Job } from './ms-jobs.js';

parentPort?.on('message', (job: Job) => {
  try {
    parentPort!.postMessage({ ok: true, result: runJob(job) });
  } catch (e) {
    parentPort!.postMessage({ ok: false, error: String((e as Error)?.stack ?? e) });
  }
});
