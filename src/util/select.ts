/**
 * Order statistics shared by the flagging and photometry code: quickselect and median on typed
 * arrays, in place, no allocation.
 */

/** 1/Φ⁻¹(3/4): converts a MAD to the σ of a Gaussian. */
export const MAD_TO_SIGMA = 1.482602218505602;

/**
 * k-th smallest (0-based) of a[0..n) by in-place quickselect (Hoare partition, median-of-three).
 * Reorders a. O(n) expected.
 */
export function selectKth(a: Float32Array | Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // median of three as pivot, to avoid the sorted-input worst case
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

/** Median of a[0..n) (mean of the two middle values for even n); reorders a. NaN for n = 0. */
export function medianInPlace(a: Float32Array | Float64Array, n: number): number {
  if (n <= 0) return NaN;
  const h = n >>> 1;
  const upper = selectKth(a, n, h);
  if (n & 1) return upper;
  // after selection, a[0..h) ≤ upper: the lower middle is their maximum
  let lower = -Infinity;
  for (let i = 0; i < h; i++) if (a[i] > lower) lower = a[i];
  return 0.5 * (lower + upper);
}

