/**
 * The drift-averaged primary beam on a large image: evaluated exactly on a coarse grid (the beam
 * varies on degree scales, pixels are arcseconds) and interpolated bilinearly in between.
 */
import { primaryBeamImage } from './primaryBeam.js';
import type { ImageGeometry } from './types.js';

export function primaryBeamFast(
  geom: ImageGeometry, ra0: number, dec0: number, meridianRa: ArrayLike<number>, meridianDec: ArrayLike<number>, freqHz: number, step = 16,
  weights?: ArrayLike<number>,
): Float32Array {
  const { nx, ny, cellRad } = geom;
  if (nx <= 2 * step || ny <= 2 * step) return primaryBeamImage(geom, ra0, dec0, meridianRa, meridianDec, freqHz, undefined, weights);
  // Coarse grid with the same centre: coarse pixel (i, j) ↔ fine pixel (nx/2 + (i − cx)·step, …).
  const cx = Math.ceil(nx / 2 / step) + 1, cy = Math.ceil(ny / 2 / step) + 1;
  const cnx = 2 * cx + 1, cny = 2 * cy + 1;
  const coarse = primaryBeamImage({ nx: cnx, ny: cny, cellRad: cellRad * step, slant: geom.slant }, ra0, dec0, meridianRa, meridianDec, freqHz, undefined, weights);
  // primaryBeamImage centres at (cnx/2, cny/2) = (cx + 0.5, cy + 0.5) in 0-based pixels of the
  // coarse grid: fine pixel ix maps to coarse x = cnx/2 + (ix − nx/2)/step.
  const out = new Float32Array(nx * ny);
  for (let iy = 0; iy < ny; iy++) {
    const y = cny / 2 + (iy - ny / 2) / step;
    const y0 = Math.min(cny - 2, Math.max(0, Math.floor(y)));
    const fy = y - y0;
    for (let ix = 0; ix < nx; ix++) {
      const x = cnx / 2 + (ix - nx / 2) / step;
      const x0 = Math.min(cnx - 2, Math.max(0, Math.floor(x)));
      const fx = x - x0;
      const a = coarse[y0 * cnx + x0]!, b = coarse[y0 * cnx + x0 + 1]!;
      const c = coarse[(y0 + 1) * cnx + x0]!, d = coarse[(y0 + 1) * cnx + x0 + 1]!;
      out[iy * nx + ix] = (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
    }
  }
  return out;
}
