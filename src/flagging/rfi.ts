/**
 * AOFlagger-style RFI detection on every (baseline, polarisation) time × frequency plane:
 *
 *   for each sensitivity s in [4, 2, 1] (configurable):
 *     values = amplitudes − smooth background fitted with the current mask (input flags at first)
 *     σ_R    = robust Rayleigh noise scale of values;  χ₁ = firstThreshold · s · σ_R
 *     flags  = input flags ∪ SumThreshold(values, χ₁)    (restarts from the input flags each pass,
 *              as AOFlagger's sumthreshold does; earlier passes only shape the background)
 *     not last: + timestep RMS (3.5σ) and channel RMS (3·s σ) outliers → mask for the next fit
 *   then: SIR dilation (η = 0.2) in time and frequency with the input flags treated as missing,
 *   then whole timesteps / channels whose residual RMS is a 4σ outlier.
 *
 * The noise scale follows AOFlagger's Rayleigh convention (its "mode" of the residual is ≈ its
 * std/√2): σ_R = 1.4826·MAD(residual)/√2, so χ₁ = 6·σ_R at sensitivity 1 is ≈ 4.2 robust standard
 * deviations of the residual.
 *
 * Work is per baseline (all its polarisations at once), so a caller can hand baseline ranges to
 * workers (see parallel.ts) or stream chunks.
 */
import type { Cube, FlagStats, RfiOptions } from './types.js';
import { BackgroundScratch, maskedBackground, maskedResidual } from './background.js';
import { SumThresholdScratch, sumThreshold2D, type SumThreshold2DOptions } from './sumthreshold.js';
import { SirScratch, sirOperator2D } from './sir.js';
import { flagTimestepChannelRms } from './rms.js';
import { MAD_TO_SIGMA, medianInPlace, robustSigmaSampled } from './stats.js';
import { UsageError } from '../util/errors.js';
import { createFlagKernels, type FlagKernels } from './wasm.js';

export type ResolvedRfiOptions = Required<RfiOptions>;

export function resolveRfiOptions(o: RfiOptions = {}): ResolvedRfiOptions {
  const eta = o.sirEta ?? 0.2;
  const r: ResolvedRfiOptions = {
    sensitivities: o.sensitivities ?? [4, 2, 1],
    firstThreshold: o.firstThreshold ?? 6,
    thresholdGrowth: o.thresholdGrowth ?? 1.5,
    maxWindow: o.maxWindow ?? 256,
    timeDirection: o.timeDirection ?? true,
    frequencyDirection: o.frequencyDirection ?? true,
    timeDecimation: o.timeDecimation ?? 3,
    timeSigmaSq: o.timeSigmaSq ?? 2.5,
    freqSigmaSq: o.freqSigmaSq ?? 5,
    iterTimeRmsSigma: o.iterTimeRmsSigma ?? 3.5,
    iterChannelRmsFactor: o.iterChannelRmsFactor ?? 3,
    timeRmsSigma: o.timeRmsSigma ?? 4,
    channelRmsSigma: o.channelRmsSigma ?? 4,
    sirEta: eta,
    sirEtaTime: o.sirEtaTime ?? eta,
    sirEtaFreq: o.sirEtaFreq ?? eta,
    includeAutos: o.includeAutos ?? false,
    rowGain: o.rowGain ?? false,
    sharedShaping: o.sharedShaping ?? true,
  };
  if (r.sensitivities.length === 0 || r.sensitivities.some((s) => !(s > 0))) {
    throw new UsageError(`rfi: sensitivities must be a non-empty list of positive numbers, got [${r.sensitivities.join(', ')}]`);
  }
  if (!(r.firstThreshold > 0)) throw new UsageError(`rfi: firstThreshold must be > 0, got ${r.firstThreshold}`);
  for (const [k, v] of [['sirEtaTime', r.sirEtaTime], ['sirEtaFreq', r.sirEtaFreq]] as const) {
    if (!(v >= 0 && v < 1)) throw new UsageError(`rfi: ${k} must be in [0, 1), got ${v}`);
  }
  if (!(r.maxWindow >= 1)) throw new UsageError(`rfi: maxWindow must be ≥ 1, got ${r.maxWindow}`);
  return r;
}

