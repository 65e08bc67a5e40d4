/** Simulator public API. */
export { simulateGroups, gainAt, DSA110_INTEGRATION_S, DSA110_CHANNEL_HZ, DSA110_TOP_FREQ_HZ, DEFAULT_SEFD_JY } from './simulate.js';
export type { SimulateOptions, SimulateResult, GainTruth, RfiEvent } from './simulate.js';
export { builtinCalibratorLookup, pbFlux, pbSpectralIndex, sourceFlux, parseSources, loadSourcesFile, REF_FREQ_HZ } from './sky.js';
export type { SimSource, CalibratorInfo, CalibratorLookup } from './sky.js';
export { Rng } from './random.js';
