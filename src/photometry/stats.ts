/**
 * Small robust-statistics kernels on typed arrays (no allocation in the hot path).
 * Medians use quickselect and reorder the input prefix in place.
 */

/** 1 / Φ⁻¹(3/4): converts a median absolute deviation to a Gaussian σ. */
export const MAD_TO_SIGMA = 1.482602218505602;

/** k-th smallest (0-based) of a[0..n), partially reordering a in place. n ≥ 1. */
export function selectKth(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    // median-of-three pivot keeps sorted/clustered inputs from going quadratic
    const mid = (lo + hi) >>> 1;
    let x = a[lo], y = a[mid], z = a[hi];
    if (x > y) { const t = x; x = y; y = t; }
    if (y > z) { y = z; if (x > y) y = x; }
    const pivot = y;
    let i = lo, j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) { const t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

/** Median of a[0..n) (mean of the two middle values for even n); reorders a. NaN if n = 0. */
export function medianInPlace(a: Float64Array, n: number): number {
  if (n <= 0) return NaN;
  const h = n >> 1;
  const upper = selectKth(a, n, h);
  if (n & 1) return upper;
  // after selection every element below h is ≤ upper: the lower middle is their max
  let lower = a[0];
  for (let i = 1; i < h; i++) if (a[i] > lower) lower = a[i];
  return 0.5 * (lower + upper);
}

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