/** All scratch memory for planes of one shape (one per thread; reused across planes). */
export class PlaneScratch {
  readonly nTime: number;
  readonly nChan: number;
  readonly input: Uint8Array;
  readonly mask: Uint8Array;
  readonly st: Uint8Array;
  readonly bg: Float32Array;
  readonly resid: Float32Array;
  readonly stat: Float64Array;
  readonly rmsBuf: Float64Array;
  readonly rmsUsed: Uint8Array;
  readonly rmsCnt: Int32Array;
  readonly rmsBuf2: Float64Array;
  readonly rmsUsed2: Uint8Array;
  /** The mask of the last background fit (a pass whose mask is unchanged reuses its residual). */
  readonly fitMask: Uint8Array;
  readonly sum: SumThresholdScratch;
  readonly sir: SirScratch;
  readonly bgs: BackgroundScratch;
  readonly stOpts: SumThreshold2DOptions;
  /**
   * The WebAssembly SIMD kernels (wasm.ts: background fit, SumThreshold, noise σ, RMS sums, SIR,
   * strong-outlier mask), when built and not disabled: input, mask, st and resid are then views on
   * their memory, so the kernels work on them in place (only the amplitudes are copied in).
   */
  readonly wasm: FlagKernels | undefined;
  /** useWasm = false forces the TypeScript reference (tests compare the two). */
  constructor(nTime: number, nChan: number, o: ResolvedRfiOptions, useWasm = true) {
    const n = nTime * nChan;
    this.nTime = nTime;
    this.nChan = nChan;
    this.bgs = new BackgroundScratch(nTime, nChan, o);
    this.wasm = useWasm ? createFlagKernels(this.bgs) : undefined;
    this.input = this.wasm?.input ?? new Uint8Array(n);
    this.mask = this.wasm?.mask ?? new Uint8Array(n);
    this.st = this.wasm?.flags ?? new Uint8Array(n);
    this.bg = new Float32Array(n);
    this.resid = this.wasm?.resid ?? new Float32Array(n);
    this.stat = new Float64Array(n);
    const m = Math.max(nTime, nChan);
    this.rmsBuf = new Float64Array(m);
    this.rmsUsed = new Uint8Array(m);
    this.rmsCnt = new Int32Array(m);
    this.rmsBuf2 = new Float64Array(m);
    this.rmsUsed2 = new Uint8Array(m);
    this.fitMask = new Uint8Array(n);
    this.sum = new SumThresholdScratch(nTime, nChan);
    this.sir = new SirScratch(m);
    this.stOpts = {
      growth: o.thresholdGrowth, maxWindow: o.maxWindow,
      timeDirection: o.timeDirection, frequencyDirection: o.frequencyDirection,
    };
  }
}

/**
 * RFI detection on one amplitude plane [nTime][nChan]. `flags` holds the input flags on entry
 * (they are excluded from every statistic and sum) and the result on exit.
 *
 * The passes before the last only shape the mask of the background fit. They can be split off:
 * with `split.shapeOut` only they run (flags untouched) and leave that mask in shapeOut; with
 * `split.shaped` they are skipped and the final pass starts from that mask (∪ the input flags).
 * flagRfiRange uses this to shape one mask per baseline on the mean amplitude of its
 * polarisations (RFI is common to them), then runs the final pass on each polarisation.
 */
