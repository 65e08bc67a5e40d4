/**
 * SumThreshold (Offringa et al. 2010, MNRAS 405, 155): a window of M consecutive samples is
 * flagged when the mean of its unflagged samples exceeds χ_M = χ₁·ρ^{log2 M}/M in absolute value.
 *
 * Flagged samples follow AOFlagger's rule: they are left out of the window sum and out of the
 * count (the test is |Σ unflagged| > χ_M·count), and a window with no unflagged sample never
 * trips. Within one pass all windows are tested against the mask as it was before the pass; the
 * new flags are applied after the pass, and the next window length sees them.
 *
 * Planes are [nTime][nChan] row-major (channels contiguous).
 */

/** χ_M for window length M: χ₁·ρ^{log2 M}/M (ρ = 1.5 in AOFlagger). */
export function sumThresholdLevel(chi1: number, length: number, growth = 1.5): number {
  return (chi1 * Math.pow(growth, Math.log2(length))) / length;
}

/** Window lengths 1, 2, 4, … up to min(maxWindow, axisLength). */
export function windowLengths(axisLength: number, maxWindow = 256): number[] {
  const out: number[] = [];
  for (let m = 1; m <= maxWindow && m <= axisLength; m *= 2) out.push(m);
  return out;
}

/**
 * One SumThreshold pass of window `length` along a 1-D series. `flags` is read as the mask and
 * updated in place (the new windows are OR'ed in after the pass). Returns samples newly flagged.
 */
export function sumThreshold1D(values: ArrayLike<number>, flags: Uint8Array, length: number, threshold: number): number {
  const n = flags.length;
  if (length > n || length < 1) return 0;
  const out = Uint8Array.from(flags);
  let newly = 0;
  let sum = 0;
  let cnt = 0;
  let markEnd = 0;
  for (let r = 0; r < n; r++) {
    if (flags[r] === 0) { sum += values[r]; cnt++; }
    const l = r - length + 1;
    if (l < 0) continue;
    if (Math.abs(sum) > threshold * cnt && cnt > 0) {
      for (let k = l > markEnd ? l : markEnd; k <= r; k++) if (out[k] === 0) { out[k] = 1; newly++; }
      markEnd = r + 1;
    }
    if (flags[l] === 0) { sum -= values[l]; cnt--; }
  }
  flags.set(out);
  return newly;
}

/**
 * One pass along frequency (rows) of a [nTime][nChan] plane: windows are tested against `mask`,
 * trips are written into `out` (which the caller initialised as a copy of mask).
 */
export function sumThresholdFreqPass(
  values: Float32Array, mask: Uint8Array, out: Uint8Array,
  nTime: number, nChan: number, length: number, threshold: number,
): void {
  if (length > nChan) return;
  for (let t = 0; t < nTime; t++) {
    const row = t * nChan;
    let sum = 0;
    let cnt = 0;
    let markEnd = 0;
    // prime the first length-1 samples
    for (let c = 0; c < length - 1; c++) {
      if (mask[row + c] === 0) { sum += values[row + c]; cnt++; }
    }
    for (let r = length - 1, l = 0; r < nChan; r++, l++) {
      if (mask[row + r] === 0) { sum += values[row + r]; cnt++; }
      // cnt > 0: a window of flagged samples never trips (and round-off may leave sum ≠ 0)
      if (cnt > 0 && (sum < 0 ? -sum : sum) > threshold * cnt) {
        for (let k = l > markEnd ? l : markEnd; k <= r; k++) out[row + k] = 1;
        markEnd = r + 1;
      }
      if (mask[row + l] === 0) { sum -= values[row + l]; cnt--; }
    }
  }
}

/**
 * One pass along time (columns) of a [nTime][nChan] plane, all channels at once so that memory is
 * read row by row. `sum`, `cnt`, `markEnd` are scratch of length ≥ nChan.
 */
