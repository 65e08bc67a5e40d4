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

/** Channels per block of the per-row bounds (see sumThreshold2D); window lengths ≥ BLOCK must
 *  be multiples of it (powers of two are). */
const BLOCK = 8;

/** Reusable scratch for sumThreshold2D (avoids allocations per plane). */
export class SumThresholdScratch {
  readonly nTime: number;
  readonly nChan: number;
  /** Values with flagged samples set to 0, and 1 − flag: window sums/counts without branches. */
  readonly vm: Float32Array;
  readonly w: Uint8Array;
  readonly nBlk: number;
  /**
   * The thresholds of this call, per window length index k (m = 2^k), along time and along
   * frequency (frequency only for m < BLOCK: longer windows use the sum bounds).
   */
  readonly thrT: Float64Array;
  readonly thrF: Float64Array;
  nThrT = 0;
  nThrF = 0;
  /** The smallest of those thresholds: |v| at or below it can open no window. */
  floor = 0;
  /**
   * Per row and block of BLOCK channels: the smallest k with an unflagged |v| > thrF[k] (nThrF if
   * none) — a window of length 2^k can only trip in a block of level ≤ k (its mean cannot exceed
   * its largest member). Levels are found with comparisons against the known thresholds, which
   * are rarely true on noise: far cheaper than running maxima.
   */
  readonly blkLvl: Uint8Array;
  /** Per row and block: Σ|v| and Σv of the unflagged samples, and the number flagged. */
  readonly blkAbs: Float64Array;
  readonly blkSum: Float64Array;
  readonly blkFlag: Int32Array;
  readonly blkDirty: Uint8Array;
  /** Per row: cumulative block sums / flagged counts (nBlk + 1 per row). */
  readonly cumSum: Float64Array;
  readonly cumFlag: Int32Array;
  /**
   * Per row: the least level of its blocks, the max Σ|v| of its blocks, and the spread (max −
   * min) of its cumulative block sums — bounds on every window of the row at once (see freqPass).
   */
  readonly rowLvl: Uint8Array;
  readonly rowAbs: Float64Array;
  readonly rowSpread: Float64Array;
  readonly rowStale: Uint8Array;
  /** Per channel: as blkLvl, along time (against thrT). */
  readonly colLvl: Uint8Array;
  readonly colDirty: Uint8Array;
  readonly dirtyList: Int32Array;
  nDirty = 0;
  anyBlkDirty = false;
  /** Candidate window-start ranges of one row, and the trips of one line, as [from, to] pairs. */
  readonly ranges: Int32Array;
  readonly trips: Int32Array;
  constructor(nTime: number, nChan: number) {
    this.nTime = nTime;
    this.nChan = nChan;
    const n = nTime * nChan;
    this.vm = new Float32Array(n);
    this.w = new Uint8Array(n);
    this.nBlk = Math.ceil(nChan / BLOCK);
    this.thrT = new Float64Array(32);
    this.thrF = new Float64Array(32);
    this.blkLvl = new Uint8Array(nTime * this.nBlk);
    this.blkAbs = new Float64Array(nTime * this.nBlk);
    this.blkSum = new Float64Array(nTime * this.nBlk);
    this.blkFlag = new Int32Array(nTime * this.nBlk);
    this.blkDirty = new Uint8Array(nTime * this.nBlk);
    this.cumSum = new Float64Array(nTime * (this.nBlk + 1));
    this.cumFlag = new Int32Array(nTime * (this.nBlk + 1));
    this.rowLvl = new Uint8Array(nTime);
    this.rowAbs = new Float64Array(nTime);
    this.rowSpread = new Float64Array(nTime);
    this.rowStale = new Uint8Array(nTime);
    this.colLvl = new Uint8Array(nChan);
    this.colDirty = new Uint8Array(nChan);
    this.dirtyList = new Int32Array(nChan);
    this.ranges = new Int32Array(2 * this.nBlk + 2);
    this.trips = new Int32Array(2 * Math.max(nTime, nChan) + 2);
  }
}

