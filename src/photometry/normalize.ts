/**
 * Per-image flux normalisation against an ensemble of stable reference sources.
 *
 * References per field: catalogue sources with SNR ≥ 50, unresolved, within 1.5° of the field
 * centre, at most 20 (highest SNR first). Each reference's baseline is the median of its first
 * 10 valid epochs; per image the correction factor is the median of measured/baseline ratios
 * after 3σ (MAD) clipping, needing ≥ 3 references (else factor 1 and a flag). References whose
 * corrected light curve varies (χ²_ν > 2 about its own weighted mean) are dropped and the
 * factors recomputed until the ensemble is stable.
 *
 * Fluxes are flat, source-major: flux[s·nEpoch + e], NaN = missing.
 */
import { UsageError } from '../util/errors.js';
import type { Catalog } from './catalog.js';
import { MAD_TO_SIGMA, clippedMadStats, medianInPlace } from './stats.js';

export interface ReferenceOptions {
  minSnr?: number; // 50
  maxRadiusDeg?: number; // 1.5
  maxRefs?: number; // 20
}

/** Angular separation (degrees) on the sphere (haversine: stable at small angles). */
export function separationDeg(ra1: number, dec1: number, ra2: number, dec2: number): number {
  const d2r = Math.PI / 180;
  const s1 = Math.sin(((dec2 - dec1) * d2r) / 2), s2 = Math.sin(((ra2 - ra1) * d2r) / 2);
  const h = s1 * s1 + Math.cos(dec1 * d2r) * Math.cos(dec2 * d2r) * s2 * s2;
  return (2 * Math.asin(Math.min(1, Math.sqrt(h)))) / d2r;
}

/**
 * Catalogue rows eligible as references for a field centred at (raDeg, decDeg), sorted by
 * catalogue SNR (highest first). Sources of unknown SNR or resolution are not eligible.
 */
export function selectReferences(cat: Catalog, raDeg: number, decDeg: number, opts: ReferenceOptions = {}): Int32Array {
  const minSnr = opts.minSnr ?? 50;
  const rmax = opts.maxRadiusDeg ?? 1.5;
  const maxRefs = opts.maxRefs ?? 20;
  const rows: number[] = [];
  for (let i = 0; i < cat.raDeg.length; i++) {
    if (!(cat.snr[i] >= minSnr) || cat.resolved[i] !== 0) continue;
    if (separationDeg(raDeg, decDeg, cat.raDeg[i], cat.decDeg[i]) > rmax) continue;
    rows.push(i);
  }
  rows.sort((a, b) => cat.snr[b] - cat.snr[a] || a - b);
  return Int32Array.from(rows.slice(0, maxRefs));
}

export interface NormalizeOptions {
  baselineEpochs?: number; // 10
  clipSigma?: number; // 3
  minRefs?: number; // 3
  maxChi2nu?: number; // 2
  maxIter?: number; // 5
}

export const CORR_FLAG_TOO_FEW_REFS = 1;

export interface Corrections {
  nEpoch: number;
  /** Multiplicative gain per epoch: normalised = raw / factor (1 when flagged). */
  factor: Float64Array;
  /** 1σ uncertainty of the factor (standard error of the median; 0 when flagged). */
  factorErr: Float64Array;
  /** References that contributed to each epoch's factor after clipping. */
  nUsed: Int32Array;
  /** CORR_FLAG_TOO_FEW_REFS when fewer than minRefs references remained (no correction). */
  flag: Uint8Array;
  /** Per reference (in the order given): baseline, χ²_ν of its corrected curve, kept (1/0). */
  baseline: Float64Array;
  refChi2nu: Float64Array;
  refKept: Uint8Array;
}

function checkShape(flux: Float64Array, err: Float64Array, nSrc: number, nEpoch: number): void {
  if (flux.length !== nSrc * nEpoch || err.length !== nSrc * nEpoch) {
    throw new UsageError(`normalisation: flux/err length ${flux.length}/${err.length} ≠ ${nSrc}×${nEpoch}`);
  }
}

/**
 * Correction factors per epoch from the reference rows `refRows` of the flux matrix.
 */