export function sumThresholdTimePass(
  values: Float32Array, mask: Uint8Array, out: Uint8Array,
  nTime: number, nChan: number, length: number, threshold: number,
  sum: Float64Array, cnt: Int32Array, markEnd: Int32Array,
): void {
  if (length > nTime) return;
  sum.fill(0, 0, nChan);
  cnt.fill(0, 0, nChan);
  markEnd.fill(0, 0, nChan);
  for (let t = 0; t < nTime; t++) {
    const row = t * nChan;
    for (let c = 0; c < nChan; c++) {
      if (mask[row + c] === 0) { sum[c] += values[row + c]; cnt[c]++; }
    }
    const top = t - length + 1;
    if (top < 0) continue;
    for (let c = 0; c < nChan; c++) {
      const s = sum[c];
      if (cnt[c] > 0 && (s < 0 ? -s : s) > threshold * cnt[c]) {
        const from = top > markEnd[c] ? top : markEnd[c];
        for (let k = from; k <= t; k++) out[k * nChan + c] = 1;
        markEnd[c] = t + 1;
      }
    }
    const rowTop = top * nChan;
    for (let c = 0; c < nChan; c++) {
      if (mask[rowTop + c] === 0) { sum[c] -= values[rowTop + c]; cnt[c]--; }
    }
  }
}

export interface SumThreshold2DOptions {
  growth?: number;
  maxWindow?: number;
  timeDirection?: boolean;
  frequencyDirection?: boolean;
  /** χ₁ used along time (default: the chi1 argument) — lets time and frequency differ. */
  chi1Time?: number;
}

/** Reusable scratch for sumThreshold2D (avoids allocations per plane). */
export class SumThresholdScratch {
  readonly nTime: number;
  readonly nChan: number;
  /** Trips of the current pass. */
  readonly out: Uint8Array;
  /** Row prefix sums/counts along frequency: [nTime][nChan + 1]. */
  readonly pf: Float64Array;
  readonly cf: Int32Array;
  /** Column prefix sums/counts along time: [nTime + 1][nChan]. */
  readonly pt: Float64Array;
  readonly ct: Int32Array;
  /** Per row: number of masked samples, range (max − min) of the prefix sum, dirty/tripped marks. */
  readonly rowFlagged: Int32Array;
  readonly rowRange: Float64Array;
  readonly rowDirty: Uint8Array;
  readonly rowTrip: Uint8Array;
  readonly markEnd: Int32Array;
  /** Per row pyramid of prefix-sum minima/maxima over aligned blocks of 2, 4, 8, … (levelOff). */
  readonly pyrMin: Float64Array;
  readonly pyrMax: Float64Array;
  readonly levelOff: Int32Array;
  readonly levelLen: Int32Array;
  readonly pyrStride: number;
  readonly pyrDirty: Uint8Array;
  /** Per channel: range of the time prefix sum, masked count, and the active-column list. */
  readonly colRange: Float64Array;
  readonly colMin: Float64Array;
  readonly colFlagged: Int32Array;
  readonly active: Int32Array;
  /** Columns whose flags changed since the time prefix was built (rebuilt alone when few). */
  readonly colDirty: Uint8Array;
  readonly dirtyList: Int32Array;
  nDirty = 0;
  constructor(nTime: number, nChan: number) {
    this.nTime = nTime;
    this.nChan = nChan;
    const levels: number[] = [];
    for (let m = 2; m <= 2 * nChan; m *= 2) levels.push(m);
    this.levelOff = new Int32Array(levels.length + 2);
    this.levelLen = new Int32Array(levels.length + 2);
    let off = 0;
    // level k (k ≥ 1) has blocks of 2^k prefix entries; P has nChan + 1 entries
    for (let k = 1; k <= levels.length; k++) {
      this.levelOff[k] = off;
      this.levelLen[k] = Math.ceil((nChan + 1) / 2 ** k);
      off += this.levelLen[k];
    }
    this.pyrStride = off;
    this.pyrMin = new Float64Array(nTime * off);
    this.pyrMax = new Float64Array(nTime * off);
    this.pyrDirty = new Uint8Array(nTime);
    this.colRange = new Float64Array(nChan);
    this.colMin = new Float64Array(nChan);
    this.colFlagged = new Int32Array(nChan);
    this.active = new Int32Array(nChan);
    this.colDirty = new Uint8Array(nChan);
    this.dirtyList = new Int32Array(nChan);
    this.out = new Uint8Array(nTime * nChan);
    this.pf = new Float64Array(nTime * (nChan + 1));
    this.cf = new Int32Array(nTime * (nChan + 1));
    this.pt = new Float64Array((nTime + 1) * nChan);
    this.ct = new Int32Array((nTime + 1) * nChan);
    this.rowFlagged = new Int32Array(nTime);
    this.rowRange = new Float64Array(nTime);
    this.rowDirty = new Uint8Array(nTime);
    this.rowTrip = new Uint8Array(nTime);
    this.markEnd = new Int32Array(nChan);
  }
}