/**
 * Full SumThreshold on a [nTime][nChan] plane: for M = 1, 2, 4, … a pass along time then a pass
 * along frequency (AOFlagger's order), each at χ_M. `flags` is the input mask and receives the
 * result (input flags stay set). Windows longer than an axis are skipped on that axis.
 *
 * Same result as running sumThresholdTimePass/sumThresholdFreqPass in turn, but faster:
 *  - a window can only trip if one of its unflagged samples has |v| > χ_M (its mean cannot
 *    exceed its largest member), so only windows touching such a "hot" sample are tested: a
 *    column is skipped when its max |v| ≤ χ_M, a row tests only the window starts that reach a
 *    block of BLOCK channels whose max |v| > χ_M. The maxima are refreshed where flags were added.
 *    At high thresholds (the background-shaping passes) and short windows most of the plane is
 *    skipped; at long windows χ_M is small and rows are scanned whole.
 *  - a line's windows only read that line, so its trips are applied as soon as the line is done
 *    (the other lines of the pass do not see them), with no trip plane to clear.
 *  - sums run over a copy of the values with flagged samples zeroed, counts over 1 − flag.
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
  // the thresholds per window length index k; levels are only needed where max|v| can help
  let nT = 0, nF = 0, floor = Infinity;
  for (let m = 1, k = 0; m <= maxWindow && k < 32; m *= 2, k++) {
    if (doTime && m <= nTime) { s.thrT[k] = sumThresholdLevel(chi1Time, m, growth); nT = k + 1; floor = Math.min(floor, s.thrT[k]); }
    if (doFreq && m <= nChan && m < BLOCK) { s.thrF[k] = sumThresholdLevel(chi1, m, growth); nF = k + 1; floor = Math.min(floor, s.thrF[k]); }
  }
  s.nThrT = nT;
  s.nThrF = nF;
  s.floor = floor;
  initScratch(values, flags, s);
  const longest = Math.max(doTime ? nTime : 0, doFreq ? nChan : 0);
  for (let m = 1, k = 0; m <= maxWindow && m <= longest; m *= 2, k++) {
    if (doTime && m <= nTime) {
      if (s.nDirty > 0) refreshColumns(s);
      timePass(flags, s, m, k, s.thrT[k]);
    }
    // the length-1 test along frequency repeats the one just done along time
    if (doFreq && m <= nChan && !(m === 1 && doTime && chi1Time === chi1)) {
      if (s.anyBlkDirty) refreshBlocks(s);
      freqPass(flags, s, m, k, sumThresholdLevel(chi1, m, growth));
    }
  }
}

// The helpers below are top-level functions on purpose: closures over the hot arrays would force
// V8 to keep those arrays in context slots and slow every inner loop several-fold.

/**
 * The level of |v| against descending thresholds thr[0 … n): the smallest k with a > thr[k], or n.
 * Called only for the rare |v| above the smallest threshold.
 */
function levelOf(a: number, thr: Float64Array, n: number): number {
  for (let k = 0; k < n; k++) if (a > thr[k]) return k;
  return n;
}

/** vm, w and the block / column bounds for a new plane (one pass). */
function initScratch(values: Float32Array, flags: Uint8Array, s: SumThresholdScratch): void {
  const { nTime, nChan, vm, w, nBlk, colLvl, blkLvl, blkAbs, blkSum, blkFlag, thrT, thrF, nThrT, nThrF, floor } = s;
  colLvl.fill(nThrT);
  for (let t = 0; t < nTime; t++) {
    const row = t * nChan;
    for (let j = 0; j < nBlk; j++) {
      const c0 = j * BLOCK;
      const c1 = c0 + BLOCK < nChan ? c0 + BLOCK : nChan;
      let lv = nThrF, ab = 0, sm = 0, nf = 0;
      for (let c = c0; c < c1; c++) {
        const k = row + c;
        const f = flags[k] === 0;
        const v = f ? values[k] : 0;
        vm[k] = v;
        w[k] = f ? 1 : 0;
        nf += f ? 0 : 1;
        const a = Math.abs(v);
        ab += a;
        sm += v;
        if (a > floor) {
          // rare on noise (the branch is well predicted): the levels this sample opens
          const lf = levelOf(a, thrF, nThrF);
          if (lf < lv) lv = lf;
          const lt = levelOf(a, thrT, nThrT);
          if (lt < colLvl[c]) colLvl[c] = lt;
        }
      }
      const bi = t * nBlk + j;
      blkLvl[bi] = lv;
      blkAbs[bi] = ab;
      blkSum[bi] = sm;
      blkFlag[bi] = nf;
    }
    rowCumulative(s, t);
  }
  s.blkDirty.fill(0);
  s.anyBlkDirty = false;
  for (let i = 0; i < s.nDirty; i++) s.colDirty[s.dirtyList[i]] = 0;
  s.nDirty = 0;
}

/** The cumulative block sums / flagged counts of row t, and its row-wide bounds. */
function rowCumulative(s: SumThresholdScratch, t: number): void {
  const { nBlk, blkSum, blkFlag, blkLvl, cumSum, cumFlag } = s;
  const bo = t * nBlk;
  const co = t * (nBlk + 1);
  let a = 0, f = 0, lv = s.nThrF;
  cumSum[co] = 0;
  cumFlag[co] = 0;
  for (let j = 0; j < nBlk; j++) {
    a += blkSum[bo + j];
    f += blkFlag[bo + j];
    cumSum[co + j + 1] = a;
    cumFlag[co + j + 1] = f;
    const l = blkLvl[bo + j];
    if (l < lv) lv = l;
  }
  s.rowLvl[t] = lv;
  // the row's sum bound is needed only by long windows, and often not at all: computed on demand
  s.rowStale[t] = 1;
}

