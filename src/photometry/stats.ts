/**
 * Small robust-statistics kernels on typed arrays (no allocation in the hot path).
 * Medians use quickselect and reorder the input prefix in place.
 */

export { MAD_TO_SIGMA, selectKth, medianInPlace } from '../util/select.js';
import { MAD_TO_SIGMA, medianInPlace, selectKth } from '../util/select.js';

/**
 * Sigma-clipped robust location and scale of a[0..n): median and 1.4826·MAD, iterating
 * |x − median| ≤ nsigma·σ until no value is removed (at most maxIter times).
 * Destroys a[0..n); `scratch` must hold n values. Writes [median, sigma, nKept] into out.
 */
export function clippedMadStats(
  a: Float64Array,
  n: number,
  scratch: Float64Array,
  out: Float64Array,
  nsigma = 3,
  maxIter = 5,
): void {
  let med = NaN;
  let sigma = NaN;
  for (let iter = 0; iter < maxIter && n > 0; iter++) {
    for (let i = 0; i < n; i++) scratch[i] = a[i];
    med = medianInPlace(scratch, n);
    for (let i = 0; i < n; i++) scratch[i] = Math.abs(a[i] - med);
    sigma = MAD_TO_SIGMA * medianInPlace(scratch, n);
    if (!(sigma > 0)) break;
    const lim = nsigma * sigma;
    let m = 0;
    for (let i = 0; i < n; i++) {
      const v = a[i];
      if (Math.abs(v - med) <= lim) a[m++] = v;
    }
    if (m === n) break;
    n = m;
  }
  out[0] = med;
  out[1] = sigma;
  out[2] = n;
}
