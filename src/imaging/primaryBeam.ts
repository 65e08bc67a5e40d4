/**
 * Primary-beam image of a drift-scan group: the dish points at the meridian (HA = 0, fixed dec)
 * while the sky drifts, so the effective beam at a sky position is the Airy power pattern averaged
 * over the meridian directions of the integrations.
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
 * pb(pixel) = mean_i airyPower(angle(pixel, meridian_i), freqHz, D). meridianRa/Dec: per-integration
 * pointing (ICRS, radians); (ra0, dec0): image phase centre. Pixels beyond the sphere get NaN.
 */
export function primaryBeamImage(
  geom: ImageGeometry, ra0: number, dec0: number,
  meridianRa: ArrayLike<number>, meridianDec: ArrayLike<number>,
  freqHz: number, diameterM: number = DISH_DIAMETER_M,
): Float32Array {
  const { nx, ny } = geom;
  const n = meridianRa.length;
  const out = new Float32Array(nx * ny);
  for (let iy = 0; iy < ny; iy++) for (let ix = 0; ix < nx; ix++) {
    const { ra, dec } = pixelToRaDec(geom, ix, iy, ra0, dec0);
    if (!Number.isFinite(ra)) { out[iy * nx + ix] = NaN; continue; }
    let s = 0;
    for (let i = 0; i < n; i++) s += airyPower(angularSeparation(ra, dec, meridianRa[i], meridianDec[i]), freqHz, diameterM);
    out[iy * nx + ix] = s / n;
  }
  return out;
}
