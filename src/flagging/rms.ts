/**
 * Statistical selection of whole timesteps and channels of a [nTime][nChan] plane by the RMS of
 * their unflagged samples (AOFlagger's threshold_timestep_rms / threshold_channel_rms).
 */
import { MAD_TO_SIGMA, medianInPlace } from './stats.js';
import type { FlagKernels } from './wasm.js';

/**
 * Flags (in maskOut) every timestep whose RMS over unflagged channels (per maskIn) deviates from
 * the median timestep RMS by more than sigma·σ, with σ the RMS deviation of the remaining
 * timesteps; repeats until nothing changes. `buf` length ≥ nTime (scratch).
 */
export function flagTimestepRms(
  values: Float32Array, maskIn: Uint8Array, maskOut: Uint8Array,
  nTime: number, nChan: number, sigma: number, buf: Float64Array, used: Uint8Array, robust = true,
): number {
  if (!(sigma > 0)) return 0;
  for (let t = 0; t < nTime; t++) {
    let s = 0;
    let n = 0;
    const row = t * nChan;
    for (let c = 0; c < nChan; c++) {
      if (maskIn[row + c] === 0) { const v = values[row + c]; s += v * v; n++; }
    }
    buf[t] = n > 0 ? Math.sqrt(s / n) : 0;
    used[t] = n > 0 ? 1 : 0;
  }
  return rejectOutliers(buf, used, nTime, sigma, robust, (t) => maskOut.fill(1, t * nChan, (t + 1) * nChan));
}

/** As flagTimestepRms, for channels (RMS over unflagged timesteps). */
export function flagChannelRms(
  values: Float32Array, maskIn: Uint8Array, maskOut: Uint8Array,
  nTime: number, nChan: number, sigma: number, buf: Float64Array, used: Uint8Array, cnt: Int32Array, robust = true,
): number {
  if (!(sigma > 0)) return 0;
  buf.fill(0, 0, nChan);
  cnt.fill(0, 0, nChan);
  for (let t = 0; t < nTime; t++) {
    const row = t * nChan;
    for (let c = 0; c < nChan; c++) {
      if (maskIn[row + c] === 0) { const v = values[row + c]; buf[c] += v * v; cnt[c]++; }
    }
  }
  for (let c = 0; c < nChan; c++) {
    used[c] = cnt[c] > 0 ? 1 : 0;
    buf[c] = cnt[c] > 0 ? Math.sqrt(buf[c] / cnt[c]) : 0;
  }
  return rejectOutliers(buf, used, nChan, sigma, robust, (c) => {
    for (let t = 0; t < nTime; t++) maskOut[t * nChan + c] = 1;
  });
}

/**
 * flagTimestepRms and flagChannelRms on the same maskIn in one pass over the plane (the row and
 * column sums of squares are gathered together). Same result as calling them in turn.
 * `tBuf`/`tUsed` ≥ nTime, `cBuf`/`cUsed`/`cCnt` ≥ nChan.
 */
export function flagTimestepChannelRms(
  values: Float32Array, maskIn: Uint8Array, maskOut: Uint8Array, nTime: number, nChan: number,
  timeSigma: number, channelSigma: number, timeRobust: boolean, channelRobust: boolean,
  tBuf: Float64Array, tUsed: Uint8Array, cBuf: Float64Array, cUsed: Uint8Array, cCnt: Int32Array,
  kernels?: FlagKernels,
): number {
  // the sums in SIMD when values / maskIn live in the kernels' memory (same sums, same order)
  if (kernels === undefined || values !== kernels.resid || !kernels.rmsOf(maskIn, tBuf, tUsed, cBuf, cUsed)) {
    rmsSums(values, maskIn, nTime, nChan, tBuf, tUsed, cBuf, cUsed, cCnt);
  }
  let r = 0;
  if (timeSigma > 0) r += rejectOutliers(tBuf, tUsed, nTime, timeSigma, timeRobust, (t) => maskOut.fill(1, t * nChan, (t + 1) * nChan));
  if (channelSigma > 0) {
    r += rejectOutliers(cBuf, cUsed, nChan, channelSigma, channelRobust, (c) => {
      for (let t = 0; t < nTime; t++) maskOut[t * nChan + c] = 1;
    });
  }
  return r;
}

/** The RMS per timestep and per channel of the unmasked values (flagTimestepChannelRms). */
function rmsSums(
  values: Float32Array, maskIn: Uint8Array, nTime: number, nChan: number,
  tBuf: Float64Array, tUsed: Uint8Array, cBuf: Float64Array, cUsed: Uint8Array, cCnt: Int32Array,
): void {
  cBuf.fill(0, 0, nChan);
  cCnt.fill(0, 0, nChan);
  for (let t = 0; t < nTime; t++) {
    const row = t * nChan;
    let s = 0;
    let n = 0;
    for (let c = 0; c < nChan; c++) {
      if (maskIn[row + c] === 0) {
        const v = values[row + c];
        const q = v * v;
        s += q;
        n++;
        cBuf[c] += q;
        cCnt[c]++;
      }
    }
    tBuf[t] = n > 0 ? Math.sqrt(s / n) : 0;
    tUsed[t] = n > 0 ? 1 : 0;
  }
  for (let c = 0; c < nChan; c++) {
    cUsed[c] = cCnt[c] > 0 ? 1 : 0;
    cBuf[c] = cCnt[c] > 0 ? Math.sqrt(cBuf[c] / cCnt[c]) : 0;
  }
}

/**
 * Iterative two-sided rejection about the median. With `robust`, σ = 1.4826·MAD so that a few
 * strong outliers cannot hide each other by inflating σ (on a 24-step time axis two bad
 * timesteps mask each other otherwise); without, σ is the RMS deviation from the median
 * (AOFlagger's rule), which is more tolerant of a skewed distribution of RMS values. Returns how
 * many entries were rejected and calls `reject(i)` for each; `used` marks valid entries.
 */
let rejectScratch = new Float64Array(1024);

function rejectOutliers(x: Float64Array, used: Uint8Array, n: number, sigma: number, robust: boolean, reject: (i: number) => void): number {
  // module scratch (grown on demand): this runs several times per plane, millions of times a group
  if (rejectScratch.length < n) rejectScratch = new Float64Array(n);
  const tmp = rejectScratch;
  let rejected = 0;
  for (;;) {
    let m = 0;
    for (let i = 0; i < n; i++) if (used[i]) tmp[m++] = x[i];
    if (m < 4) return rejected;
    const med = medianInPlace(tmp, m);
    let sd: number;
    if (robust) {
      for (let i = 0; i < m; i++) tmp[i] = Math.abs(tmp[i] - med);
      sd = MAD_TO_SIGMA * medianInPlace(tmp, m);
    } else {
      let ss = 0;
      for (let i = 0; i < n; i++) if (used[i]) { const d = x[i] - med; ss += d * d; }
      sd = Math.sqrt(ss / m);
    }
    // a floor keeps a perfectly flat row of RMS values from rejecting round-off differences
    const lim = sigma * Math.max(sd, 1e-6 * Math.abs(med));
    let changed = false;
    for (let i = 0; i < n; i++) {
      if (used[i] && Math.abs(x[i] - med) > lim) { used[i] = 0; reject(i); rejected++; changed = true; }
    }
    if (!changed) return rejected;
  }
}
