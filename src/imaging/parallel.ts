/**
 * GridPool: dirty imaging and prediction split over worker threads (or, when the compiled
 * worker script is unavailable — e.g. running the TypeScript sources under vitest — over
 * in-thread "workers" that run the same code one after the other, which still exercises the
 * decomposition).
 *
 * Per w-plane, gridding is two phases: [spread + row FFTs on own grid rows] → barrier →
 * [column FFTs + accumulation on own image columns]; degridding mirrors it with a third phase
 * over own visibility rows. Workers never write the same memory within a phase.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DsaError } from '../util/errors.js';
import { C_LIGHT } from '../astro/constants.js';
import { GridWorkerCore, type PrepareMode, type SharedBuffers, type WorkerRanges, type WorkerRequest } from './gridWorkerCore.js';
import { activeColumns, type GridPlan, type GridTimings } from './gridder.js';
import { WASM_MAX_BYTES, WasmArena, bindKernels, kernelModule } from './wasm-kernels.js';

interface Port { call(msg: WorkerRequest): Promise<void>; close(): Promise<void> }

class ThreadPort implements Port {
  private pending: { resolve: () => void; reject: (e: Error) => void } | undefined;
  constructor(private w: Worker) {
    w.on('message', (m: { ok: boolean; error?: string }) => {
      const p = this.pending; this.pending = undefined;
      if (!p) return;
      if (m.ok) p.resolve(); else p.reject(new DsaError(`gridding worker failed: ${m.error ?? '?'}`));
    });
    w.on('error', (e) => { const p = this.pending; this.pending = undefined; p?.reject(e); });
  }
  call(msg: WorkerRequest): Promise<void> {
    return new Promise((resolve, reject) => { this.pending = { resolve, reject }; this.w.postMessage(msg); });
  }
  async close(): Promise<void> { await this.w.terminate(); }
}

class LocalPort implements Port {
  private core = new GridWorkerCore();
  call(msg: WorkerRequest): Promise<void> { return this.core.handle(msg); }
  async close(): Promise<void> { /* nothing to release */ }
}

/** Allocator for makeGridPlan so its per-pixel tables are shareable. */
export function sab(bytes: number): SharedArrayBuffer { return new SharedArrayBuffer(Math.max(8, bytes)); }

/** Copy into shared memory unless already there. */
export function toShared<T extends Float32Array | Float64Array | Int32Array | Uint8Array>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const C = a.constructor as { new (b: SharedArrayBuffer): T };
  const out = new C(sab(a.byteLength));
  out.set(a);
  return out;
}

export interface PoolOptions {
  /** Number of threads (default: available parallelism, at most 8). */
  threads?: number;
  /** Force in-thread execution even if the worker script exists. */
  inThread?: boolean;
  /** The wasm memory from GridPool.arenaFor that plan.taps were allocated in (precomputeTaps). */
  arena?: WasmArena;
}

export class GridPool {
  readonly plan: GridPlan;
  private ports: Port[] = [];
  private bufs!: SharedBuffers;
  readonly threaded: boolean;
  /** Spreading and interpolation run in the WebAssembly SIMD kernels (wasm-kernels.ts). */
  simd = false;

  private constructor(plan: GridPlan, threaded: boolean) { this.plan = plan; this.threaded = threaded; }