/**
 * Full SumThreshold on a [nTime][nChan] plane: for M = 1, 2, 4, … a pass along time then a pass
 * along frequency (AOFlagger's order), each at χ_M. `flags` is the input mask and receives the
 * result (input flags stay set). Windows longer than an axis are skipped on that axis.
 *
 * Same result as running sumThresholdTimePass/sumThresholdFreqPass in turn, but faster: window
 * sums come from prefix sums that are recomputed only where a pass added flags, and a row is
 * skipped for a window length when the range of its prefix sum proves no window can trip.
 */
export function sumThreshold2D(
  values: Float32Array, flags: Uint8Array, nTime: number, nChan: number, chi1: number,
  opts: SumThreshold2DOptions = {}, scratch?: SumThresholdScratch,
): void {
  const growth = opts.growth ?? 1.5;
  const maxWindow = opts.maxWindow ?? 256;
  const doTime = opts.timeDirection ?? true;
  const doFreq = opts.frequencyDirection ?? true;
  const chi1Time = opts.chi1Time ?? chi1;
  const s = scratch && scratch.nTime === nTime && scratch.nChan === nChan ? scratch : new SumThresholdScratch(nTime, nChan);
  const { out, pf, cf, pt, ct, rowFlagged, rowRange, rowDirty, rowTrip, markEnd, pyrMin, pyrMax, levelOff, levelLen, pyrStride, colRange, colFlagged, active } = s;
  const W = nChan + 1;
  const nLevels = levelOff.length - 2;
  out.fill(0);
  rowDirty.fill(1);
  let timePrefixValid = false;
  let timePrefixBuilt = false; // built for these values in this call: then only dirty columns
  clearDirtyColumns(s);

  const longest = Math.max(doTime ? nTime : 0, doFreq ? nChan : 0);
  for (let m = 1; m <= maxWindow && m <= longest; m *= 2) {
    if (doTime && m <= nTime) {
      if (!timePrefixValid) {
        if (timePrefixBuilt && s.nDirty * 8 <= nChan) rebuildTimePrefixColumns(values, flags, s);
        else rebuildTimePrefix(values, flags, s);
        clearDirtyColumns(s);
        timePrefixValid = true;
        timePrefixBuilt = true;
      }
      const thr = sumThresholdLevel(chi1Time, m, growth);
      let tripped = false;
      markEnd.fill(0);
      // columns whose prefix range proves that no window can trip are skipped
      let nActive = 0;
      for (let c = 0; c < nChan; c++) {
        const minCnt = m - colFlagged[c];
        if (minCnt > 0 && colRange[c] <= thr * minCnt) continue;
        active[nActive++] = c;
      }
      for (let t = m; t <= nTime && nActive > 0; t++) {
        const a = (t - m) * nChan;
        const b = t * nChan;
        for (let q = 0; q < nActive; q++) {
          const c = active[q];
          const cnt = ct[b + c] - ct[a + c];
          const sum = pt[b + c] - pt[a + c];
          if (cnt > 0 && (sum < 0 ? -sum : sum) > thr * cnt) {
            const top = t - m;
            const from = top > markEnd[c] ? top : markEnd[c];
            for (let k = from; k < t; k++) { out[k * nChan + c] = 1; rowTrip[k] = 1; }
            markEnd[c] = t;
            tripped = true;
          }
        }
      }
      if (tripped) { applyTrips(flags, s); timePrefixValid = false; }
    }
    if (doFreq && m <= nChan) {
      rebuildRowPrefix(values, flags, s);
      const thr = sumThresholdLevel(chi1, m, growth);
      let tripped = false;
      // the length-1 test along frequency repeats the one just done along time
      if (m === 1 && doTime && chi1Time === chi1) continue;
      const level = Math.log2(m);
      if (m >= 8) rebuildPyramids(s);
      for (let t = 0; t < nTime; t++) {
        // every window holds ≥ m − rowFlagged unflagged samples and |sum| ≤ range of the prefix
        const minCnt = m - rowFlagged[t];
        const lim = thr * minCnt;
        if (minCnt > 0 && rowRange[t] <= lim) continue;
        const pr = t * W;
        const row = t * nChan;
        let mark = 0;
        const lEnd = nChan - m + 1;
        // windows starting in aligned block j end in block j + 1: bound |sum| by the block extrema
        const usePyr = m >= 8 && minCnt > 0 && level <= nLevels;
        const o = t * pyrStride + (usePyr ? levelOff[level] : 0);
        const nBlocks = usePyr ? levelLen[level] - 1 : 1;
        for (let j = 0; j < nBlocks; j++) {
          let l0 = 0;
          let l1 = lEnd;
          if (usePyr) {
            const up = pyrMax[o + j + 1] - pyrMin[o + j];
            const dn = pyrMax[o + j] - pyrMin[o + j + 1];
            if ((up > dn ? up : dn) <= lim) continue;
            l0 = j * m;
            l1 = l0 + m < lEnd ? l0 + m : lEnd;
          }
          for (let l = l0, r = l0 + m; l < l1; l++, r++) {
            const cnt = cf[pr + r] - cf[pr + l];
            const sum = pf[pr + r] - pf[pr + l];
            if (cnt > 0 && (sum < 0 ? -sum : sum) > thr * cnt) {
              for (let k = l > mark ? l : mark; k < r; k++) out[row + k] = 1;
              mark = r;
              rowTrip[t] = 1;
              tripped = true;
            }
          }
        }
      }
      if (tripped) { applyTrips(flags, s); timePrefixValid = false; }
    }
  }
}

