/**
 * The per-thread half of parallel gridding. A worker owns a band of grid rows (it spreads onto
 * and row-FFTs only those), a range of image columns (column FFTs and the per-pixel plane
 * accumulation), and a range of visibility rows (weighting/phasing and degridding). All big
 * arrays live in SharedArrayBuffers, so the phases only need a barrier between them, which the
 * pool provides by awaiting every worker's reply.
 */
import { Fft1d, initFft } from './fft.js';
import {
  applyShiftPhase, colsAdjoint, colsForward, degridPlane, degridPlanePart, fillTaps, finishImage, gridPlane, rowsAdjoint, rowsForward, startAdjoint,
  type GridPlan,
} from './gridder.js';
import { bindKernels, rebind } from './wasm-kernels.js';

export interface WorkerRanges {
  /** Grid band rows [r0, r1) (absolute grid row indices). */
  r0: number; r1: number;
  /** Band rows [d0, d1) this worker inverse-FFTs when degridding (default [r0, r1)). */
  d0?: number; d1?: number;
  /** Image columns [c0, c1). */
  c0: number; c1: number;
  /** Visibility rows [v0, v1) (weighting, phasing; degridding of unsorted plans). */
  v0: number; v1: number;
  /** This worker's index and the number of workers (shares of each plane's rows when degridding). */
  part: number; parts: number;
}

export interface SharedBuffers {
  /** Whole occupied band, (vHi−vLo+1)·Nu complex float32 (the FFTs are float32; halving the grid halved its memory traffic). */
  grid: Float32Array;
  /** Band rows × nx complex float32. */
  inter: Float32Array;
  /** nx·ny complex float64 accumulator (gridding) / current plane (degridding). */
  acc: Float64Array;
  /** Output image nx·ny. */
  img: Float32Array;
  /** Gridding input y (2·nRow·nChan) / degridding output. */
  y: Float32Array;
  /** Observed visibilities and imaging weights. */
  vis: Float32Array; weights: Float32Array;
  /** Per image column: non-zero model pixels present (set by the pool before a predict). */
  colActive: Uint8Array;
}

/** What to grid: the data, data minus the last prediction (Cotton–Schwab residual), or ones (PSF). */
export type PrepareMode = 'data' | 'residual' | 'psf';

export type WorkerRequest =
  // memory: the shared wasm memory holding plan.taps, bufs.y and bufs.grid (SIMD kernels), if any
  | { op: 'init'; plan: GridPlan; bufs: SharedBuffers; ranges: WorkerRanges; memory?: WebAssembly.Memory }
  | { op: 'fillTaps' }                               // plan.taps and plan.rowPhase of own visibility rows
  | { op: 'prepare'; mode: PrepareMode }            // y = (vis | vis − [y of the last predict] | 1)·weight·e^{−2πi w s}
  | { op: 'gridRows'; p: number }                    // zero own band rows, spread plane p, row FFTs
  | { op: 'gridCols'; first: boolean }               // column FFTs, Horner accumulation
  | { op: 'finish' }                                 // img = Re(acc·e0)·corr on own image columns
  | { op: 'startAdjoint'; zeroY?: boolean }          // acc = img·corr·conj(e0) on own image columns; y = 0 unless zeroY false
  | { op: 'degridCols'; step: boolean }              // (step) + column inverse FFTs → inter
  | { op: 'degridRows' }                             // own band rows: inverse row FFTs → grid
  | { op: 'degridVis'; p: number; chunk?: number }   // own visibility rows (of one time chunk if given): interpolate plane p
  | { op: 'unshift' };                               // y ·= e^{+2πi w s} on own visibility rows

export class GridWorkerCore {
  private plan!: GridPlan;
  private bufs!: SharedBuffers;
  private rg!: WorkerRanges;
  private fu: Fft1d | undefined;
  private fv: Fft1d | undefined;
  /** Own grid band holds degridding data (must be zeroed before the next gridding plane). */
  private gridDirty = false;

  /** This worker's grid rows [r0, r1) of the shared band. */
  private ownBand(): Float32Array {
    const { Nu, vLo } = this.plan;
    return this.bufs.grid.subarray(2 * (this.rg.r0 - vLo) * Nu, 2 * (this.rg.r1 - vLo) * Nu);
  }

