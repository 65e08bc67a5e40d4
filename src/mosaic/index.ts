/** Mosaicking library: reprojection, output-grid planning, primary-beam-weighted linear mosaics. */
export { reproject, footprintBox, sampleRow, CoarseMap, ExactMapper } from './reproject.js';
export type { Interp, ImagePlane, GridSpec, PixelBox, ReprojectOptions, ReprojectResult } from './reproject.js';
export { planMosaicGrid } from './grid.js';
export type { GridInput, PlanOptions, MosaicGrid } from './grid.js';
export { LinearMosaic, buildLinearMosaic, pbResponse, estimateNoise, estimateNoiseInBeam, localNoiseMap } from './linear.js';
export type { PbModel, MosaicInput, AddStats, MosaicProducts } from './linear.js';