/** Row t's max block Σ|v| and the spread of its cumulative sums (see freqPass). */
function rowSumBound(s: SumThresholdScratch, t: number): void {
  const { nBlk, blkAbs, cumSum } = s;
  const bo = t * nBlk;
  const co = t * (nBlk + 1);
  let lo = 0, hi = 0, ab = 0;
  for (let j = 0; j < nBlk; j++) {
    const a = cumSum[co + j + 1];
    lo = Math.min(lo, a);
    hi = Math.max(hi, a);
    ab = Math.max(ab, blkAbs[bo + j]);
  }
  s.rowAbs[t] = ab;
  s.rowSpread[t] = hi - lo;
  s.rowStale[t] = 0;
}

/** Level, Σ|v|, Σv and flagged count of block j of row t. */
function blockStats(s: SumThresholdScratch, t: number, j: number): void {
  const { nChan, vm, w, nBlk, blkLvl, blkAbs, blkSum, blkFlag, thrF, nThrF, floor } = s;
  // (levelOf of the block's max |v| is the least level of its samples: levels fall as |v| grows)
  const row = t * nChan;
  const e = row + (j * BLOCK + BLOCK < nChan ? j * BLOCK + BLOCK : nChan);
  let mx = 0, ab = 0, sm = 0, nf = 0;
  for (let k = row + j * BLOCK; k < e; k++) {
    const v = vm[k];
    const a = Math.abs(v);
    // a block touched by trips is often near RFI, where many samples pass the thresholds: a
    // branch-free running maximum, then one level, beats a level per sample here
    mx = Math.max(mx, a);
    ab += a;
    sm += v;
    nf += 1 - w[k];
  }
  const b = t * nBlk + j;
  blkLvl[b] = mx > floor ? levelOf(mx, thrF, nThrF) : nThrF;
  blkAbs[b] = ab;
  blkSum[b] = sm;
  blkFlag[b] = nf;
}

/** Flags samples [a, b) of line `off + k·stride`; marks the touched blocks and columns dirty. */
function applyTrips(flags: Uint8Array, s: SumThresholdScratch, nTrips: number, off: number, stride: number): void {
  const { vm, w, trips, nChan, nBlk, blkDirty, colDirty, dirtyList } = s;
  for (let q = 0; q < nTrips; q++) {
    for (let k = trips[2 * q], e = trips[2 * q + 1]; k < e; k++) {
      const i = off + k * stride;
      if (w[i] === 0) continue;
      w[i] = 0;
      vm[i] = 0;
      flags[i] = 1;
      const t = (i / nChan) | 0;
      const c = i - t * nChan;
      blkDirty[t * nBlk + ((c / BLOCK) | 0)] = 1;
      if (colDirty[c] === 0) { colDirty[c] = 1; dirtyList[s.nDirty++] = c; }
    }
  }
  s.anyBlkDirty = true;
}

function refreshBlocks(s: SumThresholdScratch): void {
  const { nTime, nBlk, blkDirty } = s;
  for (let t = 0; t < nTime; t++) {
    let changed = false;
    for (let j = 0; j < nBlk; j++) {
      if (blkDirty[t * nBlk + j] === 0) continue;
      blkDirty[t * nBlk + j] = 0;
      blockStats(s, t, j);
      changed = true;
    }
    if (changed) rowCumulative(s, t);
  }
  s.anyBlkDirty = false;
}

function refreshColumns(s: SumThresholdScratch): void {
  const { nTime, nChan, vm, colLvl, colDirty, dirtyList, thrT, nThrT, floor } = s;
  for (let i = 0; i < s.nDirty; i++) {
    const c = dirtyList[i];
    colDirty[c] = 0;
    let mx = 0;
    for (let k = c, e = nTime * nChan; k < e; k += nChan) mx = Math.max(mx, Math.abs(vm[k]));
    colLvl[c] = mx > floor ? levelOf(mx, thrT, nThrT) : nThrT;
  }
  s.nDirty = 0;
}

