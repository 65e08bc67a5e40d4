/**
 * Light-curve variability metrics and ESE candidate selection.
 *
 * Light curves are flat, source-major: flux[s·nEpoch + e], err likewise, NaN = missing.
 *
 * Metrics per source (N valid epochs, w = 1/σ²):
 *   mean, std (sample, N−1), V = std/mean,
 *   η = N/(N−1)·(⟨w f²⟩ − ⟨w f⟩²/⟨w⟩)            (VAST definition, from running sums),
 *   χ²_ν = Σ w (f − f̄_w)² / (N−1)                  (two-pass, about the weighted mean),
 *   σ-deviation = max|f − mean| / std,
 *   robust σ-deviation = max|f − median| / (1.4826·MAD),
 *   the most significant two-epoch pair: V_s = ΔS/√(σ₁²+σ₂²), m = 2ΔS/(S₁+S₂), ΔS = later − earlier.
 * Note: η and χ²_ν are algebraically identical (expand Σw(f − Σwf/Σw)²); both are kept because
 * the registry and the thresholds name both, and they are computed by independent routes.
 *
 * Incremental use: a VariabilityState keeps running sums (N, Σw, Σwf, Σwf², Σf, Σf², min, max)
 * and the best pair; `updateVariability` folds in only the new epochs. The best pair after
 * adding epoch e is max(old best, best pair involving e): exact, O(N) per new epoch.
 */

import { MAD_TO_SIGMA, medianInPlace } from './stats.js';
import { UsageError } from '../util/errors.js';

export interface LightCurves {
  nSrc: number;
  nEpoch: number;
  /** flux[s·nEpoch + e], NaN where missing. */
  flux: Float64Array;
  err: Float64Array;
}

export interface VariabilityState {
  nSrc: number;
  /** Epochs already folded into the sums. */
  nEpoch: number;
  n: Int32Array;
  /** Per-source shift subtracted before summing (first valid flux), for numerical stability. */
  shift: Float64Array;
  sw: Float64Array;
  swf: Float64Array;
  swf2: Float64Array;
  sf: Float64Array;
  sf2: Float64Array;
  fmin: Float64Array;
  fmax: Float64Array;
  /** |V_s| of the best pair and its epochs (a < b; −1 if none). */
  pairVs: Float64Array;
  pairA: Int32Array;
  pairB: Int32Array;
}

export interface VariabilityMetrics {
  nSrc: number;
  n: Int32Array;
  mean: Float64Array;
  std: Float64Array;
  v: Float64Array;
  eta: Float64Array;
  chi2nu: Float64Array;
  weightedMean: Float64Array;
  sigmaDev: Float64Array;
  sigmaDevRobust: Float64Array;
  median: Float64Array;
  /** Signed V_s and m of the most significant pair (later − earlier), and its epochs. */
  vs: Float64Array;
  m: Float64Array;
  pairA: Int32Array;
  pairB: Int32Array;
}

function checkLc(lc: LightCurves): void {
  const len = lc.nSrc * lc.nEpoch;
  if (lc.flux.length !== len || lc.err.length !== len) {
    throw new UsageError(`light curves: flux/err length ${lc.flux.length}/${lc.err.length} ≠ nSrc·nEpoch = ${len}`);
  }
}

export function createVariabilityState(nSrc: number): VariabilityState {
  return {
    nSrc,
    nEpoch: 0,
    n: new Int32Array(nSrc),
    shift: new Float64Array(nSrc).fill(NaN),
    sw: new Float64Array(nSrc),
    swf: new Float64Array(nSrc),
    swf2: new Float64Array(nSrc),
    sf: new Float64Array(nSrc),
    sf2: new Float64Array(nSrc),
    fmin: new Float64Array(nSrc).fill(Infinity),
    fmax: new Float64Array(nSrc).fill(-Infinity),
    pairVs: new Float64Array(nSrc),
    pairA: new Int32Array(nSrc).fill(-1),
    pairB: new Int32Array(nSrc).fill(-1),
  };
}

