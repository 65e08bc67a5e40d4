/**
 * Complex gain (G) solutions: StEFCal per antenna and pol per solution interval on
 * channel-averaged sums, after applying K and BP to the model (equivalent to correcting the
 * data). Phase-only ('p', the default) or amplitude and phase ('ap'). Phases referenced to refant.
 */
import { DsaError, UsageError } from '../util/errors.js';
import { solveCells } from './cells.js';
import { accumulateKernel, antennaChanGains, createSums, prepareAccumulate, type BaselineSums, type KernelArgs } from './sums.js';
import type { BandpassTable, DelayTable, GainMode, GainTable, SolInt, VisChunk } from './types.js';

export interface GainOptions {
  refant: number;
  mode?: GainMode;
  solint?: SolInt;
  delays?: DelayTable;
  bandpass?: BandpassTable;
  minSnr?: number;
  tol?: number;
  maxIter?: number;
}

/** Parse a CASA-like solint: "inf", "int", "60s", "2min", or a number of seconds. */
export function parseSolint(text: string | number): SolInt {
  if (typeof text === 'number') {
    if (!(text > 0)) throw new UsageError(`solution interval must be positive, got ${text}`);
    return text;
  }
  const t = text.trim().toLowerCase();
  if (t === 'inf' || t === 'int') return t;
  const m = /^([0-9]*\.?[0-9]+)\s*(s|sec|min|m|h)?$/.exec(t);
  if (!m) throw new UsageError(`bad solution interval "${text}" (use inf, int, <seconds>s or <minutes>min)`);
  const v = parseFloat(m[1]);
  const unit = m[2] ?? 's';
  const sec = unit === 'h' ? v * 3600 : unit === 'min' || unit === 'm' ? v * 60 : v;
  if (!(sec > 0)) throw new UsageError(`solution interval must be positive, got "${text}"`);
  return sec;
}

/**
 * Assign each integration to a solution interval. Intervals of `solint` seconds are counted from
 * the first integration; returns the interval index per time and the number of intervals.
 */
export function solutionIntervals(timeMjdSec: Float64Array, solint: SolInt): { index: Int32Array; count: number } {
  const n = timeMjdSec.length;
  const index = new Int32Array(n);
  if (n === 0) return { index, count: 0 };
  if (solint === 'inf') return { index, count: 1 };
  if (solint === 'int') {
    for (let t = 0; t < n; t++) index[t] = t;
    return { index, count: n };
  }
  // Tolerance of 1 % of an interval so integrations at exact multiples do not split.
  let count = 0;
  let start = timeMjdSec[0];
  for (let t = 0; t < n; t++) {
    if (t > 0 && timeMjdSec[t] - start >= solint * 0.99) {
      count++;
      start = timeMjdSec[t];
    }
    index[t] = count;
  }
  return { index, count: count + 1 };
}

/** Sums (channel-averaged) per solution interval for a G solve: one pass over the data. */
export function gainSums(chunk: VisChunk, opts: Pick<GainOptions, 'delays' | 'bandpass' | 'solint'>): BaselineSums[] {
  const { views, args } = prepareGainSums(chunk, opts, false);
  accumulateKernel(...args);
  return views;
}

/**
 * Shared set-up of a G sums pass: interval assignment, one [interval, bl, pol] block of sums
 * (SharedArrayBuffer-backed when `shared`), per-interval views, and the kernel arguments.
 */
export function prepareGainSums(
  chunk: VisChunk, opts: Pick<GainOptions, 'delays' | 'bandpass' | 'solint'>, shared: boolean,
): { views: BaselineSums[]; args: KernelArgs } {
  const { index, count } = solutionIntervals(chunk.timeMjdSec, opts.solint ?? 'inf');
  const pre = opts.delays || opts.bandpass
    ? antennaChanGains(chunk.nAnt, chunk.freqHz, chunk.nPol, opts.delays, opts.bandpass)
    : undefined;
  const { nBl, nPol } = chunk;
  const all = createSums(chunk.nAnt, chunk.ant1, chunk.ant2, count, nPol, shared); // sized count·nBl·nPol
  const per = nBl * nPol;
  const views: BaselineSums[] = [];
  for (let s = 0; s < count; s++) {
    const v: BaselineSums = {
      nAnt: chunk.nAnt, nBl, nChan: 1, nPol, ant1: chunk.ant1, ant2: chunk.ant2,
      xy: all.xy.subarray(2 * s * per, 2 * (s + 1) * per), mm: all.mm.subarray(s * per, (s + 1) * per),
      vv: all.vv.subarray(s * per, (s + 1) * per), n: all.n.subarray(s * per, (s + 1) * per),
      timeSum: 0, timeCount: 0,
    };
    views.push(v);
  }
  for (let t = 0; t < chunk.nTime; t++) {
    views[index[t]].timeSum += chunk.timeMjdSec[t];
    views[index[t]].timeCount++;
  }
  // The kernel writes [interval, bl, pol]; give it a 1-channel sums header over the whole block.
  const header: BaselineSums = { ...all, nChan: 1 };
  const args = prepareAccumulate(chunk, header, { pre, intervalIndex: index });
  return { views, args };
}

export function solveGains(chunk: VisChunk, opts: GainOptions): GainTable {
  return gainsFromSums(gainSums(chunk, opts), chunk.nAnt, opts);
}

export function gainsFromSums(intervals: BaselineSums[], nAnt: number, opts: GainOptions): GainTable {
  if (intervals.length === 0) throw new DsaError('gain solve: no integrations');
  if (opts.refant < 0 || opts.refant >= nAnt) throw new DsaError(`gain solve: refant ${opts.refant} out of range 0..${nAnt - 1}`);
  const nPol = intervals[0].nPol;
  const nTime = intervals.length;
  const mode = opts.mode ?? 'p';
  const gain = new Float32Array(2 * nTime * nAnt * nPol);
  const flag = new Uint8Array(nTime * nAnt * nPol);
  const snr = new Float32Array(nTime * nAnt * nPol);
  const timeMjdSec = new Float64Array(nTime);
  let anyData = false;
  for (let s = 0; s < nTime; s++) {
    const sums = intervals[s];
    timeMjdSec[s] = sums.timeCount > 0 ? sums.timeSum / sums.timeCount : NaN;
    const cells = solveCells(sums, {
      refant: opts.refant, phaseOnly: mode === 'p', minSnr: opts.minSnr ?? 3, tol: opts.tol, maxIter: opts.maxIter,
    });
    // cells layout [chan=1, ant, pol] equals [ant, pol] for this interval.
    const off = s * nAnt * nPol;
    for (let k = 0; k < nAnt * nPol; k++) {
      const f = cells.flag[k];
      if (!f) anyData = true;
      flag[off + k] = f;
      snr[off + k] = cells.snr[k];
      gain[2 * (off + k)] = f ? 1 : cells.gain[2 * k];
      gain[2 * (off + k) + 1] = f ? 0 : cells.gain[2 * k + 1];
    }
  }
  if (!anyData) throw new DsaError('gain solve: every solution is flagged (all data flagged, or refant without data?)');
  return { type: 'G', nTime, nAnt, nPol, timeMjdSec, gain, flag, snr, refant: opts.refant, mode, solint: opts.solint ?? 'inf' };
}
