/** Photometry library: forced photometry, normalisation, variability and ESE candidates. */
export * from './beam.js';
export * from './catalog.js';
export * from './measure.js';
export * from './normalize.js';
export * from './variability.js';
export { MAD_TO_SIGMA, clippedMadStats, medianInPlace, selectKth } from './stats.js';