/** An epoch counts when flux is finite and its error finite and positive. */
function valid(f: number, e: number): boolean {
  return f === f && e > 0 && e < Infinity && f > -Infinity && f < Infinity;
}

/**
 * Exact maximum of |f_i − f_j| / sqrt(s2_i + s2_j) over pairs of the n values given
 * (compact arrays). Prunes with bounds that use the smallest variance: any pair beating the
 * current best must have its high member in H = {i : (f_i − fmin)/√(s2_i + s2min) > best} and
 * its low member in L (symmetric); after a strong initial guess H and L are tiny for real
 * light curves, so the cost is a few O(n) passes (worst case O(|H|·|L|), still exact).
 * Writes [best, i, j] with f_i ≥ f_j into out.
 */
export function maxPairSignificance(
  f: Float64Array, s2: Float64Array, n: number,
  H: Int32Array, L: Int32Array, out: Float64Array,
): void {
  out[0] = 0; out[1] = -1; out[2] = -1;
  if (n < 2) return;
  let imax = 0, imin = 0, s2min = s2[0];
  for (let k = 1; k < n; k++) {
    if (f[k] > f[imax]) imax = k;
    if (f[k] < f[imin]) imin = k;
    if (s2[k] < s2min) s2min = s2[k];
  }
  const fmax = f[imax], fmin = f[imin];
  if (!(fmax > fmin)) { out[1] = imax; out[2] = imax === 0 ? 1 : 0; return; }
  let best = (fmax - fmin) / Math.sqrt(s2[imax] + s2[imin]);
  let bi = imax, bj = imin;
  // strengthen the initial guess: best partner of the most promising high and low members
  let ih = imax, il = imin, ubh = -1, ubl = -1;
  for (let k = 0; k < n; k++) {
    const uh = (f[k] - fmin) / Math.sqrt(s2[k] + s2min);
    if (uh > ubh) { ubh = uh; ih = k; }
    const ul = (fmax - f[k]) / Math.sqrt(s2[k] + s2min);
    if (ul > ubl) { ubl = ul; il = k; }
  }
  for (let k = 0; k < n; k++) {
    const a = (f[ih] - f[k]) / Math.sqrt(s2[ih] + s2[k]);
    if (a > best) { best = a; bi = ih; bj = k; }
    const b = (f[k] - f[il]) / Math.sqrt(s2[k] + s2[il]);
    if (b > best) { best = b; bi = k; bj = il; }
  }
  let nh = 0, nl = 0;
  for (let k = 0; k < n; k++) {
    if ((f[k] - fmin) / Math.sqrt(s2[k] + s2min) > best) H[nh++] = k;
    if ((fmax - f[k]) / Math.sqrt(s2[k] + s2min) > best) L[nl++] = k;
  }
  for (let p = 0; p < nh; p++) {
    const i = H[p], fi = f[i], si = s2[i];
    if ((fi - fmin) / Math.sqrt(si + s2min) <= best) continue; // best may have grown
    for (let q = 0; q < nl; q++) {
      const j = L[q];
      const d = fi - f[j];
      if (d <= 0) continue;
      const v = d / Math.sqrt(si + s2[j]);
      if (v > best) { best = v; bi = i; bj = j; }
    }
  }
  out[0] = best; out[1] = bi; out[2] = bj;
}

/** Epoch count above which a full pair search is cheaper than scanning each new epoch. */
const INCREMENTAL_MAX_NEW = 4;

/**
 * Fold epochs [state.nEpoch, lc.nEpoch) into the state. lc must contain all epochs so far
 * (older epochs are read only for the pair search). Results equal a from-scratch computation.
 */