  /**
   * Start the workers on a plan (best made with makeGridPlan(..., sab)). vis/weights are the
   * observed visibilities and imaging weights (copied to shared memory if they are not already;
   * the pool reads them, never writes).
   */
  static async create(plan: GridPlan, vis: Float32Array, weights: Float32Array, popts: PoolOptions = {}): Promise<GridPool> {
    const n = Math.max(1, Math.min(popts.threads ?? Math.min(availableParallelism(), 8), 64));
    plan.z = toShared(plan.z); plan.e0 = toShared(plan.e0); plan.corr = toShared(plan.corr);
    plan.uvw = toShared(plan.uvw); plan.freq = toShared(plan.freq);
    plan.rowWgMin = toShared(plan.rowWgMin); plan.rowWgMax = toShared(plan.rowWgMax); plan.flip = toShared(plan.flip);
    if (plan.wGroupStart) plan.wGroupStart = toShared(plan.wGroupStart);
    if (plan.chunkStart) plan.chunkStart = toShared(plan.chunkStart);
    if (plan.rowChunk) plan.rowChunk = toShared(plan.rowChunk);
    if (plan.rowPhase) plan.rowPhase = toShared(plan.rowPhase);
    const { nx, ny, Nu, vLo, vHi, nRow, nChan } = plan;
    const nBand = vHi - vLo + 1;
    // The SIMD kernels (W = 5, precomputed taps) need the taps, y and the grid band in one wasm memory.
    const t = plan.taps;
    let arena: WasmArena | undefined = t && t.ku.buffer === popts.arena?.buffer ? popts.arena : undefined;
    if (t && !arena) {
      arena = GridPool.arenaFor(plan);
      if (arena) plan.taps = { k0: arena.copy(t.k0), ku: arena.copy(t.ku), kv: arena.copy(t.kv), kw: arena.copy(t.kw) };
      else plan.taps = { k0: toShared(t.k0), ku: toShared(t.ku), kv: toShared(t.kv), kw: toShared(t.kw) };
    }
    if (arena) bindKernels(arena.memory); // the in-thread ports run here
    const here = fileURLToPath(import.meta.url);
    const workerJs = here.replace(/parallel\.(ts|js)$/, 'gridWorker.js');
    const threaded = !popts.inThread && n > 1 && here.endsWith('.js') && existsSync(workerJs);
    const pool = new GridPool(plan, threaded);
    pool.simd = arena !== undefined;
    for (let k = 0; k < n; k++) pool.ports.push(threaded ? new ThreadPort(new Worker(workerJs)) : new LocalPort());
    pool.bufs = {
      grid: arena ? arena.f32(2 * nBand * Nu) : new Float32Array(sab(8 * nBand * Nu)),
      inter: new Float32Array(sab(8 * nBand * nx)),
      acc: new Float64Array(sab(16 * nx * ny)),
      img: new Float32Array(sab(4 * nx * ny)),
      y: arena ? arena.f32(2 * nRow * nChan) : new Float32Array(sab(8 * nRow * nChan)),
      vis: toShared(vis), weights: toShared(weights),
      colActive: new Uint8Array(sab(nx)),
    };
    const split = (total: number, k: number): [number, number] => [Math.floor((total * k) / n), Math.floor((total * (k + 1)) / n)];
    const rowCuts = bandSplit(plan, n, pool.simd);
    await Promise.all(pool.ports.map((port, k) => {
      const [c0, c1] = split(nx, k), [v0, v1] = split(nRow, k);
      const [d0, d1] = split(nBand, k);
      const ranges: WorkerRanges = { r0: rowCuts[k], r1: rowCuts[k + 1], d0: vLo + d0, d1: vLo + d1, c0, c1, v0, v1, part: k, parts: n };
      return port.call({ op: 'init', plan, bufs: pool.bufs, ranges, memory: arena?.memory });
    }));
    return pool;
  }

  /**
   * A wasm memory sized for the SIMD kernels' arrays of this plan (taps, y, grid band), to allocate
   * the taps in (precomputeTaps) and hand to create(); undefined when the kernels cannot run
   * (not built, a support other than 5, a multi-channel plan, or more than 4 GiB).
   */
  static arenaFor(plan: GridPlan): WasmArena | undefined {
    const { W, nRow, nChan, Nu, vLo, vHi } = plan;
    if (W !== 5 || nChan !== 1 || !plan.wGroupStart || !kernelModule()) return undefined;
    const bytes = WasmArena.size([8 * nRow, 4 * W * nRow, 4 * W * nRow, 4 * W * nRow, 8 * nRow * nChan, 8 * (vHi - vLo + 1) * Nu]);
    return bytes <= WASM_MAX_BYTES ? new WasmArena(bytes) : undefined;
  }

  /** Have the workers compute the taps of their visibility rows (precomputeTaps(…, fill = false)). */
  async fillTaps(): Promise<void> { if (this.plan.taps) await this.all({ op: 'fillTaps' }); }

  private all(msg: WorkerRequest): Promise<void[]> { return Promise.all(this.ports.map((p) => p.call(msg))); }

  /**
   * Unnormalised dirty image Re Σ y e^{−2πi(…)} of y = vis·weights ('data'), (vis − V_model)·weights
   * with V_model the visibilities of the last predict() ('residual'), or weights ('psf').
   */
  async dirty(mode: PrepareMode = 'data', tm: GridTimings = { gridding: 0, fft: 0, imageOps: 0 }): Promise<Float32Array> {
    let t = performance.now();
    await this.all({ op: 'prepare', mode });
    tm.imageOps += performance.now() - t;
    const P = this.plan.nPlanes;
    for (let p = P - 1; p >= 0; p--) {
      t = performance.now();
      await this.all({ op: 'gridRows', p });
      tm.gridding += performance.now() - t;
      t = performance.now();
      await this.all({ op: 'gridCols', first: p === P - 1 });
      tm.fft += performance.now() - t;
    }
    t = performance.now();
    await this.all({ op: 'finish' });
    tm.imageOps += performance.now() - t;
    return Float32Array.from(this.bufs.img);
  }