// The helpers below are top-level functions on purpose: closures over the hot arrays would force
// V8 to keep those arrays in context slots and slow every inner loop several-fold.

/** Recomputes prefix sums/counts and the prefix range of every dirty row (pyramid: lazily). */
function rebuildRowPrefix(values: Float32Array, flags: Uint8Array, s: SumThresholdScratch): void {
  const { nTime, nChan, pf, cf, rowFlagged, rowRange, rowDirty } = s;
  const W = nChan + 1;
  for (let t = 0; t < nTime; t++) {
    if (!rowDirty[t]) continue;
    rowDirty[t] = 0;
    const row = t * nChan;
    const pr = t * W;
    let sum = 0, cnt = 0, lo = 0, hi = 0;
    pf[pr] = 0;
    cf[pr] = 0;
    for (let c = 0; c < nChan; c++) {
      if (flags[row + c] === 0) { sum += values[row + c]; cnt++; }
      pf[pr + c + 1] = sum;
      cf[pr + c + 1] = cnt;
      if (sum < lo) lo = sum; else if (sum > hi) hi = sum;
    }
    rowFlagged[t] = nChan - cnt;
    rowRange[t] = hi - lo;
    s.pyrDirty[t] = 1;
  }
}

/** Rebuilds the min/max pyramid of the prefix sums of rows whose prefix changed. */
function rebuildPyramids(s: SumThresholdScratch): void {
  const { nTime, nChan, pf, pyrMin, pyrMax, levelOff, levelLen, pyrStride, pyrDirty } = s;
  const nLevels = levelOff.length - 2;
  const W = nChan + 1;
  for (let t = 0; t < nTime; t++) {
    if (!pyrDirty[t]) continue;
    pyrDirty[t] = 0;
    const pr = t * W;
    const base = t * pyrStride;
    pyramidLevel1(pf, pr, W, pyrMin, pyrMax, base + levelOff[1]);
    for (let k = 2; k <= nLevels; k++) pyramidLevelK(pyrMin, pyrMax, base + levelOff[k - 1], levelLen[k - 1], base + levelOff[k]);
  }
}