export function updateVariability(state: VariabilityState, lc: LightCurves): void {
  checkLc(lc);
  if (lc.nSrc !== state.nSrc) throw new UsageError(`variability: state has ${state.nSrc} sources, light curves ${lc.nSrc}`);
  const E = lc.nEpoch, e0 = state.nEpoch;
  if (E < e0) throw new UsageError(`variability: light curves have ${E} epochs, state already holds ${e0}`);
  if (E === e0) return;
  const { flux, err } = lc;
  const fb = new Float64Array(E), sb = new Float64Array(E);
  const ep = new Int32Array(E);
  const H = new Int32Array(E), Lb = new Int32Array(E);
  const out = new Float64Array(3);
  const full = e0 === 0 || E - e0 > INCREMENTAL_MAX_NEW;
  for (let s = 0; s < state.nSrc; s++) {
    const o = s * E;
    let n = state.n[s], K = state.shift[s];
    let sw = state.sw[s], swf = state.swf[s], swf2 = state.swf2[s], sf = state.sf[s], sf2 = state.sf2[s];
    let fmin = state.fmin[s], fmax = state.fmax[s];
    for (let e = e0; e < E; e++) {
      const f = flux[o + e], sg = err[o + e];
      if (!valid(f, sg)) continue;
      if (n === 0) K = f;
      const w = 1 / (sg * sg), d = f - K;
      n++; sw += w; swf += w * d; swf2 += w * d * d; sf += d; sf2 += d * d;
      if (f < fmin) fmin = f;
      if (f > fmax) fmax = f;
    }
    state.n[s] = n; state.shift[s] = K;
    state.sw[s] = sw; state.swf[s] = swf; state.swf2[s] = swf2; state.sf[s] = sf; state.sf2[s] = sf2;
    state.fmin[s] = fmin; state.fmax[s] = fmax;

    if (full) {
      let m = 0;
      for (let e = 0; e < E; e++) {
        const f = flux[o + e], sg = err[o + e];
        if (!valid(f, sg)) continue;
        fb[m] = f; sb[m] = sg * sg; ep[m] = e; m++;
      }
      maxPairSignificance(fb, sb, m, H, Lb, out);
      if (out[1] >= 0 && m >= 2) {
        const a = ep[out[1]], b = ep[out[2]];
        state.pairVs[s] = out[0];
        state.pairA[s] = Math.min(a, b);
        state.pairB[s] = Math.max(a, b);
      } else {
        state.pairVs[s] = 0; state.pairA[s] = -1; state.pairB[s] = -1;
      }
    } else {
      let best = state.pairVs[s], pa = state.pairA[s], pbst = state.pairB[s];
      for (let e = e0; e < E; e++) {
        const fe = flux[o + e], se = err[o + e];
        if (!valid(fe, se)) continue;
        const s2e = se * se;
        for (let j = 0; j < e; j++) {
          const fj = flux[o + j], sj = err[o + j];
          if (!valid(fj, sj)) continue;
          const v = Math.abs(fe - fj) / Math.sqrt(s2e + sj * sj);
          if (v > best || pa < 0) { best = v; pa = j; pbst = e; }
        }
      }
      state.pairVs[s] = best; state.pairA[s] = pa; state.pairB[s] = pbst;
    }
  }
  state.nEpoch = E;
}

