/**
 * Primary-beam image of a drift-scan group: the dish points at the meridian (HA = 0, fixed dec)
 * while the sky drifts, so the effective beam at a sky position is the Airy power pattern averaged
 * over the meridian directions of the integrations — weighted by how much each integration
 * contributes to the image. A source's image is Σₜ Wₜ S A(θₜ) / Σₜ Wₜ: with an integration flagged
 * (an RFI burst) the unweighted mean is wrong by the beam's change across the group, up to 8 % for a
 * source at the half-power point that drifts in or out while 2 of 24 integrations are flagged.
 */
import { airyPower } from '../astro/beam.js';
import { DISH_DIAMETER_M } from '../astro/constants.js';
import { pixelToRaDec } from './geometry.js';
import type { ImageGeometry } from './types.js';

/** Great-circle angle between two directions (haversine form: accurate at small angles). */
export function angularSeparation(ra1: number, dec1: number, ra2: number, dec2: number): number {
  const sd = Math.sin((dec2 - dec1) / 2), sr = Math.sin((ra2 - ra1) / 2);
  const h = sd * sd + Math.cos(dec1) * Math.cos(dec2) * sr * sr;
  return 2 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * pb(pixel) = Σ_i W_i airyPower(angle(pixel, meridian_i), freqHz, D) / Σ_i W_i. meridianRa/Dec:
 * per-integration pointing (ICRS, radians); weights W_i: what integration i contributes to the image
 * (e.g. its summed visibility weight; default equal); (ra0, dec0): image phase centre. Pixels beyond
 * the sphere get NaN.
 */
export function primaryBeamImage(
  geom: ImageGeometry, ra0: number, dec0: number,
  meridianRa: ArrayLike<number>, meridianDec: ArrayLike<number>,
  freqHz: number, diameterM: number = DISH_DIAMETER_M, weights?: ArrayLike<number>,
): Float32Array {
  const { nx, ny } = geom;
  const w = integrationWeights(meridianRa.length, weights);
  const out = new Float32Array(nx * ny);
  for (let iy = 0; iy < ny; iy++) for (let ix = 0; ix < nx; ix++) out[iy * nx + ix] = beamAtPixel(geom, ix, iy, ra0, dec0, meridianRa, meridianDec, freqHz, diameterM, w);
  return out;
}

/** The same beam at a list of pixels (indices iy·nx + ix) only: for a sparse CLEAN model. */
export function primaryBeamAt(
  geom: ImageGeometry, pixels: Int32Array, ra0: number, dec0: number,
  meridianRa: ArrayLike<number>, meridianDec: ArrayLike<number>,
  freqHz: number, diameterM: number = DISH_DIAMETER_M, weights?: ArrayLike<number>,
): Float32Array {
  const w = integrationWeights(meridianRa.length, weights);
  const out = new Float32Array(pixels.length);
  for (let j = 0; j < pixels.length; j++) {
    const p = pixels[j];
    out[j] = beamAtPixel(geom, p % geom.nx, Math.floor(p / geom.nx), ra0, dec0, meridianRa, meridianDec, freqHz, diameterM, w);
  }
  return out;
}

function beamAtPixel(
  geom: ImageGeometry, ix: number, iy: number, ra0: number, dec0: number,
  meridianRa: ArrayLike<number>, meridianDec: ArrayLike<number>, freqHz: number, diameterM: number, w: Float64Array,
): number {
  const { ra, dec } = pixelToRaDec(geom, ix, iy, ra0, dec0);
  if (!Number.isFinite(ra)) return NaN;
  let s = 0;
  for (let i = 0; i < w.length; i++) if (w[i] > 0) s += w[i] * airyPower(angularSeparation(ra, dec, meridianRa[i], meridianDec[i]), freqHz, diameterM);
  return s;
}

/** Weights normalised to sum 1 (equal when absent); throws if none is positive. */
export function integrationWeights(n: number, weights?: ArrayLike<number>): Float64Array {
  const w = new Float64Array(n);
  if (!weights) { w.fill(1 / n); return w; }
  if (weights.length !== n) throw new RangeError(`primary beam: ${weights.length} integration weights for ${n} pointings`);
  let s = 0;
  for (let i = 0; i < n; i++) { const x = weights[i]; w[i] = x > 0 && Number.isFinite(x) ? x : 0; s += w[i]; }
  if (!(s > 0)) throw new RangeError('primary beam: no integration has a positive weight');
  for (let i = 0; i < n; i++) w[i] /= s;
  return w;
}

/** Summed weight of each integration of a time-major VisInput-like layout (nRow = nTimes × rowsPerTime). */
export function weightPerIntegration(weight: Float32Array, nTimes: number, nRow: number, nChan: number): Float64Array {
  const out = new Float64Array(nTimes);
  const per = nRow / nTimes;
  if (!Number.isInteger(per)) throw new RangeError(`primary beam: ${nRow} rows are not ${nTimes} integrations of equal size`);
  for (let t = 0; t < nTimes; t++) {
    let s = 0;
    const hi = (t + 1) * per * nChan;
    for (let k = t * per * nChan; k < hi; k++) s += weight[k];
    out[t] = s;
  }
  return out;
}
