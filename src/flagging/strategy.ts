/**
 * Flagging strategies: an ordered list of steps applied to a cube in place.
 *
 * The DSA-110 default is zeros → rfi → extend. Autocorrelations are NOT flagged by default: the
 * imager and calibrator use cross-correlations only, and the autos stay available (unflagged) for
 * bandpass/health diagnostics; add an `autocorr` step to flag them.
 */
import type { Cube, FlagStats, RfiOptions } from './types.js';
import {
  flagAutocorr, flagClip, flagDeadAntennas, flagExtend, flagMadClip, flagManual, flagQuack,
  flagReset, flagZeros, type ExtendOptions, type ManualSelection,
} from './modes.js';
import { countFlags, flagRfiRange, resolveRfiOptions } from './rfi.js';
import { UsageError } from '../util/errors.js';

export type FlagStep =
  | { mode: 'reset' }
  | { mode: 'zeros' }
  | { mode: 'autocorr' }
  | { mode: 'clip'; min: number; max: number }
  | ({ mode: 'manual' } & ManualSelection)
  | { mode: 'quack'; seconds: number; times?: Float64Array }
  | { mode: 'deadAntennas'; fraction: number }
  | ({ mode: 'rfi' } & RfiOptions)
  | { mode: 'madClip'; nSigma: number }
  | ({ mode: 'extend' } & ExtendOptions);

export type FlagMode = FlagStep['mode'];

export const FLAG_MODES: readonly FlagMode[] = [
  'reset', 'zeros', 'autocorr', 'clip', 'manual', 'quack', 'deadAntennas', 'rfi', 'madClip', 'extend',
];

/** The DSA-110 default strategy. */
export function defaultStrategy(rfi: RfiOptions = {}, extend: ExtendOptions = {}): FlagStep[] {
  return [{ mode: 'zeros' }, { mode: 'rfi', ...rfi }, { mode: 'extend', ...extend }];
}

export interface StepReport extends FlagStats {
  mode: FlagMode;
}

export interface StrategyReport extends FlagStats {
  steps: StepReport[];
}

/**
 * Hook for running the rfi step elsewhere (e.g. worker threads, see parallel.ts). It must OR the
 * RFI flags into cube.flags and return the number of newly flagged samples.
 */
export type RfiRunner = (cube: Cube, opts: RfiOptions, zerosFirst?: { count: number }) => number | Promise<number>;

function checkCube(cube: Cube): void {
  const n = cube.nTime * cube.nBl * cube.nChan * cube.nPol;
  if (cube.flags.length !== n) throw new UsageError(`flag cube: FLAG has ${cube.flags.length} samples, expected ${n}`);
  if (cube.data.length !== 2 * n) throw new UsageError(`flag cube: DATA has ${cube.data.length / 2} samples, expected ${n}`);
  if (cube.ant1.length !== cube.nBl || cube.ant2.length !== cube.nBl) throw new UsageError(`flag cube: ANTENNA1/2 must have ${cube.nBl} entries`);
}

function runStep(cube: Cube, s: FlagStep): number {
  switch (s.mode) {
    case 'reset': return -flagReset(cube);
    case 'zeros': return flagZeros(cube);
    case 'autocorr': return flagAutocorr(cube);
    case 'clip': return flagClip(cube, s.min, s.max);
    case 'manual': return flagManual(cube, s);
    case 'quack': return flagQuack(cube, s.seconds, s.times ?? cube.times);
    case 'deadAntennas': return flagDeadAntennas(cube, s.fraction);
    case 'rfi': return flagRfiRange(cube, resolveRfiOptions(s));
    case 'madClip': return flagMadClip(cube, s.nSigma);
    case 'extend': return flagExtend(cube, s);
    default: {
      const never: never = s;
      throw new UsageError(`unknown flag mode ${(never as { mode: string }).mode}`);
    }
  }
}

/** Applies the steps in order, in place on cube.flags (single thread). */
export function applyStrategy(cube: Cube, steps: readonly FlagStep[]): StrategyReport {
  checkCube(cube);
  const t0 = performance.now();
  const before = countFlags(cube.flags);
  let flagged = before;
  const reports: StepReport[] = [];
  for (const s of steps) {
    const ts = performance.now();
    const d = runStep(cube, s);
    flagged += d;
    reports.push({ mode: s.mode, total: cube.flags.length, flagged, newlyFlagged: d, seconds: (performance.now() - ts) / 1000 });
  }
  return { total: cube.flags.length, flagged, newlyFlagged: flagged - before, seconds: (performance.now() - t0) / 1000, steps: reports };
}

/** As applyStrategy, with the rfi step delegated to `rfiRunner` (e.g. flagRfiParallel). */
export async function applyStrategyAsync(cube: Cube, steps: readonly FlagStep[], rfiRunner: RfiRunner, fuseZeros = false): Promise<StrategyReport> {
  checkCube(cube);
  const t0 = performance.now();
  const before = countFlags(cube.flags);
  let flagged = before;
  const reports: StepReport[] = [];
  for (let k = 0; k < steps.length; k++) {
    const s = steps[k], ts = performance.now();
    if (fuseZeros && s.mode === 'zeros' && steps[k + 1]?.mode === 'rfi') {
      // zeros then rfi in one parallel pass per baseline range (the same result: both are per
      // sample / per baseline); the zeros step is reported with no time of its own
      const z = { count: 0 };
      const r = await rfiRunner(cube, steps[k + 1] as FlagStep & { mode: 'rfi' }, z);
      flagged += z.count;
      reports.push({ mode: 'zeros', total: cube.flags.length, flagged, newlyFlagged: z.count, seconds: 0 });
      flagged += r;
      reports.push({ mode: 'rfi', total: cube.flags.length, flagged, newlyFlagged: r, seconds: (performance.now() - ts) / 1000 });
      k++;
      continue;
    }
    const d = s.mode === 'rfi' ? await rfiRunner(cube, s) : runStep(cube, s);
    flagged += d;
    reports.push({ mode: s.mode, total: cube.flags.length, flagged, newlyFlagged: d, seconds: (performance.now() - ts) / 1000 });
  }
  return { total: cube.flags.length, flagged, newlyFlagged: flagged - before, seconds: (performance.now() - t0) / 1000, steps: reports };
}