/** Metrics from the state (+ the light curves for the whole-curve parts). */
export function variabilityMetrics(state: VariabilityState, lc: LightCurves): VariabilityMetrics {
  checkLc(lc);
  if (lc.nEpoch !== state.nEpoch || lc.nSrc !== state.nSrc) {
    throw new UsageError(`variability: state covers ${state.nSrc}×${state.nEpoch}, light curves are ${lc.nSrc}×${lc.nEpoch}; call updateVariability first`);
  }
  const S = state.nSrc, E = lc.nEpoch;
  const r: VariabilityMetrics = {
    nSrc: S,
    n: Int32Array.from(state.n),
    mean: new Float64Array(S).fill(NaN),
    std: new Float64Array(S).fill(NaN),
    v: new Float64Array(S).fill(NaN),
    eta: new Float64Array(S).fill(NaN),
    chi2nu: new Float64Array(S).fill(NaN),
    weightedMean: new Float64Array(S).fill(NaN),
    sigmaDev: new Float64Array(S).fill(NaN),
    sigmaDevRobust: new Float64Array(S).fill(NaN),
    median: new Float64Array(S).fill(NaN),
    vs: new Float64Array(S).fill(NaN),
    m: new Float64Array(S).fill(NaN),
    pairA: Int32Array.from(state.pairA),
    pairB: Int32Array.from(state.pairB),
  };
  const buf = new Float64Array(E), dev = new Float64Array(E);
  const { flux, err } = lc;
  for (let s = 0; s < S; s++) {
    const n = state.n[s];
    if (n === 0) continue;
    const K = state.shift[s];
    const meanD = state.sf[s] / n;
    r.mean[s] = K + meanD;
    r.weightedMean[s] = K + state.swf[s] / state.sw[s];
    const o = s * E;
    let m = 0;
    for (let e = 0; e < E; e++) if (valid(flux[o + e], err[o + e])) buf[m++] = flux[o + e];
    r.median[s] = medianInPlace(buf, m);
    if (n < 2) continue;
    const variance = Math.max(0, (state.sf2[s] - state.sf[s] * meanD) / (n - 1));
    const std = Math.sqrt(variance);
    r.std[s] = std;
    r.v[s] = std / r.mean[s];
    r.eta[s] = Math.max(0, (state.swf2[s] - (state.swf[s] * state.swf[s]) / state.sw[s]) / (n - 1));
    r.sigmaDev[s] = Math.max(state.fmax[s] - r.mean[s], r.mean[s] - state.fmin[s]) / std;
    // two-pass χ² about the weighted mean (independent of the running-sum η)
    const wm = r.weightedMean[s];
    let chi2 = 0;
    for (let e = 0; e < E; e++) {
      const f = flux[o + e], sg = err[o + e];
      if (!valid(f, sg)) continue;
      const d = (f - wm) / sg;
      chi2 += d * d;
    }
    r.chi2nu[s] = chi2 / (n - 1);
    const med = r.median[s];
    let dmax = 0;
    for (let k = 0; k < m; k++) { const d = Math.abs(buf[k] - med); dev[k] = d; if (d > dmax) dmax = d; }
    const mad = medianInPlace(dev, m);
    r.sigmaDevRobust[s] = mad > 0 ? dmax / (MAD_TO_SIGMA * mad) : dmax > 0 ? Infinity : 0;
    const a = state.pairA[s], b = state.pairB[s];
    if (a >= 0 && b >= 0) {
      const fa = flux[o + a], fbb = flux[o + b];
      const dS = fbb - fa;
      r.vs[s] = dS / Math.sqrt(err[o + a] ** 2 + err[o + b] ** 2);
      r.m[s] = (2 * dS) / (fa + fbb);
    }
  }
  return r;
}

/** All metrics from scratch. */
export function computeVariability(lc: LightCurves): VariabilityMetrics {
  const st = createVariabilityState(lc.nSrc);
  updateVariability(st, lc);
  return variabilityMetrics(st, lc);
}

// ---------------------------------------------------------------- ESE candidates

export interface EseThresholds {
  minSigmaDev: number;
  minChi2nu: number;
  minEta: number;
}

/** Threshold presets of the original DSA-110 pipeline (σ-deviation / χ²_ν / η). */
export const ESE_PRESETS: Record<'conservative' | 'moderate' | 'sensitive', EseThresholds> = {
  conservative: { minSigmaDev: 5, minChi2nu: 4, minEta: 3 },
  moderate: { minSigmaDev: 3.5, minChi2nu: 2.5, minEta: 2 },
  sensitive: { minSigmaDev: 2.5, minChi2nu: 1.5, minEta: 1 },
};

export type EsePreset = keyof typeof ESE_PRESETS;

export interface EseOptions {
  preset?: EsePreset;
  /** Overrides the preset. */
  thresholds?: EseThresholds;
  /**
   * Which σ-deviation to threshold. 'robust' (default) uses the median and MAD: with the plain
   * mean/std a box dip covering a fraction p of the epochs has σ-deviation exactly
   * sqrt((1 − p)/p), so any dip longer than ~7 % of the light curve can never pass 3.5σ.
   */
  sigmaDev?: 'robust' | 'std';
  /** Minimum valid epochs (default 5). */
  minEpochs?: number;
  /** Per-epoch significance subtracted before the dip-window search (default 1). */
  kappa?: number;
}

