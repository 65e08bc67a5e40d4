/**
 * The standard calibrator sequence, for the `calibrate` command (on one in-memory group):
 *   refant (auto unless given) → K → BP (K removed) → G (K and BP applied; `mode`, `solint`).
 * Optionally (`preBandpassSolint`) a short-interval phase-only G is solved after K and removed
 * before the bandpass, CASA style, so that strong gain drifts during the transit stay out of
 * the bandpass shape; it costs one more pass over the data.
 * Commands that stream time chunks call the *Sums / *FromSums functions of each module instead.
 */
import { bandpassFromSums, solveBandpass } from './bandpass.js';
import { delaysFromSums, solveDelays } from './delay.js';
import { gainsFromSums, prepareGainSums, solveGains } from './gains.js';
import { accumulateSumsParallel, createSumsFor, isShared, runAccumulateKernel } from './parallel.js';
import { antennaChanGains } from './sums.js';
import { calTableQa, type CalQa, type QaLimits } from './qa.js';
import { chooseRefant, refantStats } from './refant.js';
import type { BandpassTable, DelayTable, GainMode, GainTable, SolInt, VisChunk } from './types.js';

export interface CalibratorSolveOptions {
  /** Reference antenna index; chosen automatically when absent. */
  refant?: number;
  /** Antenna positions [ant, xyz] metres, for the automatic refant choice. */
  antennaPositions?: Float64Array;
  /** Final G mode (default 'ap') and interval (default 'inf'). */
  mode?: GainMode;
  solint?: SolInt;
  /** Interval of a phase-only G removed before the bandpass (default: none). */
  preBandpassSolint?: SolInt;
  minSnr?: number;
  qaLimits?: QaLimits;
}

export interface CalibratorSolution {
  refant: number;
  delays: DelayTable;
  bandpass: BandpassTable;
  gains: GainTable;
  qa: { delays: CalQa; bandpass: CalQa; gains: CalQa };
  passes: boolean;
}

export function solveCalibrator(chunk: VisChunk, opts: CalibratorSolveOptions = {}): CalibratorSolution {
  const refant = opts.refant ?? chooseRefant(refantStats(chunk), opts.antennaPositions).refant;
  const minSnr = opts.minSnr ?? 3;
  const delays = solveDelays(chunk, { refant, minSnr });
  const pre = opts.preBandpassSolint !== undefined
    ? solveGains(chunk, { refant, delays, mode: 'p', solint: opts.preBandpassSolint, minSnr })
    : undefined;
  const bandpass = solveBandpass(chunk, { refant, delays, gains: pre, minSnr });
  const gains = solveGains(chunk, { refant, delays, bandpass, mode: opts.mode ?? 'ap', solint: opts.solint ?? 'inf', minSnr });
  const qa = {
    delays: calTableQa(delays, opts.qaLimits),
    bandpass: calTableQa(bandpass, opts.qaLimits),
    gains: calTableQa(gains, opts.qaLimits),
  };
  return { refant, delays, bandpass, gains, qa, passes: qa.delays.passes && qa.bandpass.passes && qa.gains.passes };
}

/**
 * solveCalibrator with the full-data passes on `threads` worker threads (default 2). Needs the
 * chunk's data, model, flag and weight in SharedArrayBuffers (see parallel.ts sharedCopy);
 * otherwise it runs like solveCalibrator. Same numerics, same results.
 */
export async function solveCalibratorParallel(
  chunk: VisChunk, opts: CalibratorSolveOptions & { threads?: number } = {},
): Promise<CalibratorSolution> {
  const threads = opts.threads ?? 2;
  const par = threads > 1 && isShared(chunk.data) && isShared(chunk.flag) && isShared(chunk.model ?? null);
  const th = par ? threads : 1;
  const refant = opts.refant ?? chooseRefant(refantStats(chunk), opts.antennaPositions).refant;
  const minSnr = opts.minSnr ?? 3;
  const kSums = createSumsFor(chunk, chunk.nChan, th);
  await accumulateSumsParallel(chunk, kSums, {}, th);
  const delays = delaysFromSums(kSums, chunk.freqHz, { refant, minSnr });
  const gSolve = async (o: { mode: GainMode; solint: SolInt; bandpass?: BandpassTable }) => {
    const { views, args } = prepareGainSums(chunk, { delays, bandpass: o.bandpass, solint: o.solint }, th > 1);
    await runAccumulateKernel(args, th);
    return gainsFromSums(views, chunk.nAnt, { refant, delays, bandpass: o.bandpass, mode: o.mode, solint: o.solint, minSnr });
  };
  const pre = opts.preBandpassSolint !== undefined ? await gSolve({ mode: 'p', solint: opts.preBandpassSolint }) : undefined;
  const bSums = createSumsFor(chunk, chunk.nChan, th);
  await accumulateSumsParallel(chunk, bSums, { pre: antennaChanGains(chunk.nAnt, chunk.freqHz, chunk.nPol, delays), preGains: pre }, th);
  const bandpass = bandpassFromSums(bSums, chunk.freqHz, { refant, delays, gains: pre, minSnr });
  const gains = await gSolve({ mode: opts.mode ?? 'ap', solint: opts.solint ?? 'inf', bandpass });
  const qa = {
    delays: calTableQa(delays, opts.qaLimits),
    bandpass: calTableQa(bandpass, opts.qaLimits),
    gains: calTableQa(gains, opts.qaLimits),
  };
  return { refant, delays, bandpass, gains, qa, passes: qa.delays.passes && qa.bandpass.passes && qa.gains.passes };
}
