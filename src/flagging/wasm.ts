/**
 * The WebAssembly SIMD flagging kernels (assembly/flag-kernels.ts, built into
 * dist/wasm/flag-kernels.wasm by `npm run build`), for one [nTime][nChan] plane: the masked
 * background fit + residual (background.ts maskedResidual), SumThreshold (sumthreshold.ts
 * sumThreshold2D), the timestep / channel RMS sums (rms.ts), the subsampled noise σ (stats.ts
 * robustSigmaSampled), SIR (sir.ts sirOperator2D) and the strong-outlier mask (rfi.ts). The
 * TypeScript versions stay the reference and the fallback: when the module is missing or stale,
 * SIMD is unsupported, or DSA110_WASM=0, everything runs on them. *
 * Unlike the imager's kernels the memory is not shared: each FlagKernels (one per PlaneScratch,
 * i.e. per thread and plane shape) instantiates the module on its own memory, sized once for the
 * shape, and exposes the plane arrays (amplitudes, mask, residual, flags) as views on it, so the
 * flagging loop in rfi.ts works on them in place and only the amplitudes are copied in.
 *
 * Agreement with the reference: background, residual, RMS sums, SIR are bit-identical (the same
 * float64 operations in the same order, no fused multiply-add); the noise σ is the same order
 * statistics, hence the same value. SumThreshold's window sums are those of the plain sliding window;
 * the reference's skipping restarts some frequency-window sums at the start of a candidate range,
 * so a sum can differ in its last bit (relative 1e-16) and a window whose mean lies within that of
 * χ_M could in principle trip in one and not the other. Tests assert identical flags on random
 * planes with RFI; no difference has been seen.
 */
import { WasmLayout, loadWasmModule } from '../util/wasm-module.js';
import { fillInvalidBlocks, type BackgroundScratch } from './background.js';
import { sumThresholdLevel, type SumThreshold2DOptions } from './sumthreshold.js';
import { minFlagsToGrow } from './sir.js';

interface FlagExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  setupPlane(nT: number, nC: number, sa: number, sb: number, amp: number, mask: number, resid: number, flags: number,
    vmA: number, wA: number, vmB: number, wB: number, trip: number, list: number, colMax: number, rowMax: number,
    colDirty: number, rowDirty: number, thrT: number, thrF: number): void;
  setupBackground(dec: number, nTd: number, nBox: number, boxes: number, P: number, pre: number, bg: number,
    slope: number, valid: number, tapStart: number, tapSrc: number, g0: number, g1: number, g2: number,
    ca: number, cb: number, refW: number, invK: number, dx: number): void;
  backgroundFit(): number;
  backgroundResidual(): void;
  sumThreshold(doTime: number, doFreq: number, maxWindow: number, skipFreq1: number): void;
  setupStats(tSum: number, tCnt: number, cSum: number, cCnt: number, sel: number,
    keys: number, keysB: number, keysC: number, hist: number): void;
  rmsSums(useMask: number): void;
  robustSigmaSampled(step: number): number;
  setupSir(input: number, w: number, minW: number, pos: number, cnt: number, colMiss: number, rowMiss: number): void;
  sir(etaTime: number, etaFreq: number, needT: number, needF: number, useMissing: number): void;
  maskStrongOutliers(step: number, k: number): void;
}

const KERNEL_EXPORTS = [
  'heapBase', 'setupPlane', 'setupBackground', 'backgroundFit', 'backgroundResidual', 'sumThreshold', 'setupStats',
  'rmsSums', 'robustSigmaSampled', 'setupSir', 'sir', 'maskStrongOutliers',
] as const;

/** The compiled module, or null when unavailable (not built, DSA110_WASM=0, or no SIMD). */
export function flagKernelModule(): WebAssembly.Module | null { return loadWasmModule('flag-kernels'); }

const PAGE = 65536;
const MAX_THR = 32;


