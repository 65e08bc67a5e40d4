/**
 * The slanted image plane of a near-coplanar array (the idea of w-snapshots, Cornwell, Voronkov &
 * Humphreys 2012, without their regridding).
 *
 * For baselines in one plane, w = −(ξu + ηv) at any instant. Writing w = −(ξu + ηv) + w_r, the
 * phase of a direction (l, m) is u·l + v·m + w(n − 1) = u·X + v·Y + w_r(n − 1) with
 * X = l + ξ(1 − n), Y = m + η(1 − n). So an image on the (X, Y) grid needs w-stacking only of the
 * residual w_r — for DSA-110 the turn of the sky within a 309 s group (~0.6 %) and the stations'
 * height scatter, ~100 λ instead of thousands — and (X, Y) is a standard FITS projection: SIN with
 * PV2_1 = ξ, PV2_2 = η (the slant orthographic projection; NCP = (0, cot δ0) is the east–west
 * case). Nothing is resampled, so nothing is lost; consumers read the world coordinates from the
 * FITS header, as for any SIN image. The PSF is shift-invariant on (X, Y) to the residual w-term.
 */
import { C_LIGHT } from '../astro/constants.js';
import { maxOneMinusN, rowHasData } from './geometry.js';
import { wPlaneLayout } from './gridder.js';
import type { ImageGeometry, VisInput } from './types.js';

/** Least-squares (ξ, η) minimising Σ (w + ξu + ηv)² over the rows with any unflagged visibility. */
export function fitWPlane(input: Pick<VisInput, 'nRow' | 'nChan' | 'uvw' | 'weight'>): [number, number] {
  const { nRow, nChan, uvw, weight } = input;
  let suu = 0, suv = 0, svv = 0, suw = 0, svw = 0;
  for (let r = 0; r < nRow; r++) {
    if (!rowHasData(weight, nChan, r)) continue;
    const u = uvw[3 * r], v = uvw[3 * r + 1], w = uvw[3 * r + 2];
    suu += u * u; suv += u * v; svv += v * v; suw += u * w; svw += v * w;
  }
  const det = suu * svv - suv * suv;
  if (!(det > 1e-12 * (suu * svv)) || !(suu > 0)) return [0, 0]; // degenerate (e.g. one baseline direction)
  return [(-suw * svv + svw * suv) / det, (-svw * suu + suw * suv) / det];
}

/** Number of w-planes the gridder would use (gridder.ts, wPlaneLayout). */
export function wPlaneCount(
  input: Pick<VisInput, 'nRow' | 'nChan' | 'uvw' | 'weight' | 'freq'>, geom: ImageGeometry, support = 5, sigma = 2,
): number {
  const { nRow, nChan, uvw, weight, freq } = input;
  const xi = geom.slant?.[0] ?? 0, eta = geom.slant?.[1] ?? 0;
  const xMax = Math.max(maxOneMinusN(geom) / 2, 1e-12);
  let fMin = Infinity, fMax = 0;
  for (let c = 0; c < nChan; c++) { fMin = Math.min(fMin, freq[c]); fMax = Math.max(fMax, freq[c]); }
  // rows are mirrored by the sign of their original w (gridder.ts)
  let aMin = Infinity, aMax = -Infinity;
  for (let r = 0; r < nRow; r++) {
    if (!rowHasData(weight, nChan, r)) continue;
    const w = uvw[3 * r + 2], a = (w < 0 ? -1 : 1) * (w + xi * uvw[3 * r] + eta * uvw[3 * r + 1]);
    if (a < aMin) aMin = a;
    if (a > aMax) aMax = a;
  }
  if (!(aMax >= aMin)) return support;
  const hi = (aMax > 0 ? aMax * fMax : aMax * fMin) / C_LIGHT, lo = (aMin > 0 ? aMin * fMin : aMin * fMax) / C_LIGHT;
  return wPlaneLayout(lo, hi, xMax, support, sigma).nPlanes;
}

/**
 * The slant to image with: the fitted plane when it saves w-planes, else undefined (plain SIN).
 * Slants so steep that the pixel plane would fold (|ξ|, |η| > 5: within ~11° of the horizon) are refused.
 */
export function chooseSlant(
  input: Pick<VisInput, 'nRow' | 'nChan' | 'uvw' | 'weight' | 'freq'>, geom: ImageGeometry, support = 5, sigma = 2,
): [number, number] | undefined {
  const s = fitWPlane(input);
  if (!(Math.abs(s[0]) <= 5 && Math.abs(s[1]) <= 5) || (s[0] === 0 && s[1] === 0)) return undefined;
  const plain = wPlaneCount(input, { ...geom, slant: undefined }, support, sigma);
  const slanted = wPlaneCount(input, { ...geom, slant: s }, support, sigma);
  return slanted < plain ? s : undefined;
}