  async handle(msg: WorkerRequest): Promise<void> {
    switch (msg.op) {
      case 'init': {
        await initFft();
        this.plan = msg.plan; this.bufs = msg.bufs; this.rg = msg.ranges;
        const K = msg.memory ? bindKernels(msg.memory) : undefined;
        if (K && this.plan.taps) {
          // views on this thread's own handle of the memory, so the kernels recognise them
          const t = this.plan.taps, b = K.buffer;
          this.plan.taps = { k0: rebind(t.k0, b), ku: rebind(t.ku, b), kv: rebind(t.kv, b), kw: rebind(t.kw, b) };
          this.bufs.y = rebind(this.bufs.y, b); this.bufs.grid = rebind(this.bufs.grid, b);
        }
        this.gridDirty = true;
        if (this.fu?.n !== this.plan.Nu) { this.fu?.dispose(); this.fu = new Fft1d(this.plan.Nu); }
        if (this.fv?.n !== this.plan.Nv) { this.fv?.dispose(); this.fv = new Fft1d(this.plan.Nv); }
        return;
      }
      case 'fillTaps':
        fillTaps(this.plan, this.rg.v0, this.rg.v1);
        return;
      case 'prepare': {
        const { vis, weights, y } = this.bufs;
        const nC = this.plan.nChan;
        const k0 = this.rg.v0 * nC, k1 = this.rg.v1 * nC;
        if (msg.mode === 'psf') {
          for (let k = k0; k < k1; k++) { y[2 * k] = weights[k]; y[2 * k + 1] = 0; }
        } else {
          const sub = msg.mode === 'residual';
          for (let k = k0; k < k1; k++) {
            const w = weights[k];
            if (w === 0) { y[2 * k] = 0; y[2 * k + 1] = 0; continue; }
            // in residual mode y still holds the predicted model visibilities (read before overwriting)
            const mr = sub ? y[2 * k] : 0, mi = sub ? y[2 * k + 1] : 0;
            y[2 * k] = (vis[2 * k] - mr) * w; y[2 * k + 1] = (vis[2 * k + 1] - mi) * w;
          }
        }
        applyShiftPhase(this.plan, y, -1, this.rg.v0, this.rg.v1);
        return;
      }
      case 'gridRows': {
        const { r0, r1 } = this.rg;
        if (r1 <= r0) return;
        const own = this.ownBand();
        // rowsForward zeroes the rows it reads; only a degridding pass leaves data behind
        if (this.gridDirty) { own.fill(0); this.gridDirty = false; }
        gridPlane(this.plan, msg.p, this.bufs.y, own, r0, r1);
        rowsForward(this.plan, this.fu as Fft1d, own, r0, r1, this.bufs.inter);
        return;
      }
      case 'gridCols':
        colsForward(this.plan, this.fv as Fft1d, this.bufs.inter, this.rg.c0, this.rg.c1, this.bufs.acc, msg.first);
        return;
      case 'finish':
        finishImage(this.plan, this.bufs.acc, this.bufs.img, 1, this.rg.c0, this.rg.c1);
        return;
      case 'startAdjoint':
        startAdjoint(this.plan, this.bufs.img, this.bufs.acc, this.rg.c0, this.rg.c1, this.bufs.colActive);
        if (msg.zeroY !== false) this.bufs.y.fill(0, 2 * this.rg.v0 * this.plan.nChan, 2 * this.rg.v1 * this.plan.nChan);
        return;
      case 'degridCols':
        colsAdjoint(this.plan, this.fv as Fft1d, this.bufs.acc, this.rg.c0, this.rg.c1, this.bufs.inter, msg.step, this.bufs.colActive);
        return;
      case 'degridRows': {
        // Degridding rows are an equal share of the band (pure row FFTs), not the gridding band,
        // which is weighted by spreading work: so they may land in another worker's band, and
        // every worker zeroes its whole own band before it grids again.
        this.gridDirty = true;
        const d0 = this.rg.d0 ?? this.rg.r0, d1 = this.rg.d1 ?? this.rg.r1;
        if (d1 <= d0) return;
        const { Nu, vLo } = this.plan;
        const rows = this.bufs.grid.subarray(2 * (d0 - vLo) * Nu, 2 * (d1 - vLo) * Nu);
        rowsAdjoint(this.plan, this.fu as Fft1d, this.bufs.inter, d0, d1, rows, this.bufs.colActive);
        return;
      }
      case 'degridVis':
        if (this.plan.wGroupStart) degridPlanePart(this.plan, msg.p, this.bufs.y, this.bufs.grid, this.rg.part, this.rg.parts, msg.chunk ?? -1);
        else degridPlane(this.plan, msg.p, this.bufs.y, this.bufs.grid, this.plan.vLo, this.plan.vHi + 1, this.rg.v0, this.rg.v1, msg.chunk ?? -1);
        return;
      case 'unshift':
        applyShiftPhase(this.plan, this.bufs.y, 1, this.rg.v0, this.rg.v1);
        return;
    }
  }
}