export function flagPlane(
  amp: Float32Array, flags: Uint8Array, nTime: number, nChan: number,
  o: ResolvedRfiOptions, s: PlaneScratch = new PlaneScratch(nTime, nChan, o),
  split: Partial<PlaneSplit> = NO_SPLIT,
): void {
  const n = nTime * nChan;
  const { input, mask, st, bg, resid, stat } = s;
  const shapeOut = split.shapeOut;
  const shaped = split.shaped;
  input.set(flags.subarray(0, n));
  mask.set(input);
  st.set(input);
  const sens = o.sensitivities;
  if (shaped !== undefined) {
    orInto(mask, shaped, n);
  } else {
    // the first background fit would follow strong RFI (a broadband burst drags the fit of its
    // neighbouring timesteps, the first pass then flags them, their background is extrapolated
    // in the next pass and the stretch stays flagged): keep samples far above the plane's
    // amplitude distribution out of it. Only the background mask: the final flags restart from
    // the input.
    if (s.wasm !== undefined) {
      s.wasm.amp.set(amp.subarray(0, n));
      s.wasm.maskStrongOutliers(10);
    } else {
      maskStrongOutliers(amp, mask, n, 10, stat);
    }
  }
  const first = shaped !== undefined ? sens.length - 1 : 0;
  const end = shapeOut !== undefined ? sens.length - 1 : sens.length;
  const stOpts = s.stOpts;
  let values: Float32Array = amp;
  let scale = NaN;
  const wasm = s.wasm;
  let ampLoaded = wasm !== undefined && shaped === undefined; // copied in for maskStrongOutliers
  for (let i = first; i < end; i++) {
    const last = i === sens.length - 1;
    // every pass works on the residual from a masked smooth background: the first with the input
    // flags only. (AOFlagger's first pass uses raw amplitudes, which over-flags data whose
    // bandpass shape dominates the amplitude, e.g. raw HERA visibilities.) When the previous
    // pass left the mask as it was (a clean plane: nothing found), the fit would be the same.
    const refit = !(i > first && sameMask(mask, s.fitMask, n));
    if (!refit) {
      // resid still holds amp − that background, and scale its noise scale
    } else if (o.rowGain) {
      s.fitMask.set(mask.subarray(0, n));
      maskedBackground(amp, mask, bg, s.bgs);
      scaleRowsToMedianRatio(amp, mask, bg, nTime, nChan, stat);
      subtractInto(amp, bg, resid, n);
    } else if (wasm !== undefined) {
      // the same fit in SIMD, on s.mask (a view on the kernels' memory) and a copy of amp
      s.fitMask.set(mask.subarray(0, n));
      if (!ampLoaded) { wasm.amp.set(amp.subarray(0, n)); ampLoaded = true; }
      wasm.residual();
    } else {
      s.fitMask.set(mask.subarray(0, n));
      maskedResidual(amp, mask, resid, s.bgs);
    }
    values = resid;
    // the noise scale from a regular subsample of 4,096 (MAD within ~2 %; fewer, e.g. 1,024 for
    // the shaping passes, raised the false flags of the simulated-RFI test from 0.5 to 1.1 %)
    if (refit) {
      scale = (wasm?.robustSigma(4096) ?? robustSigmaSampled(resid.subarray(0, n), mask, 4096, stat)) / Math.SQRT2;
    }
    if (!(scale > 0)) break; // everything flagged (or a constant plane): nothing to detect
    st.set(input);
    const chi1 = o.firstThreshold * sens[i] * scale;
    // values is resid and st the flags: both live in the kernels' memory when they exist
    if (wasm !== undefined) wasm.sumThreshold(chi1, stOpts);
    else sumThreshold2D(values, st, nTime, nChan, chi1, stOpts, s.sum);
    if (last) continue;
    // timestep / channel RMS outliers shape the next background fit only. The timestep test
    // uses the plain σ: with hundreds of channels the robust σ of 24 timestep RMS values is so
    // small that the slightly noisier edge / burst-neighbour timesteps of the residual get
    // masked, their background is then extrapolated, and the next pass flags them (cascading:
    // ~1 % false flags next to a broadband burst on simulated groups).
    mask.set(st);
    flagTimestepChannelRms(
      values, st, mask, nTime, nChan, o.iterTimeRmsSigma, o.iterChannelRmsFactor * sens[i], false, true,
      s.rmsBuf, s.rmsUsed, s.rmsBuf2, s.rmsUsed2, s.rmsCnt, wasm,
    );
  }
  if (shapeOut !== undefined) { shapeOut.set(mask.subarray(0, n)); return; }
  finishPlane(values, st, input, nTime, nChan, o, s);
  flags.set(st.subarray(0, n));
}

