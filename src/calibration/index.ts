/**
 * Calibration library of the DSA-110 pipeline (the `calibrate` and `apply` commands use it).
 *
 * Typical `calibrate` flow for one group (in memory):
 *   const cat = loadCalibratorCatalog(opts.catalog);              // data/vlacalibrators.txt
 *   const m = selectTransitCalibrator(cat, { decAppRad, startJdUtc, endJdUtc });
 *   const flux = calibratorSpectrum(cat, m.index, freqHz);        // PB2017 or flat 20 cm flux
 *   chunk.model = predictPointSources({ ...geometry, pointingRaRad, pointingDecRad },
 *                                     { raRad: [m.raRad], decRad: [m.decRad], fluxJy: flux });
 *   const sol = solveCalibrator(chunk, { refant, antennaPositions, mode: 'ap', solint: 'inf' });
 *   // write sol.delays / sol.bandpass / sol.gains as caltables; sol.qa → registry quality
 * Streaming (time chunks): delaySums / bandpassSums / gainSums per chunk, then
 * delaysFromSums / bandpassFromSums / gainsFromSums; refantStats per chunk, then chooseRefant.
 * `apply`: new CalApplier(nAnt, freqHz, nPol, { delays, bandpass, gains }).applyChunk(chunk)
 * per time chunk (in place on DATA → CORRECTED_DATA copy, FLAG, WEIGHT_SPECTRUM).
 */
export * from './types.js';
export * from './catalog.js';
export * from './fluxmodels.js';
export * from './transit.js';
export * from './model.js';
export * from './sums.js';
export * from './stefcal.js';
export * from './cells.js';
export * from './delay.js';
export * from './bandpass.js';
export * from './gains.js';
export * from './refant.js';
export * from './apply.js';
export * from './qa.js';
export * from './solve.js';
export * from './parallel.js';
