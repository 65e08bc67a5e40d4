/**
 * Robust statistics on typed arrays: median (quickselect), MAD, robust σ.
 * All functions ignore non-finite values and, when a mask is given, masked (non-zero) samples.
 */

export { MAD_TO_SIGMA, selectKth, medianInPlace } from '../util/select.js';
import { MAD_TO_SIGMA, medianInPlace, selectKth } from '../util/select.js';

/** Copies the finite, unmasked values into scratch (grown if needed); returns the count. */
function gather(values: ArrayLike<number>, mask: Uint8Array | undefined, scratch: Float64Array): number {
  let n = 0;
  const len = values.length;
  for (let i = 0; i < len; i++) {
    const v = values[i];
    if ((mask === undefined || mask[i] === 0) && Number.isFinite(v)) scratch[n++] = v;
  }
  return n;
}

export interface MadResult {
  median: number;
  mad: number;
  /** Number of samples used. */
  n: number;
}

/**
 * Median and median absolute deviation of the unmasked, finite values. NaNs when none.
 * `scratch` (length ≥ values.length) avoids an allocation in hot loops.
 */
export function medianMad(values: ArrayLike<number>, mask?: Uint8Array, scratch?: Float64Array): MadResult {
  const buf = scratch && scratch.length >= values.length ? scratch : new Float64Array(values.length);
  const n = gather(values, mask, buf);
  if (n === 0) return { median: NaN, mad: NaN, n: 0 };
  const med = medianInPlace(buf, n);
  for (let i = 0; i < n; i++) buf[i] = Math.abs(buf[i] - med);
  const mad = medianInPlace(buf, n);
  return { median: med, mad, n };
}

/** Robust Gaussian σ = 1.4826·MAD of the unmasked finite values (NaN when none). */
export function robustSigma(values: ArrayLike<number>, mask?: Uint8Array, scratch?: Float64Array): number {
  return MAD_TO_SIGMA * medianMad(values, mask, scratch).mad;
}

/**
 * Robust Rayleigh scale of amplitudes: for A ~ Rayleigh(σ), median(A²) = 2σ²·ln 2, so
 * σ = sqrt(median(A²)/(2 ln 2)). This is AOFlagger's "mode" noise scale for raw amplitudes
 * (σ of one complex component), estimated without being pulled by RFI.
 */
export function rayleighScale(amps: ArrayLike<number>, mask?: Uint8Array, scratch?: Float64Array): number {
  const buf = scratch && scratch.length >= amps.length ? scratch : new Float64Array(amps.length);
  const n = gather(amps, mask, buf);
  if (n === 0) return NaN;
  for (let i = 0; i < n; i++) buf[i] *= buf[i];
  return Math.sqrt(medianInPlace(buf, n) / (2 * Math.LN2));
}

/**
 * robustSigma from a regular subsample of at most ~maxSamples of the unmasked values (every k-th
 * index): the MAD of 4,096 Gaussian samples is within ~2 % of the full-set value and far cheaper
 * than selecting over a whole 24 × 768 plane.
 */
export function robustSigmaSampled(values: ArrayLike<number>, mask: Uint8Array | undefined, maxSamples: number, scratch: Float64Array): number {
  const len = values.length;
  const step = Math.max(1, Math.ceil(len / maxSamples));
  if (step === 1) return robustSigma(values, mask, scratch);
  let n = 0;
  for (let i = 0; i < len; i += step) {
    const v = values[i];
    if ((mask === undefined || mask[i] === 0) && Number.isFinite(v)) scratch[n++] = v;
  }
  if (n < 64) return robustSigma(values, mask, scratch);
  const med = medianInPlace(scratch, n);
  for (let i = 0; i < n; i++) scratch[i] = Math.abs(scratch[i] - med);
  return MAD_TO_SIGMA * medianInPlace(scratch, n);
}
