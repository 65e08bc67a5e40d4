/**
 * Scale-invariant rank (SIR) operator (Offringa, van de Gronde & Roerdink 2012, A&A 539, A95).
 *
 * Definition: a sample is flagged in the output when some interval containing it has at least a
 * fraction (1 − η) of flagged samples. With w = η for a flagged sample and w = η − 1 otherwise,
 * an interval [a, b) qualifies iff Σ_{a≤j<b} w_j ≥ 0. Using the prefix sums W(x) = Σ_{j<x} w_j,
 * sample i is flagged iff max_{b>i} W(b) − min_{a≤i} W(a) ≥ 0: a prefix minimum and a suffix
 * maximum give the linear-time algorithm.
 *
 * "Missing" samples (e.g. flags that came with the data) are removed from the sequence before
 * the operator runs and keep their value — AOFlagger's masked variant.
 */

/** Tolerance for the ≥ 0 test: η is not exact in binary, e.g. 4·0.2 − 0.8 ≠ 0 in doubles. */
const EPS = 1e-9;

/** Scratch buffers for sirStrided; sized for sequences up to `capacity` long. */
export class SirScratch {
  w: Float64Array;
  minW: Float64Array;
  pos: Int32Array;
  /** Per column: any flag set (sirOperator2D). */
  colAny: Uint8Array = new Uint8Array(0);
  constructor(capacity: number) {
    this.w = new Float64Array(capacity + 1);
    this.minW = new Float64Array(capacity + 1);
    this.pos = new Int32Array(capacity);
  }
}

/**
 * SIR on the sequence flags[offset + k·stride], k = 0 … n−1, in place. Samples with a non-zero
 * missing[offset + k·stride] are skipped (neither counted nor changed).
 */
export function sirStrided(
  flags: Uint8Array, offset: number, stride: number, n: number, eta: number,
  missing: Uint8Array | undefined, scratch: SirScratch,
): void {
  if (eta <= 0 || n === 0) return;
  const { w: W, minW, pos } = scratch;
  let m = 0;
  let nFlagged = 0;
  for (let k = 0, i = offset; k < n; k++, i += stride) {
    if (missing === undefined || missing[i] === 0) { pos[m++] = i; nFlagged += flags[i] !== 0 ? 1 : 0; }
  }
  // nothing flagged: no interval qualifies; everything flagged: nothing left to add
  if (nFlagged === 0 || nFlagged === m) return;
  const etaM1 = eta - 1;
  W[0] = 0;
  minW[0] = 0;
  let curMin = 0;
  for (let k = 0; k < m; k++) {
    const next = W[k] + (flags[pos[k]] !== 0 ? eta : etaM1);
    W[k + 1] = next;
    // minW[k] = min(W[0..k]) is what sample k may start from
    minW[k] = curMin;
    if (next < curMin) curMin = next;
  }
  let curMax = -Infinity;
  for (let k = m - 1; k >= 0; k--) {
    if (W[k + 1] > curMax) curMax = W[k + 1];
    if (curMax - minW[k] >= -EPS) flags[pos[k]] = 1;
  }
}

/** SIR on a 1-D flag sequence in place (optionally skipping `missing` samples). */
export function sirOperator1D(flags: Uint8Array, eta: number, missing?: Uint8Array): void {
  sirStrided(flags, 0, 1, flags.length, eta, missing, new SirScratch(flags.length));
}

/**
 * SIR on a [nTime][nChan] plane: first along time (each channel), then along frequency (each
 * timestep) on the result — AOFlagger's order.
 */
export function sirOperator2D(
  flags: Uint8Array, nTime: number, nChan: number, etaTime: number, etaFreq: number,
  missing?: Uint8Array, scratch?: SirScratch,
): void {
  const s = scratch ?? new SirScratch(Math.max(nTime, nChan));
  if (etaTime > 0) {
    // a column without any (non-missing) flag is left as it is: find those in one contiguous pass
    // instead of gathering every column
    const any = s.colAny.length >= nChan ? s.colAny : (s.colAny = new Uint8Array(nChan));
    any.fill(0, 0, nChan);
    for (let t = 0; t < nTime; t++) {
      const row = t * nChan;
      if (missing === undefined) for (let c = 0; c < nChan; c++) any[c] |= flags[row + c];
      else for (let c = 0; c < nChan; c++) any[c] |= flags[row + c] !== 0 && missing[row + c] === 0 ? 1 : 0;
    }
    for (let c = 0; c < nChan; c++) if (any[c] !== 0) sirStrided(flags, c, nChan, nTime, etaTime, missing, s);
  }
  if (etaFreq > 0) for (let t = 0; t < nTime; t++) sirStrided(flags, t * nChan, 1, nChan, etaFreq, missing, s);
}