  /**
   * Predicted visibilities of a model image (a shared array, overwritten by the next dirty/predict).
   * With chunkScale (per time chunk, the factor of each given model pixel; plan.rowChunk set), the
   * rows of chunk k see the model × that factor: the primary beam of that part of the drift
   * relative to the group average (beam-aware Cotton–Schwab).
   */
  async predict(img: Float32Array, tm: GridTimings = { gridding: 0, fft: 0, imageOps: 0 }, chunkScale?: (pixels: Int32Array) => Float32Array[]): Promise<Float32Array> {
    // A CLEAN model is sparse: scale and scan only its non-zero pixels (once per predict, not per chunk).
    let t = performance.now();
    let nnz = 0;
    for (let i = 0; i < img.length; i++) if (img[i] !== 0) nnz++;
    const withChunks = chunkScale !== undefined && this.plan.rowChunk !== undefined;
    const nz = nnz <= img.length / 16 || withChunks ? new Int32Array(nnz) : undefined;
    if (nz) for (let i = 0, j = 0; i < img.length; i++) if (img[i] !== 0) nz[j++] = i;
    const scales = withChunks ? chunkScale!(nz!) : undefined;
    const chunks = scales ? scales.length : 0;
    tm.imageOps += performance.now() - t;
    for (let k = 0; k < Math.max(1, chunks); k++) {
      t = performance.now();
      const d = this.bufs.img, s = scales ? scales[k] : undefined;
      if (nz) {
        d.fill(0);
        if (s) for (let j = 0; j < nz.length; j++) { const i = nz[j]; d[i] = img[i] * s[j]; }
        else for (let j = 0; j < nz.length; j++) { const i = nz[j]; d[i] = img[i]; }
        const nx = this.plan.nx, ca = this.bufs.colActive;
        ca.fill(0);
        for (let j = 0; j < nz.length; j++) if (d[nz[j]] !== 0) ca[nz[j] % nx] = 1;
      } else {
        d.set(img);
        activeColumns(d, this.plan.nx, this.plan.ny, this.bufs.colActive);
      }
      await this.all({ op: 'startAdjoint', zeroY: k === 0 });
      tm.imageOps += performance.now() - t;
      for (let p = 0; p < this.plan.nPlanes; p++) {
        t = performance.now();
        await this.all({ op: 'degridCols', step: p > 0 });
        await this.all({ op: 'degridRows' });
        tm.fft += performance.now() - t;
        t = performance.now();
        await this.all({ op: 'degridVis', p, chunk: chunks ? k : -1 });
        tm.gridding += performance.now() - t;
      }
    }
    await this.all({ op: 'unshift' });
    return this.bufs.y;
  }

  async close(): Promise<void> { await Promise.all(this.ports.map((p) => p.close())); this.ports = []; }
}

/**
 * Split the occupied grid rows [vLo, vHi] into n bands of about equal work: spreading work per
 * row (visibility taps, estimated on a channel subsample) plus one row FFT each.
 */
function bandSplit(plan: GridPlan, n: number, simd: boolean): number[] {
  const { vLo, vHi, nRow, nChan, uvw, freq, cellRad, Nv, Nu, W } = plan;
  const nBand = vHi - vLo + 1;
  const cost = new Float64Array(nBand);
  const cstep = Math.max(1, Math.floor(nChan / 16));
  // Per pass: a row FFT on every plane (64 µs each at Nu = 8192, scaled with Nu log Nu) against a
  // visibility's taps on this row on each of its W planes (≈ 6.6 ns per plane in the SIMD kernels,
  // ≈ 26 ns in the TypeScript loops), in units of visibilities covering the row.
  const fftCost = ((plan.nPlanes / W) * (simd ? 9700 : 2500) * Nu * Math.log2(Nu)) / (8192 * 13);
  // a few million samples estimate the per-row load well enough (every row took 1.4 s at full scale)
  const rstep = Math.max(1, Math.floor((nRow * Math.ceil(nChan / cstep)) / 2e6));
  for (let r = 0; r < nRow; r += rstep) for (let c = 0; c < nChan; c += cstep) {
    const gv = (uvw[3 * r + 1] * freq[c] / C_LIGHT) * cellRad * Nv + Nv / 2;
    const k0 = Math.ceil(gv - W / 2) - vLo;
    for (let a = 0; a < W; a++) if (k0 + a >= 0 && k0 + a < nBand) cost[k0 + a] += cstep * rstep;
  }
  let total = 0;
  for (let i = 0; i < nBand; i++) { cost[i] += fftCost; total += cost[i]; }
  const cuts = [vLo];
  let acc = 0, k = 1;
  for (let i = 0; i < nBand && k < n; i++) {
    acc += cost[i];
    if (acc >= (total * k) / n) { cuts.push(vLo + i + 1); k++; }
  }
  while (cuts.length < n) cuts.push(vHi + 1);
  cuts.push(vHi + 1);
  return cuts;
}