export interface EseCandidates {
  /** Source rows that pass all thresholds. */
  source: Int32Array;
  /** First and last epoch (inclusive) of the dip window; −1 if no dip below the median. */
  windowStart: Int32Array;
  windowEnd: Int32Array;
  /** 1 − mean(window)/median. */
  depth: Float64Array;
  /** Σ over the window of (median − f)/σ. */
  significance: Float64Array;
}

/**
 * The most significant dip of one light curve: the contiguous run of epochs (missing epochs
 * skipped) maximising Σ ((baseline − f)/σ − kappa), found with Kadane's algorithm in O(N).
 * σ per epoch is max(error, robust scatter) so under-estimated errors do not fragment it.
 * Writes [start, end, significance, meanFluxInWindow] into out (start = −1 when none).
 */
export function dipWindow(
  flux: Float64Array, err: Float64Array, offset: number, nEpoch: number,
  baseline: number, scatter: number, kappa: number, out: Float64Array,
): void {
  let bestSum = 0, bestS = -1, bestE = -1;
  let cur = 0, curS = -1;
  for (let e = 0; e < nEpoch; e++) {
    const f = flux[offset + e], sg = err[offset + e];
    if (!valid(f, sg)) continue;
    const z = (baseline - f) / Math.max(sg, scatter) - kappa;
    if (curS < 0 || cur <= 0) { cur = z; curS = e; } else cur += z;
    if (cur > bestSum) { bestSum = cur; bestS = curS; bestE = e; }
  }
  out[0] = bestS; out[1] = bestE;
  if (bestS < 0) { out[2] = 0; out[3] = NaN; return; }
  let sig = 0, sum = 0, cnt = 0;
  for (let e = bestS; e <= bestE; e++) {
    const f = flux[offset + e], sg = err[offset + e];
    if (!valid(f, sg)) continue;
    sig += (baseline - f) / Math.max(sg, scatter);
    sum += f; cnt++;
  }
  out[2] = sig; out[3] = sum / cnt;
}

/** Sources passing the σ-deviation, χ²_ν and η thresholds, with their dip windows. */
export function findEseCandidates(metrics: VariabilityMetrics, lc: LightCurves, opts: EseOptions = {}): EseCandidates {
  checkLc(lc);
  const th = opts.thresholds ?? ESE_PRESETS[opts.preset ?? 'moderate'];
  if (!th) throw new UsageError(`unknown ESE preset '${opts.preset}' (conservative, moderate, sensitive)`);
  const useRobust = (opts.sigmaDev ?? 'robust') === 'robust';
  const minN = opts.minEpochs ?? 5;
  const kappa = opts.kappa ?? 1;
  const E = lc.nEpoch;
  const src: number[] = [], ws: number[] = [], we: number[] = [], depth: number[] = [], sig: number[] = [];
  const out = new Float64Array(4);
  const dev = new Float64Array(E);
  for (let s = 0; s < metrics.nSrc; s++) {
    if (metrics.n[s] < minN) continue;
    const sd = useRobust ? metrics.sigmaDevRobust[s] : metrics.sigmaDev[s];
    if (!(sd >= th.minSigmaDev && metrics.chi2nu[s] >= th.minChi2nu && metrics.eta[s] >= th.minEta)) continue;
    const o = s * E, med = metrics.median[s];
    let m = 0;
    for (let e = 0; e < E; e++) if (valid(lc.flux[o + e], lc.err[o + e])) dev[m++] = Math.abs(lc.flux[o + e] - med);
    const scatter = MAD_TO_SIGMA * medianInPlace(dev, m);
    dipWindow(lc.flux, lc.err, o, E, med, scatter, kappa, out);
    src.push(s); ws.push(out[0]); we.push(out[1]);
    depth.push(out[0] >= 0 ? 1 - out[3] / med : 0);
    sig.push(out[2]);
  }
  return {
    source: Int32Array.from(src),
    windowStart: Int32Array.from(ws),
    windowEnd: Int32Array.from(we),
    depth: Float64Array.from(depth),
    significance: Float64Array.from(sig),
  };
}