export function computeCorrections(
  flux: Float64Array, err: Float64Array, nSrc: number, nEpoch: number,
  refRows: Int32Array, opts: NormalizeOptions = {},
): Corrections {
  checkShape(flux, err, nSrc, nEpoch);
  const nb = opts.baselineEpochs ?? 10;
  const clip = opts.clipSigma ?? 3;
  const minRefs = opts.minRefs ?? 3;
  const maxChi2 = opts.maxChi2nu ?? 2;
  const maxIter = opts.maxIter ?? 5;
  const R = refRows.length, E = nEpoch;
  for (const r of refRows) if (r < 0 || r >= nSrc) throw new UsageError(`normalisation: reference row ${r} outside 0..${nSrc - 1}`);

  const baseline = new Float64Array(R).fill(NaN);
  const buf = new Float64Array(Math.max(R, nb, 1)), scratch = new Float64Array(Math.max(R, 1));
  for (let k = 0; k < R; k++) {
    const o = refRows[k] * E;
    let m = 0;
    for (let e = 0; e < E && m < nb; e++) { const f = flux[o + e]; if (f === f && err[o + e] > 0) buf[m++] = f; }
    baseline[k] = m > 0 ? medianInPlace(buf, m) : NaN;
  }
  const kept = new Uint8Array(R);
  for (let k = 0; k < R; k++) kept[k] = baseline[k] > 0 ? 1 : 0;

  const factor = new Float64Array(E), factorErr = new Float64Array(E);
  const nUsed = new Int32Array(E), flag = new Uint8Array(E);
  const chi2 = new Float64Array(R).fill(NaN);
  const stat = new Float64Array(3);

  const solve = (): void => {
    for (let e = 0; e < E; e++) {
      let m = 0;
      for (let k = 0; k < R; k++) {
        if (!kept[k]) continue;
        const i = refRows[k] * E + e;
        const f = flux[i];
        if (f === f && err[i] > 0) buf[m++] = f / baseline[k];
      }
      if (m >= minRefs) clippedMadStats(buf, m, scratch, stat, clip);
      if (m < minRefs || stat[2] < minRefs || !(stat[0] > 0)) {
        factor[e] = 1; factorErr[e] = 0; nUsed[e] = m < minRefs ? m : stat[2]; flag[e] = CORR_FLAG_TOO_FEW_REFS;
        continue;
      }
      const n = stat[2];
      factor[e] = stat[0];
      // standard error of a median: sqrt(π/2)·σ/√n
      factorErr[e] = (Math.sqrt(Math.PI / 2) * stat[1]) / Math.sqrt(n);
      nUsed[e] = n;
      flag[e] = 0;
    }
  };

  for (let iter = 0; iter < maxIter; iter++) {
    solve();
    let changed = false;
    for (let k = 0; k < R; k++) {
      if (!(baseline[k] > 0)) continue;
      const o = refRows[k] * E;
      // χ²_ν of the corrected reference curve about its weighted mean
      let sw = 0, swf = 0, n = 0;
      for (let e = 0; e < E; e++) {
        const f = flux[o + e], s = err[o + e];
        if (!(f === f && s > 0)) continue;
        const c = factor[e], fc = f / c;
        const sc = Math.hypot(s / c, (fc * factorErr[e]) / c);
        const w = 1 / (sc * sc);
        sw += w; swf += w * fc; n++;
      }
      if (n < 2) { chi2[k] = NaN; continue; }
      const wm = swf / sw;
      let c2 = 0;
      for (let e = 0; e < E; e++) {
        const f = flux[o + e], s = err[o + e];
        if (!(f === f && s > 0)) continue;
        const c = factor[e], fc = f / c;
        const sc = Math.hypot(s / c, (fc * factorErr[e]) / c);
        c2 += ((fc - wm) / sc) ** 2;
      }
      chi2[k] = c2 / (n - 1);
      const keep = chi2[k] <= maxChi2 ? 1 : 0;
      if (keep !== kept[k]) {
        // only drop here; a dropped reference comes back only if it now looks stable
        kept[k] = keep;
        changed = true;
      }
    }
    if (!changed) break;
  }
  return { nEpoch: E, factor, factorErr, nUsed, flag, baseline, refChi2nu: chi2, refKept: kept };
}

/**
 * Divide every source's fluxes by the epoch factor; errors add the factor's uncertainty:
 * σ_n² = (σ/c)² + (f·σ_c/c²)².
 */
export function applyCorrections(
  flux: Float64Array, err: Float64Array, nSrc: number, nEpoch: number, corr: Corrections,
): { flux: Float64Array; err: Float64Array } {
  checkShape(flux, err, nSrc, nEpoch);
  if (corr.nEpoch !== nEpoch) throw new UsageError(`normalisation: corrections cover ${corr.nEpoch} epochs, fluxes ${nEpoch}`);
  const outF = new Float64Array(flux.length), outE = new Float64Array(err.length);
  for (let s = 0; s < nSrc; s++) {
    const o = s * nEpoch;
    for (let e = 0; e < nEpoch; e++) {
      const c = corr.factor[e], sc = corr.factorErr[e];
      const f = flux[o + e] / c;
      outF[o + e] = f;
      outE[o + e] = Math.hypot(err[o + e] / c, (f * sc) / c);
    }
  }
  return { flux: outF, err: outE };
}

/** Robust fractional scatter (1.4826·MAD / median) of one light curve; NaN if < 3 points. */
export function robustFractionalScatter(flux: Float64Array, offset: number, nEpoch: number): number {
  const a = new Float64Array(nEpoch);
  let m = 0;
  for (let e = 0; e < nEpoch; e++) { const f = flux[offset + e]; if (f === f) a[m++] = f; }
  if (m < 3) return NaN;
  const med = medianInPlace(a.slice(0, m), m);
  for (let k = 0; k < m; k++) a[k] = Math.abs(a[k] - med);
  return (MAD_TO_SIGMA * medianInPlace(a, m)) / med;
}

export interface FieldNormalization {
  /** Catalogue rows used as references (before the variability cut; see corrections.refKept). */
  refs: Int32Array;
  corrections: Corrections;
  flux: Float64Array;
  err: Float64Array;
}

/**
 * One field end to end: rows of flux/err are catalogue rows (nSrc = catalogue length);
 * choose references around the field centre, derive per-epoch factors, normalise every source.
 */
export function normalizeField(
  cat: Catalog, centreRaDeg: number, centreDecDeg: number,
  flux: Float64Array, err: Float64Array, nEpoch: number,
  opts: ReferenceOptions & NormalizeOptions = {},
): FieldNormalization {
  const nSrc = cat.raDeg.length;
  checkShape(flux, err, nSrc, nEpoch);
  const refs = selectReferences(cat, centreRaDeg, centreDecDeg, opts);
  const corrections = computeCorrections(flux, err, nSrc, nEpoch, refs, opts);
  const out = applyCorrections(flux, err, nSrc, nEpoch, corrections);
  return { refs, corrections, flux: out.flux, err: out.err };
}