/** Min/max of consecutive pairs of src[off .. off+len) into dst (a trailing single is copied). */
function pyramidLevel1(src: Float64Array, off: number, len: number, mn: Float64Array, mx: Float64Array, dst: number): void {
  const half = len >> 1;
  for (let j = 0; j < half; j++) {
    const a = src[off + 2 * j], b = src[off + 2 * j + 1];
    if (a < b) { mn[dst + j] = a; mx[dst + j] = b; } else { mn[dst + j] = b; mx[dst + j] = a; }
  }
  if (len & 1) { const a = src[off + len - 1]; mn[dst + half] = a; mx[dst + half] = a; }
}

/** Next pyramid level: min of minima / max of maxima of consecutive pairs. */
function pyramidLevelK(mn: Float64Array, mx: Float64Array, off: number, len: number, dst: number): void {
  const half = len >> 1;
  for (let j = 0; j < half; j++) {
    const i = off + 2 * j;
    const a = mn[i], b = mn[i + 1], c = mx[i], d = mx[i + 1];
    mn[dst + j] = a < b ? a : b;
    mx[dst + j] = c > d ? c : d;
  }
  if (len & 1) { mn[dst + half] = mn[off + len - 1]; mx[dst + half] = mx[off + len - 1]; }
}

/** Recomputes the column prefix sums/counts along time. */
function rebuildTimePrefix(values: Float32Array, flags: Uint8Array, s: SumThresholdScratch): void {
  const { nTime, nChan, pt, ct, colRange, colMin, colFlagged } = s;
  for (let c = 0; c < nChan; c++) { pt[c] = 0; ct[c] = 0; colRange[c] = 0; colMin[c] = 0; }
  for (let t = 0; t < nTime; t++) {
    const row = t * nChan;
    const b = row + nChan;
    for (let c = 0; c < nChan; c++) {
      const f = flags[row + c] === 0;
      const v = pt[row + c] + (f ? values[row + c] : 0);
      pt[b + c] = v;
      ct[b + c] = ct[row + c] + (f ? 1 : 0);
      // colRange holds the running maximum here, turned into the range below
      if (v < colMin[c]) colMin[c] = v; else if (v > colRange[c]) colRange[c] = v;
    }
  }
  // the range of each column's prefix sum bounds every window sum along time
  const last = nTime * nChan;
  for (let c = 0; c < nChan; c++) {
    colRange[c] -= colMin[c];
    colFlagged[c] = nTime - ct[last + c];
  }
}

/** ORs the trips of a pass into flags and marks the rows that changed as dirty. */
function applyTrips(flags: Uint8Array, s: SumThresholdScratch): void {
  const { nTime, nChan, out, rowTrip, rowDirty } = s;
  for (let t = 0; t < nTime; t++) {
    if (!rowTrip[t]) continue;
    rowTrip[t] = 0;
    rowDirty[t] = 1;
    const row = t * nChan;
    for (let c = 0; c < nChan; c++) {
      if (out[row + c]) {
        flags[row + c] = 1;
        out[row + c] = 0;
        if (!s.colDirty[c]) { s.colDirty[c] = 1; s.dirtyList[s.nDirty++] = c; }
      }
    }
  }
}

function clearDirtyColumns(s: SumThresholdScratch): void {
  const { colDirty, dirtyList } = s;
  for (let i = 0; i < s.nDirty; i++) colDirty[dirtyList[i]] = 0;
  s.nDirty = 0;
}

/** As rebuildTimePrefix for the dirty columns only (strided, so only worth it for a few). */
function rebuildTimePrefixColumns(values: Float32Array, flags: Uint8Array, s: SumThresholdScratch): void {
  const { nTime, nChan, pt, ct, colRange, colFlagged, dirtyList } = s;
  for (let i = 0; i < s.nDirty; i++) {
    const c = dirtyList[i];
    let v = 0, n = 0, lo = 0, hi = 0;
    for (let t = 0; t < nTime; t++) {
      const k = t * nChan + c;
      if (flags[k] === 0) { v += values[k]; n++; }
      pt[k + nChan] = v;
      ct[k + nChan] = n;
      if (v < lo) lo = v; else if (v > hi) hi = v;
    }
    colRange[c] = hi - lo;
    colFlagged[c] = nTime - n;
  }
}