/** The kernels bound to one plane shape (and one BackgroundScratch's filter settings). */
export class FlagKernels {
  readonly nTime: number;
  readonly nChan: number;
  /** Plane arrays in the module's memory ([nTime][nChan]): the flagging loop works on these. */
  readonly amp: Float32Array;
  readonly mask: Uint8Array;
  readonly resid: Float32Array;
  readonly flags: Uint8Array;
  /** The input flags of the plane (SIR's missing samples). */
  readonly input: Uint8Array;
  private readonly ex: FlagExports;
  private readonly thrT: Float64Array;
  private readonly thrF: Float64Array;
  private readonly bg: Float64Array;
  private readonly slope: Float64Array;
  private readonly valid: Uint8Array;
  private readonly nTd: number;
  private readonly tSum: Float64Array;
  private readonly tCnt: Int32Array;
  private readonly cSum: Float64Array;
  private readonly cCnt: Int32Array;

  constructor(mod: WebAssembly.Module, bgs: BackgroundScratch) {
    const { nTime, nChan, nTd, dec } = bgs;
    this.nTime = nTime;
    this.nChan = nChan;
    this.nTd = nTd;
    const inst = new WebAssembly.Instance(mod, {});
    // a stale build (older kernels than this loader) is an error here, so that the caller falls back
    for (const f of KERNEL_EXPORTS) {
      if (typeof inst.exports[f] !== 'function') throw new Error(`flag-kernels.wasm lacks ${f}: rebuild (npm run build)`);
    }
    const ex = inst.exports as unknown as FlagExports;
    this.ex = ex;
    const n = nTime * nChan;
    // line widths padded to 8 lanes; each layout padded to whole 8 × 8 tiles (zeros, never written)
    const SA = (nChan + 7) & ~7;
    const SB = (nTime + 7) & ~7;
    const nb = nTd * nChan;
    const cap = bgs.tapSrc.length;
    const L = new WasmLayout(ex.heapBase());
    const p = {
      amp: L.take(4 * n), mask: L.take(n), resid: L.take(4 * n), flags: L.take(n),
      vmA: L.take(8 * SB * SA), wA: L.take(4 * SB * SA), vmB: L.take(8 * SA * SB), wB: L.take(4 * SA * SB),
      trip: L.take(n), list: L.take(4 * n), colMax: L.take(8 * SA), rowMax: L.take(8 * SB),
      colDirty: L.take(nChan), rowDirty: L.take(nTime), thrT: L.take(8 * MAX_THR), thrF: L.take(8 * MAX_THR),
      boxes: L.take(4 * bgs.boxes.length), P: L.take(16 * nb), pre: L.take(16 * (nChan + 1)),
      bg: L.take(8 * nb), slope: L.take(8 * nb), valid: L.take(nb),
      tapStart: L.take(4 * (nTd + 1)), tapSrc: L.take(4 * cap), g0: L.take(8 * cap), g1: L.take(8 * cap),
      g2: L.take(8 * cap), ca: L.take(8 * cap), cb: L.take(8 * cap), refW: L.take(8 * nb), invK: L.take(8 * nChan),
      dx: L.take(8 * nTime),
      tSum: L.take(8 * nTime), tCnt: L.take(4 * nTime), cSum: L.take(8 * nChan), cCnt: L.take(4 * nChan),
      sel: L.take(8 * n), keys: L.take(8 * n), keysB: L.take(8 * n), keysC: L.take(8 * n), hist: L.take(4 * 2048),
      input: L.take(n), sW: L.take(8 * (Math.max(nTime, nChan) + 1)), sMin: L.take(8 * (Math.max(nTime, nChan) + 1)),
      sPos: L.take(4 * Math.max(nTime, nChan)), sCnt: L.take(4 * nChan), sColMiss: L.take(nChan), sRowMiss: L.take(nTime),
    };
    // sized once: growing later would detach the views below
    const need = Math.ceil(L.end / PAGE) - ex.memory.buffer.byteLength / PAGE;
    if (need > 0) ex.memory.grow(need);
    const buf = ex.memory.buffer;
    this.amp = new Float32Array(buf, p.amp, n);
    this.mask = new Uint8Array(buf, p.mask, n);
    this.resid = new Float32Array(buf, p.resid, n);
    this.flags = new Uint8Array(buf, p.flags, n);
    this.input = new Uint8Array(buf, p.input, n);
    this.thrT = new Float64Array(buf, p.thrT, MAX_THR);
    this.thrF = new Float64Array(buf, p.thrF, MAX_THR);
    this.bg = new Float64Array(buf, p.bg, nb);
    this.slope = new Float64Array(buf, p.slope, nb);
    this.valid = new Uint8Array(buf, p.valid, nb);
    this.tSum = new Float64Array(buf, p.tSum, nTime);
    this.tCnt = new Int32Array(buf, p.tCnt, nTime);
    this.cSum = new Float64Array(buf, p.cSum, nChan);
    this.cCnt = new Int32Array(buf, p.cCnt, nChan);
    // the shape-only tables of the background fit, from the reference's scratch
    new Int32Array(buf, p.boxes, bgs.boxes.length).set(bgs.boxes);
    new Int32Array(buf, p.tapStart, nTd + 1).set(bgs.tapStart);
    new Int32Array(buf, p.tapSrc, cap).set(bgs.tapSrc);
    new Float64Array(buf, p.g0, cap).set(bgs.tapG0);
    new Float64Array(buf, p.g1, cap).set(bgs.tapG1);
    new Float64Array(buf, p.g2, cap).set(bgs.tapG2);
    new Float64Array(buf, p.ca, cap).set(bgs.cleanA);
    new Float64Array(buf, p.cb, cap).set(bgs.cleanB);
    const refW = new Float64Array(buf, p.refW, nb); // [td][c] here, [c][td] in the scratch
    for (let c = 0; c < nChan; c++) for (let td = 0; td < nTd; td++) refW[td * nChan + c] = bgs.refW[c * nTd + td];
    new Float64Array(buf, p.invK, nChan).set(bgs.invK);
    const dx = new Float64Array(buf, p.dx, nTime);
    for (let t = 0; t < nTime; t++) {
      // t − the centre of its block, as background.ts computes it
      const start = Math.floor(t / dec) * dec;
      const end = Math.min(nTime, start + dec);
      dx[t] = t - 0.5 * (start + end - 1);
    }
    ex.setupPlane(nTime, nChan, SA, SB, p.amp, p.mask, p.resid, p.flags, p.vmA, p.wA, p.vmB, p.wB, p.trip, p.list,
      p.colMax, p.rowMax, p.colDirty, p.rowDirty, p.thrT, p.thrF);
    ex.setupBackground(dec, nTd, bgs.boxes.length, p.boxes, p.P, p.pre, p.bg, p.slope, p.valid, p.tapStart,
      p.tapSrc, p.g0, p.g1, p.g2, p.ca, p.cb, p.refW, p.invK, p.dx);
    ex.setupStats(p.tSum, p.tCnt, p.cSum, p.cCnt, p.sel, p.keys, p.keysB, p.keysC, p.hist);
    ex.setupSir(p.input, p.sW, p.sMin, p.sPos, p.sCnt, p.sColMiss, p.sRowMiss);
  }

