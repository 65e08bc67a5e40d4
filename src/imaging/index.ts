/** Public API of the imaging library. */
export type { VisInput, ImageGeometry } from './types.js';
export { initFft, goodFftSize, fft2d, Fft1d } from './fft.js';
export { pixelToLm, lmToPixel, raDecToLm, lmToRaDec, pixelToRaDec, defaultGeometry, maxBaselineM, type GeometryOptions } from './geometry.js';
export { imagingWeights, expectedNoise, type Weighting } from './weighting.js';
export { makeGridPlan, gridToImage, imageToVis, type GridPlan, type GridderOptions, type GridTimings } from './gridder.js';
export { hogbom, robustSigma, fitBeam, restore, gaussianImage, beamToQuad, quadToBeam, type RestoringBeam } from './deconvolve.js';
export { primaryBeamImage, angularSeparation } from './primaryBeam.js';
export { imageVisibilities, dirtyImage, psfImage, predict, resolveOptions, excludeOutside, type ImagingOptions, type ImagingResult, type ImagingProgress } from './imager.js';
export { GridPool, toShared, sab, type PoolOptions } from './parallel.js';
export { averageBaselineDependent, bdaField, bdaMaxBandwidth, type BdaField, type BdaResult } from './bda.js';
