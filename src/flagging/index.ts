/**
 * RFI and data flagging for DSA-110 measurement-set cubes (time, baseline, frequency, pol).
 *
 * For the `dsa110 flag` command: read DATA/FLAG/ANTENNA1/ANTENNA2/TIME into a Cube (ideally with
 * SharedArrayBuffer-backed DATA and FLAG so that worker threads need no copies), build the steps
 * (defaultStrategy() or parsed modes; ISO times → index ranges for `manual`, TIME in seconds for
 * `quack`), run applyStrategyAsync(cube, steps, (c, o) => flagRfiParallelCount(c, o)), write FLAG
 * back atomically and print flagSummary(). The rfi step needs every timestep of a baseline at once
 * (its windows and background run along time); all other steps are per sample or per timestep,
 * so a memory-bounded command can stream baseline ranges [b0, b1) through flagRfiRange.
 */
export type { Cube, FlagStats, FlagSummary, RfiOptions } from './types.js';
export { MAD_TO_SIGMA, medianMad, robustSigma, rayleighScale, medianInPlace, selectKth } from './stats.js';
export {
  sumThreshold1D, sumThreshold2D, sumThresholdLevel, windowLengths, sumThresholdFreqPass, sumThresholdTimePass,
  SumThresholdScratch,
} from './sumthreshold.js';
export { sirOperator1D, sirOperator2D, sirStrided, SirScratch } from './sir.js';
export { maskedBackground, BackgroundScratch } from './background.js';
export { flagTimestepRms, flagChannelRms } from './rms.js';
export { flagRfi, flagRfiRange, flagPlane, resolveRfiOptions, countFlags, PlaneScratch } from './rfi.js';
export {
  flagReset, flagZeros, flagAutocorr, flagClip, flagManual, flagQuack, flagDeadAntennas, flagMadClip, flagExtend,
  antennaFlagFractions, type ManualSelection, type IndexRange, type ExtendOptions,
} from './modes.js';
export { flagSummary } from './summary.js';
export {
  applyStrategy, applyStrategyAsync, defaultStrategy, FLAG_MODES, type FlagStep, type FlagMode, type StrategyReport,
} from './strategy.js';
export { flagRfiParallel, flagRfiParallelCount, parallelAvailable, type ParallelOptions } from './parallel.js';