/** Windows of length m = 2^k along time in every column with an unflagged |v| > thr (level ≤ k). */
function timePass(flags: Uint8Array, s: SumThresholdScratch, m: number, k0: number, thr: number): void {
  const { nTime, nChan, vm, w, colLvl, trips } = s;
  for (let c = 0; c < nChan; c++) {
    if (colLvl[c] > k0) continue;
    let sum = 0;
    let cnt = 0;
    let k = c;
    for (let t = 0; t < m - 1; t++, k += nChan) { sum += vm[k]; cnt += w[k]; }
    let mark = 0;
    let nTrips = 0;
    let kl = c;
    for (let l = 0, r = m - 1; r < nTime; l++, r++, k += nChan, kl += nChan) {
      sum += vm[k];
      cnt += w[k];
      // cnt > 0: a window of flagged samples never trips (and round-off may leave sum ≠ 0)
      if (cnt > 0 && Math.abs(sum) > thr * cnt) {
        const from = l > mark ? l : mark;
        if (nTrips > 0 && trips[2 * nTrips - 1] === from) trips[2 * nTrips - 1] = r + 1;
        else { trips[2 * nTrips] = from; trips[2 * nTrips + 1] = r + 1; nTrips++; }
        mark = r + 1;
      }
      sum -= vm[kl];
      cnt -= w[kl];
    }
    if (nTrips > 0) applyTrips(flags, s, nTrips, c, nChan);
  }
}

/**
 * Windows of length m along frequency, by blocks of BLOCK window starts that the bounds do not
 * rule out. For m < BLOCK: the windows starting in block j lie in blocks j, j + 1, so they need
 * an unflagged |v| > thr there. For m ≥ BLOCK (a multiple of it): such a window is a tail of
 * block j, the whole blocks j+1 … j+m/BLOCK−1 and a head of block j+m/BLOCK, so
 * |Σ| ≤ Σ|v|(j) + |Σ middle blocks| + Σ|v|(j+m/BLOCK). On noise Σ|v| of a block grows as BLOCK
 * and the middle as √m while χ_m·m grows as m^0.585: from m = 16 on nearly every block is skipped.
 */
function freqPass(flags: Uint8Array, s: SumThresholdScratch, m: number, k0: number, thr: number): void {
  const { nTime, nChan, vm, w, nBlk, blkLvl, blkAbs, cumSum, cumFlag, ranges, trips } = s;
  const { rowLvl, rowAbs, rowSpread } = s;
  const lastStart = nChan - m;
  const span = (m / BLOCK) | 0;
  for (let t = 0; t < nTime; t++) {
    const bo = t * nBlk;
    const co = t * (nBlk + 1);
    // the whole row at once: no window mean exceeds the row's max |v|; for m ≥ BLOCK the block
    // bound below is at most twice the largest block Σ|v| plus the spread of the cumulative sums
    if (span === 0 && rowLvl[t] > k0) continue;
    if (span > 0) {
      const rowCnt = m - cumFlag[co + nBlk];
      if (rowCnt > 0) {
        if (s.rowStale[t] !== 0) rowSumBound(s, t);
        if (2 * rowAbs[t] + rowSpread[t] <= thr * rowCnt) continue;
      }
    }
    let nR = 0;
    for (let j = 0; j * BLOCK <= lastStart; j++) {
      const l0 = j * BLOCK;
      const l1 = l0 + BLOCK - 1 < lastStart ? l0 + BLOCK - 1 : lastStart;
      // samples [l0, l1 + m) lie in blocks j … jb
      const jb = ((l1 + m - 1) / BLOCK) | 0;
      const minCnt = m - (cumFlag[co + jb + 1] - cumFlag[co + j]);
      if (span === 0) {
        if (blkLvl[bo + j] > k0 && blkLvl[bo + jb] > k0) continue;
      } else if (minCnt > 0) {
        const je = j + span;
        const bound = blkAbs[bo + j] + Math.abs(cumSum[co + je] - cumSum[co + j + 1]) + (je < nBlk ? blkAbs[bo + je] : 0);
        if (bound <= thr * minCnt) continue;
      }
      if (nR > 0 && l0 <= ranges[2 * nR - 1] + 1) ranges[2 * nR - 1] = l1;
      else { ranges[2 * nR] = l0; ranges[2 * nR + 1] = l1; nR++; }
    }
    if (nR === 0) continue;
    const row = t * nChan;
    let mark = 0;
    let nTrips = 0;
    for (let q = 0; q < nR; q++) {
      const l0 = row + ranges[2 * q];
      const l1 = row + ranges[2 * q + 1];
      let sum = 0;
      let cnt = 0;
      for (let k = l0; k < l0 + m - 1; k++) { sum += vm[k]; cnt += w[k]; }
      for (let l = l0, r = l0 + m - 1; l <= l1; l++, r++) {
        sum += vm[r];
        cnt += w[r];
        if (cnt > 0 && Math.abs(sum) > thr * cnt) {
          const from = l - row > mark ? l - row : mark;
          if (nTrips > 0 && trips[2 * nTrips - 1] === from) trips[2 * nTrips - 1] = r - row + 1;
          else { trips[2 * nTrips] = from; trips[2 * nTrips + 1] = r - row + 1; nTrips++; }
          mark = r - row + 1;
        }
        sum -= vm[l];
        cnt -= w[l];
      }
    }
    if (nTrips > 0) applyTrips(flags, s, nTrips, row, 1);
  }
}