/**
 * SIR dilation (`missing` samples treated as missing), then whole timesteps / channels whose
 * residual RMS is an outlier — AOFlagger's order: after SIR fewer weak burst edges remain
 * unflagged, so fewer clean timesteps are thrown away. The RMS test uses the plain σ (AOFlagger's
 * rule). In place on `flags`; `values` is the residual (samples flagged in `flags` are ignored).
 */
function finishPlane(
  values: Float32Array, flags: Uint8Array, missing: Uint8Array, nTime: number, nChan: number,
  o: ResolvedRfiOptions, s: PlaneScratch,
): void {
  if (s.wasm === undefined || !s.wasm.sir(flags, missing, o.sirEtaTime, o.sirEtaFreq)) {
    sirOperator2D(flags, nTime, nChan, o.sirEtaTime, o.sirEtaFreq, missing, s.sir);
  }
  s.mask.set(flags.subarray(0, nTime * nChan));
  flagTimestepChannelRms(
    values, s.mask, flags, nTime, nChan, o.timeRmsSigma, o.channelRmsSigma, false, false,
    s.rmsBuf, s.rmsUsed, s.rmsBuf2, s.rmsUsed2, s.rmsCnt, s.wasm,
  );
}

/** How flagPlane's passes are split (see flagPlane). Always both keys, so V8 sees one shape. */
export interface PlaneSplit {
  shapeOut: Uint8Array | undefined;
  shaped: Uint8Array | undefined;
}

const NO_SPLIT: PlaneSplit = { shapeOut: undefined, shaped: undefined };

// Loops live in small top-level helpers: a loop left in flagPlane's body runs in the interpreter
// whenever V8 deoptimises flagPlane (it does, on rarely taken branches).

function sameMask(a: Uint8Array, b: Uint8Array, n: number): boolean {
  for (let k = 0; k < n; k++) if ((a[k] === 0) !== (b[k] === 0)) return false;
  return true;
}

function orInto(dst: Uint8Array, src: Uint8Array, n: number): void {
  let k = 0;
  // four bytes at a time where both are 4-aligned (the same bitwise OR)
  if (((dst.byteOffset | src.byteOffset) & 3) === 0) {
    const n4 = n >> 2;
    const d = new Uint32Array(dst.buffer, dst.byteOffset, n4);
    const s = new Uint32Array(src.buffer, src.byteOffset, n4);
    for (let i = 0; i < n4; i++) d[i] |= s[i];
    k = n4 << 2;
  }
  for (; k < n; k++) dst[k] |= src[k];
}

