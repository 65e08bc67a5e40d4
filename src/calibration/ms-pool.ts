/**
 * A small pool of persistent worker threads for ms-jobs.ts (started once per command, unlike the
 * per-call workers of parallel.ts: a group needs a few dozen job rounds). Jobs must reference
 * SharedArrayBuffer-backed arrays for their outputs. Without worker threads (threads ≤ 1, or
 * the compiled worker script is missing, as when running from TypeScript sources) the jobs run
 * in the calling thread: same functions, same results.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { runJob, type Job } from './ms-jobs.js';

export class JobPool {
  private constructor(private readonly workers: Worker[]) {}

  /** Start `threads` workers (none when threads ≤ 1 or the worker script is not available). */
  static create(threads: number): JobPool {
    const url = new URL('./ms-worker.js', import.meta.url);
    if (threads <= 1 || !existsSync(fileURLToPath(url))) return new JobPool([]);
    return new JobPool(Array.from({ length: threads }, () => new Worker(url)));
  }

  get size(): number {
    return Math.max(1, this.workers.length);
  }

  get parallel(): boolean {
    return this.workers.length > 0;
  }

  /** Run the jobs (job k on worker k mod size), wait for all of them; results in job order. */
  async run(jobs: Job[]): Promise<unknown[]> {
    const results: unknown[] = new Array(jobs.length);
    if (!this.parallel) {
      jobs.forEach((j, k) => { results[k] = runJob(j); });
      return results;
    }
    const perWorker = new Map<number, number[]>();
    jobs.forEach((_, k) => {
      const w = k % this.workers.length;
      perWorker.set(w, [...(perWorker.get(w) ?? []), k]);
    });
    await Promise.all([...perWorker.entries()].map(async ([w, list]) => {
      for (const k of list) results[k] = await this.one(this.workers[w], jobs[k]);
    }));
    return results;
  }

  private one(w: Worker, job: Job): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const onMsg = (m: { ok: boolean; result?: unknown; error?: string }) => {
        w.off('error', onErr);
        if (m.ok) resolve(m.result);
        else reject(new Error(`calibration worker: ${m.error}`));
      };
      const onErr = (e: Error) => {
        w.off('message', onMsg);
        reject(e);
      };
      w.once('message', onMsg);
      w.once('error', onErr);
      w.postMessage(job);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/**
 * Below this many visibilities a pass runs in the calling thread: starting workers costs more.
 * DSA110_CAL_PARALLEL_MIN_VIS overrides it (tests set 0 to exercise the worker path on small data).
 */
export const MIN_PARALLEL_VISIBILITIES = 16e6;

/** Threads to use for an MS of this size. */
export function threadsFor(m: { nTimes: number; nBaselines: number; nChan: number; nPol: number }, threads: number): number {
  const env = Number(process.env.DSA110_CAL_PARALLEL_MIN_VIS);
  const min = process.env.DSA110_CAL_PARALLEL_MIN_VIS !== undefined && Number.isFinite(env) ? env : MIN_PARALLEL_VISIBILITIES;
  return m.nTimes * m.nBaselines * m.nChan * m.nPol >= min ? threads : 1;
}

/** Split [0, n) into `parts` contiguous ranges of about equal `weight` (default: equal length). */
export function splitRange(n: number, parts: number, weight?: (i: number) => number): [number, number][] {
  const out: [number, number][] = [];
  if (!weight) {
    for (let p = 0; p < parts; p++) out.push([Math.floor((n * p) / parts), Math.floor((n * (p + 1)) / parts)]);
    return out.filter(([a, b]) => b > a);
  }
  let total = 0;
  for (let i = 0; i < n; i++) total += weight(i);
  let start = 0, acc = 0;
  for (let p = 1; p <= parts; p++) {
    const target = (total * p) / parts;
    let i = start;
    while (i < n && (acc < target || p === parts)) acc += weight(i++);
    out.push([start, i]);
    start = i;
  }
  return out.filter(([a, b]) => b > a);
}
