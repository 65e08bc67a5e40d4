/**
 * Worker-thread versions of the two full-data passes (sums accumulation and apply), splitting
 * the baselines between threads. They need the visibility arrays (and, for sums, the output
 * sums) in SharedArrayBuffers — `sharedCopy` makes one, and a reader can decode straight into
 * them. With ordinary ArrayBuffers, or threads ≤ 1, they run in the calling thread.
 *
 * The workers run the very same kernel source (Function.prototype.toString of the
 * self-contained kernels), so the numerics cannot drift apart from the single-thread path.
 */
import { Worker } from 'node:worker_threads';
import { accumulateKernel, createSums, prepareAccumulate, type AccumulateOptions, type BaselineSums, type KernelArgs } from './sums.js';
import { applyKernel, type ApplyChunk, type ApplyCounts, type CalApplier } from './apply.js';
import type { VisChunk } from './types.js';

type Typed = Float32Array | Float64Array | Uint8Array | Int32Array;

/** True when the array lives in a SharedArrayBuffer. */
export function isShared(a: Typed | null | undefined): boolean {
  return !!a && typeof SharedArrayBuffer !== 'undefined' && a.buffer instanceof SharedArrayBuffer;
}

/** Copy a typed array into a SharedArrayBuffer. */
export function sharedCopy<T extends Float32Array | Float64Array | Uint8Array>(a: T): T {
  const Ctor = a.constructor as { new (buf: SharedArrayBuffer): T };
  const out = new Ctor(new SharedArrayBuffer(a.byteLength));
  out.set(a as never);
  return out;
}

/** Baseline ranges with about equal numbers of cross-correlations. */
function splitBaselines(ant1: Int32Array, ant2: Int32Array, parts: number): [number, number][] {
  const nBl = ant1.length;
  let cross = 0;
  for (let b = 0; b < nBl; b++) if (ant1[b] !== ant2[b]) cross++;
  const out: [number, number][] = [];
  let start = 0, seen = 0;
  for (let p = 1; p <= parts; p++) {
    const target = (cross * p) / parts;
    let b = start;
    while (b < nBl && (seen < target || p === parts)) {
      if (ant1[b] !== ant2[b]) seen++;
      b++;
    }
    out.push([start, b]);
    start = b;
  }
  return out.filter(([a, b]) => b > a);
}

// eslint-style note: kernels are plain functions; their source is shipped to the workers.
function workerSource(kernel: (...args: never[]) => unknown): string {
  return `
const { parentPort } = require('node:worker_threads');
const kernel = ${kernel.toString()};
parentPort.on('message', (args) => {
  try { parentPort.postMessage({ ok: true, result: kernel(...args) }); }
  catch (e) { parentPort.postMessage({ ok: false, error: String(e && e.stack || e) }); }
});`;
}

/** Number of worker threads started so far (diagnostics: tells whether the parallel path ran). */
export let workersStarted = 0;

async function runInWorkers(kernel: (...args: never[]) => unknown, argSets: unknown[][]): Promise<unknown[]> {
  const src = workerSource(kernel);
  workersStarted += argSets.length;
  const workers = argSets.map(() => new Worker(src, { eval: true }));
  try {
    return await Promise.all(workers.map((w, k) => new Promise<unknown>((resolve, reject) => {
      w.once('message', (m: { ok: boolean; result?: unknown; error?: string }) => (m.ok ? resolve(m.result) : reject(new Error(m.error))));
      w.once('error', reject);
      w.postMessage(argSets[k]);
    })));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Sums allocated in shared memory when `threads` > 1 (so workers can fill them). */
export function createSumsFor(chunk: Pick<VisChunk, 'nAnt' | 'ant1' | 'ant2' | 'nPol'>, nChan: number, threads: number): BaselineSums {
  return createSums(chunk.nAnt, chunk.ant1, chunk.ant2, nChan, chunk.nPol, threads > 1);
}

/** accumulateSums on `threads` worker threads (falls back to the calling thread). */
export async function accumulateSumsParallel(chunk: VisChunk, sums: BaselineSums, opts: AccumulateOptions = {}, threads = 2): Promise<void> {
  await runAccumulateKernel(prepareAccumulate(chunk, sums, opts), threads);
}

/** Run prepared accumulateKernel arguments, split over baselines when everything is shared. */
export async function runAccumulateKernel(args: KernelArgs, threads = 2): Promise<void> {
  const [data, model, flag, weight, ant1, ant2] = args;
  const [xy, mm, vv, n] = args.slice(19) as Float64Array[];
  const shared = isShared(data) && isShared(model) && isShared(flag) && (!weight || isShared(weight))
    && isShared(xy) && isShared(mm) && isShared(vv) && isShared(n);
  if (threads <= 1 || !shared) {
    accumulateKernel(...args);
    return;
  }
  const ranges = splitBaselines(ant1, ant2, threads);
  const sets = ranges.map(([b0, b1]) => {
    const a = args.slice() as unknown[];
    a[12] = b0; // bStart
    a[13] = b1; // bEnd
    return a;
  });
  await runInWorkers(accumulateKernel as (...args: never[]) => unknown, sets);
}

/** CalApplier.applyChunk on `threads` worker threads (falls back to the calling thread). */
export async function applyChunkParallel(applier: CalApplier, chunk: ApplyChunk, threads = 2): Promise<ApplyCounts> {
  const args = applier.prepare(chunk);
  const shared = isShared(chunk.data) && isShared(chunk.flag) && (!chunk.weight || isShared(chunk.weight));
  let res: [number, number, number];
  if (threads <= 1 || !shared) {
    res = applyKernel(...args);
  } else {
    const ranges = splitBaselines(chunk.ant1, chunk.ant2, threads);
    const sets = ranges.map(([b0, b1]) => {
      const a = args.slice() as unknown[];
      a[10] = b0; // bStart
      a[11] = b1; // bEnd
      return a;
    });
    const parts = (await runInWorkers(applyKernel as (...args: never[]) => unknown, sets)) as [number, number, number][];
    res = [0, 0, 0];
    for (const p of parts) { res[0] += p[0]; res[1] += p[1]; res[2] += p[2]; }
  }
  return {
    visibilities: chunk.nTime * chunk.nBl * chunk.nChan * chunk.nPol,
    alreadyFlagged: res[0], flaggedBySolutions: res[1], nonFinite: res[2],
  };
}
