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
  /** Per column: number of (non-missing) flags, any missing sample (sirOperator2D). */
  colCnt: Int32Array = new Int32Array(0);
  colMiss: Uint8Array = new Uint8Array(0);
  /** Per row: any missing sample (sirOperator2D). */
  rowMiss: Uint8Array = new Uint8Array(0);
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
  // too few flags for any interval to qualify (see minFlagsToGrow); everything flagged: nothing to add
  if (nFlagged < minFlagsToGrow(eta) || nFlagged === m) return;
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

/**
 * sirStrided for a sequence without missing samples: the prefix sums are built straight from the
 * flags (no gather of positions), and a sequence without flags costs a single read.
 */
function sirDense(flags: Uint8Array, offset: number, stride: number, n: number, eta: number, scratch: SirScratch): void {
  const { w: W, minW } = scratch;
  const etaM1 = eta - 1;
  W[0] = 0;
  let curMin = 0;
  let nFlagged = 0;
  for (let k = 0, i = offset; k < n; k++, i += stride) {
    const f = flags[i] !== 0;
    nFlagged += f ? 1 : 0;
    const next = W[k] + (f ? eta : etaM1);
    W[k + 1] = next;
    minW[k] = curMin;
    if (next < curMin) curMin = next;
  }
  if (nFlagged < minFlagsToGrow(eta) || nFlagged === n) return;
  let curMax = -Infinity;
  for (let k = n - 1, i = offset + (n - 1) * stride; k >= 0; k--, i -= stride) {
    if (W[k + 1] > curMax) curMax = W[k + 1];
    if (curMax - minW[k] >= -EPS) flags[i] = 1;
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
  // An unflagged sample is added only by an interval with f flags and u ≥ 1 unflagged samples
  // where η·f ≥ (1 − η)·u, i.e. f ≥ (1 − η)/η (4 at η = 0.2): a line with fewer flags stays as
  // it is. One contiguous pass counts the flags of each column and finds the columns / rows with
  // a missing sample (those need the gather of positions; the others skip it).
  const cnt = s.colCnt.length >= nChan ? s.colCnt : (s.colCnt = new Int32Array(nChan));
  const colMiss = s.colMiss.length >= nChan ? s.colMiss : (s.colMiss = new Uint8Array(nChan));
  const rowMiss = s.rowMiss.length >= nTime ? s.rowMiss : (s.rowMiss = new Uint8Array(nTime));
  cnt.fill(0, 0, nChan);
  colMiss.fill(0, 0, nChan);
  rowMiss.fill(0, 0, nTime);
  if (missing === undefined) {
    for (let t = 0; t < nTime; t++) countRow(cnt, flags, t * nChan, nChan);
  } else {
    for (let t = 0; t < nTime; t++) rowMiss[t] = scanRow(cnt, colMiss, flags, missing, t * nChan, nChan);
  }
  if (etaTime > 0) {
    const need = minFlagsToGrow(etaTime);
    for (let c = 0; c < nChan; c++) {
      if (cnt[c] < need) continue;
      if (colMiss[c] === 0) sirDense(flags, c, nChan, nTime, etaTime, s);
      else sirStrided(flags, c, nChan, nTime, etaTime, missing, s);
    }
  }
  if (etaFreq > 0) {
    for (let t = 0; t < nTime; t++) {
      if (rowMiss[t] === 0) sirDense(flags, t * nChan, 1, nChan, etaFreq, s);
      else sirStrided(flags, t * nChan, 1, nChan, etaFreq, missing, s);
    }
  }
}

/** The fewest flags with which an interval can take in an unflagged sample (see sirOperator2D). */
export function minFlagsToGrow(eta: number): number {
  // η·f − (1 − η) ≥ −EPS, with the same tolerance as the operator itself
  return Math.max(1, Math.ceil((1 - eta - EPS) / eta - 1e-9));
}

function countRow(cnt: Int32Array, flags: Uint8Array, row: number, nChan: number): void {
  for (let c = 0; c < nChan; c++) cnt[c] += flags[row + c] !== 0 ? 1 : 0;
}

/** cnt += flagged ∧ ¬missing, colMiss |= missing over one row; returns whether the row has a missing sample. */
function scanRow(cnt: Int32Array, colMiss: Uint8Array, flags: Uint8Array, missing: Uint8Array, row: number, nChan: number): number {
  let rm = 0;
  for (let c = 0; c < nChan; c++) {
    const ms = missing[row + c] !== 0 ? 1 : 0;
    cnt[c] += flags[row + c] !== 0 && ms === 0 ? 1 : 0;
    colMiss[c] |= ms;
    rm |= ms;
  }
  return rm;
}