  /** rfi.ts maskStrongOutliers(this.amp, this.mask, nTime·nChan, k, ·) (subsample of ≤ 4,096). */
  maskStrongOutliers(k: number): void {
    this.ex.maskStrongOutliers(Math.max(1, Math.ceil((this.nTime * this.nChan) / 4096)), k);
  }

  /**
   * sir.ts sirOperator2D(flags, nTime, nChan, etaTime, etaFreq, missing) when flags is this.flags
   * and missing this.input or undefined; false (nothing done) otherwise.
   */
  sir(flags: Uint8Array, missing: Uint8Array | undefined, etaTime: number, etaFreq: number): boolean {
    if (flags !== this.flags || (missing !== undefined && missing !== this.input)) return false;
    const needT = etaTime > 0 ? minFlagsToGrow(etaTime) : 0;
    const needF = etaFreq > 0 ? minFlagsToGrow(etaFreq) : 0;
    this.ex.sir(etaTime, etaFreq, needT, needF, missing !== undefined ? 1 : 0);
    return true;
  }

  /**
   * The per-timestep and per-channel RMS of resid over the samples unmasked in maskIn (this.flags
   * or this.mask), as rms.ts flagTimestepChannelRms computes them before its rejection: buffers
   * and used marks filled; false (nothing done) when maskIn is neither.
   */
  rmsOf(maskIn: Uint8Array, tBuf: Float64Array, tUsed: Uint8Array, cBuf: Float64Array, cUsed: Uint8Array): boolean {
    if (maskIn !== this.flags && maskIn !== this.mask) return false;
    this.ex.rmsSums(maskIn === this.mask ? 1 : 0);
    const { tSum, tCnt, cSum, cCnt } = this;
    for (let t = 0; t < this.nTime; t++) {
      const n = tCnt[t];
      tBuf[t] = n > 0 ? Math.sqrt(tSum[t] / n) : 0;
      tUsed[t] = n > 0 ? 1 : 0;
    }
    for (let c = 0; c < this.nChan; c++) {
      const n = cCnt[c];
      cUsed[c] = n > 0 ? 1 : 0;
      cBuf[c] = n > 0 ? Math.sqrt(cSum[c] / n) : 0;
    }
    return true;
  }