function subtractInto(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void {
  for (let k = 0; k < n; k++) out[k] = a[k] - b[k];
}

/**
 * Sets mask where amp > median + k·1.4826·MAD of the unmasked amplitudes (a regular subsample of
 * ≤ 4,096). For noise-dominated Rayleigh amplitudes k = 10 is ≈ 8 σ per component: no noise
 * sample is masked; for data dominated by a bandpass the threshold is simply high.
 */
function maskStrongOutliers(amp: Float32Array, mask: Uint8Array, n: number, k: number, buf: Float64Array): void {
  const step = Math.max(1, Math.ceil(n / 4096));
  let m = 0;
  for (let i = 0; i < n; i += step) if (mask[i] === 0) buf[m++] = amp[i];
  if (m < 16) return;
  const med = medianInPlace(buf, m);
  for (let i = 0; i < m; i++) buf[i] = Math.abs(buf[i] - med);
  const mad = medianInPlace(buf, m);
  if (!(mad > 0)) return;
  const lim = med + k * MAD_TO_SIGMA * mad;
  for (let i = 0; i < n; i++) if (amp[i] > lim) mask[i] = 1;
}

/**
 * Multiplies each timestep of the background by the median of amp/bg over its unflagged samples:
 * absorbs broadband per-integration gain jumps that would otherwise leave whole timesteps offset
 * in the residual. Hides broadband RFI covering most of the band, so it is
 * off by default.
 */
function scaleRowsToMedianRatio(amp: Float32Array, mask: Uint8Array, bg: Float32Array, nTime: number, nChan: number, buf: Float64Array): void {
  for (let t = 0; t < nTime; t++) {
    const row = t * nChan;
    let m = 0;
    for (let c = 0; c < nChan; c++) {
      const b = bg[row + c];
      if (mask[row + c] === 0 && b > 0) buf[m++] = amp[row + c] / b;
    }
    if (m < 8) continue;
    const g = medianInPlace(buf, m);
    if (g > 0 && Number.isFinite(g)) for (let c = 0; c < nChan; c++) bg[row + c] *= g;
  }
}

/** Number of set flags. */
export function countFlags(flags: Uint8Array): number {
  let n = 0, i = 0;
  // four bytes at a time when aligned and the flags are 0/1 (a byte > 1 falls back per byte)
  if (flags.byteOffset % 4 === 0) {
    const u32 = new Uint32Array(flags.buffer, flags.byteOffset, flags.length >> 2);
    for (let j = 0; j < u32.length; j++) {
      const v = u32[j];
      if (v === 0) continue;
      if ((v & 0xfefefefe) === 0) n += Math.imul(v, 0x01010101) >>> 24;
      else for (let k = 4 * j; k < 4 * j + 4; k++) n += flags[k] !== 0 ? 1 : 0;
    }
    i = 4 * u32.length;
  }
  for (; i < flags.length; i++) n += flags[i] !== 0 ? 1 : 0;
  return n;
}

/**
 * RFI detection on baselines [b0, b1) of a cube (default all), OR-ing into cube.flags.
 * Non-finite visibilities are treated as flagged input. Autocorrelations are skipped unless
 * includeAutos. Returns the number of samples newly flagged.
 */
export function flagRfiRange(cube: Cube, opts: RfiOptions | ResolvedRfiOptions = {}, b0 = 0, b1 = cube.nBl): number {
  const o = resolveRfiOptions(opts);
  const { nTime, nChan, nPol, ant1, ant2 } = cube;
  const n = nTime * nChan;
  const s = new PlaneScratch(nTime, nChan, o);
  const amp = new Float32Array(n * nPol);
  const pf = new Uint8Array(n * nPol);
  const ampI = new Float32Array(n);
  const fI = new Uint8Array(n);
  const shapedMask = new Uint8Array(n);
  const shareShaping = o.sharedShaping && nPol > 1 && o.sensitivities.length > 1;
  const shapeSplit: PlaneSplit = { shapeOut: shapedMask, shaped: undefined };
  const finalSplit: PlaneSplit = shareShaping ? { shapeOut: undefined, shaped: shapedMask } : NO_SPLIT;
  let newly = 0;
  for (let b = b0; b < b1; b++) {
    if (!o.includeAutos && ant1[b] === ant2[b]) continue;
    // gather all polarisations of this baseline: planes [p][t][c]
    if (shareShaping) {
      // the background-shaping passes once, on the mean amplitude of the polarisations (a
      // sample flagged in any of them is left out), gathered in the same pass
      gatherBaselineMean(cube, b, amp, pf, ampI, fI);
      flagPlane(ampI, fI, nTime, nChan, o, s, shapeSplit);
    } else {
      gatherBaseline(cube, b, amp, pf);
    }
    // the final detection, SIR and RMS selection per polarisation: RFI seen in one polarisation
    // only must not flag the other here (the extend step decides that)
    for (let p = 0; p < nPol; p++) {
      const ap = amp.subarray(p * n, (p + 1) * n);
      const fp = pf.subarray(p * n, (p + 1) * n);
      if (allSet(fp, n)) continue;
      flagPlane(ap, fp, nTime, nChan, o, s, finalSplit);
    }
    newly += scatterBaseline(cube, b, pf);
  }
  return newly;
}

/** Amplitudes and flags of baseline b into planes [p][t][c]; non-finite samples count as flagged. */
function gatherBaseline(cube: Cube, b: number, amp: Float32Array, pf: Uint8Array): void {
  const { nTime, nBl, nChan, nPol, data, flags } = cube;
  const n = nTime * nChan;
  for (let t = 0; t < nTime; t++) {
    const base = (t * nBl + b) * nChan * nPol;
    const row = t * nChan;
    for (let p = 0; p < nPol; p++) {
      for (let c = 0, i = base + p, k = p * n + row; c < nChan; c++, i += nPol, k++) {
        const re = data[2 * i];
        const im = data[2 * i + 1];
        const a = Math.sqrt(re * re + im * im);
        if (a === a && a !== Infinity) { amp[k] = a; pf[k] = flags[i]; } else { amp[k] = 0; pf[k] = 1; }
      }
    }
  }
}

/** ORs the planes' flags back into the cube; returns how many were newly set. */
function scatterBaseline(cube: Cube, b: number, pf: Uint8Array): number {
  const { nTime, nBl, nChan, nPol, flags } = cube;
  const n = nTime * nChan;
  let newly = 0;
  for (let t = 0; t < nTime; t++) {
    const base = (t * nBl + b) * nChan * nPol;
    const row = t * nChan;
    for (let p = 0; p < nPol; p++) {
      for (let c = 0, i = base + p, k = p * n + row; c < nChan; c++, i += nPol, k++) {
        if (pf[k] !== 0 && flags[i] === 0) { flags[i] = 1; newly++; }
      }
    }
  }
  return newly;
}

/** gatherBaseline plus the mean amplitude of the polarisations and the OR of their flags. */
function gatherBaselineMean(cube: Cube, b: number, amp: Float32Array, pf: Uint8Array, ampI: Float32Array, fI: Uint8Array): void {
  const { nTime, nBl, nChan, nPol, data, flags } = cube;
  const n = nTime * nChan;
  const inv = 1 / nPol;
  for (let t = 0; t < nTime; t++) {
    const base = (t * nBl + b) * nChan * nPol;
    const row = t * nChan;
    for (let c = 0, i = base; c < nChan; c++) {
      let sa = 0, fo = 0;
      for (let p = 0, k = row + c; p < nPol; p++, i++, k += n) {
        const re = data[2 * i];
        const im = data[2 * i + 1];
        let a = Math.sqrt(re * re + im * im);
        let f = flags[i];
        if (!(a === a && a !== Infinity)) { a = 0; f = 1; }
        amp[k] = a;
        pf[k] = f;
        sa += a;
        fo |= f;
      }
      ampI[row + c] = sa * inv;
      fI[row + c] = fo;
    }
  }
}

function allSet(f: Uint8Array, n: number): boolean {
  for (let k = 0; k < n; k++) if (f[k] === 0) return false;
  return true;
}

/** RFI detection on the whole cube, in place on cube.flags (single thread). */
export function flagRfi(cube: Cube, opts: RfiOptions = {}): FlagStats {
  const t0 = performance.now();
  const newly = flagRfiRange(cube, resolveRfiOptions(opts));
  return { total: cube.flags.length, flagged: countFlags(cube.flags), newlyFlagged: newly, seconds: (performance.now() - t0) / 1000 };
}