  /**
   * stats.ts robustSigmaSampled(this.resid, this.mask, maxSamples, ·), or undefined when the
   * reference would not subsample (small planes, few unmasked samples): the caller runs it.
   */
  robustSigma(maxSamples: number): number | undefined {
    const step = Math.max(1, Math.ceil((this.nTime * this.nChan) / maxSamples));
    if (step === 1) return undefined;
    const r = this.ex.robustSigmaSampled(step);
    return r < 0 ? undefined : r;
  }

  /** resid ← amp − the masked background (maskedResidual on this.amp / this.mask). */
  residual(): void {
    const nInvalid = this.ex.backgroundFit();
    // rare (a masked stretch wider than the filters): the reference's fill, on the same arrays
    if (nInvalid > 0) fillInvalidBlocks(this.nChan, this.nTd, this.bg, this.slope, this.valid);
    this.ex.backgroundResidual();
  }

  /** sumThreshold2D(this.resid, this.flags, nTime, nChan, chi1, opts). */
  sumThreshold(chi1: number, opts: SumThreshold2DOptions = {}): void {
    const growth = opts.growth ?? 1.5;
    const maxWindow = Math.min(opts.maxWindow ?? 256, 2 ** 30);
    const doTime = opts.timeDirection ?? true;
    const doFreq = opts.frequencyDirection ?? true;
    const chi1Time = opts.chi1Time ?? chi1;
    for (let m = 1, k = 0; m <= maxWindow && k < MAX_THR; m *= 2, k++) {
      this.thrT[k] = sumThresholdLevel(chi1Time, m, growth);
      this.thrF[k] = sumThresholdLevel(chi1, m, growth);
    }
    this.ex.sumThreshold(doTime ? 1 : 0, doFreq ? 1 : 0, Math.floor(maxWindow), doTime && chi1Time === chi1 ? 1 : 0);
  }
}

/** Kernels for the shape of `bgs`, or undefined when the module is unavailable. */
export function createFlagKernels(bgs: BackgroundScratch): FlagKernels | undefined {
  const mod = flagKernelModule();
  if (!mod) return undefined;
  try {
    return new FlagKernels(mod, bgs);
  } catch {
    return undefined; // e.g. SIMD unsupported at instantiation
  }
}
