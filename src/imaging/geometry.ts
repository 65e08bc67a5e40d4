/**
 * Pixel ↔ direction-cosine ↔ sky mapping of the image grid, and default geometry choice.
 * See ImageGeometry for the pixel convention.
 */
import { C_LIGHT } from '../astro/constants.js';
import { slantOneMinusN } from '../astro/wcs.js';
import { UsageError } from '../util/errors.js';
import { goodFftSize } from './fft.js';
import type { ImageGeometry, VisInput } from './types.js';

/** Direction cosines (l, m) of pixel (ix, iy); fractional pixels allowed. NaN beyond the sphere. */
export function pixelToLm(g: ImageGeometry, ix: number, iy: number): { l: number; m: number } {
  const X = -(ix - g.nx / 2) * g.cellRad, Y = (iy - g.ny / 2) * g.cellRad;
  return g.slant ? slantToLm(X, Y, g.slant[0], g.slant[1]) : { l: X, m: Y };
}

/** Largest 1 − n over the image (at a corner); NaN or ≥ 1 when a corner is beyond the horizon. */
export function maxOneMinusN(g: ImageGeometry): number {
  let dMax = 0;
  for (const ix of [0, g.nx - 1]) for (const iy of [0, g.ny - 1]) {
    const { l, m } = pixelToLm(g, ix, iy);
    const r2 = l * l + m * m;
    dMax = Math.max(dMax, r2 < 1 ? 1 - Math.sqrt(1 - r2) : NaN);
  }
  return dMax;
}

/** Fractional pixel of direction cosines (l, m). */
export function lmToPixel(g: ImageGeometry, l: number, m: number): { ix: number; iy: number } {
  let X = l, Y = m;
  if (g.slant) {
    const r2 = l * l + m * m, d = r2 / (1 + Math.sqrt(Math.max(0, 1 - r2))); // 1 − n without cancellation
    X += g.slant[0] * d; Y += g.slant[1] * d;
  }
  return { ix: g.nx / 2 - X / g.cellRad, iy: g.ny / 2 + Y / g.cellRad };
}

/** Inverse of the slant projection X = l + ξ(1 − n), Y = m + η(1 − n). NaN off the visible hemisphere. */
export function slantToLm(X: number, Y: number, xi: number, eta: number): { l: number; m: number } {
  const d = slantOneMinusN(X, Y, xi, eta);
  if (!(d <= 1) || !(1 + xi * X + eta * Y > 0)) return { l: NaN, m: NaN }; // off the projection, or the far hemisphere
  return { l: X - xi * d, m: Y - eta * d };
}

/** Direction cosines of (ra, dec) relative to the phase centre (ra0, dec0) (SIN projection). */
export function raDecToLm(ra: number, dec: number, ra0: number, dec0: number): { l: number; m: number; n: number } {
  const dra = ra - ra0;
  const cd = Math.cos(dec);
  const l = cd * Math.sin(dra);
  const m = Math.sin(dec) * Math.cos(dec0) - cd * Math.sin(dec0) * Math.cos(dra);
  const n = Math.sin(dec) * Math.sin(dec0) + cd * Math.cos(dec0) * Math.cos(dra);
  return { l, m, n };
}

/** Inverse SIN projection: (l, m) about (ra0, dec0) → (ra, dec) radians, ra in [0, 2π). NaN outside the sphere. */
export function lmToRaDec(l: number, m: number, ra0: number, dec0: number): { ra: number; dec: number } {
  const r2 = l * l + m * m;
  if (r2 > 1) return { ra: NaN, dec: NaN };
  const n = Math.sqrt(1 - r2);
  const sd0 = Math.sin(dec0), cd0 = Math.cos(dec0);
  const dec = Math.asin(Math.max(-1, Math.min(1, m * cd0 + n * sd0)));
  let ra = ra0 + Math.atan2(l, n * cd0 - m * sd0);
  ra %= 2 * Math.PI;
  if (ra < 0) ra += 2 * Math.PI;
  return { ra, dec };
}

/** Sky position of pixel (ix, iy) for an image centred on (ra0, dec0). */
export function pixelToRaDec(g: ImageGeometry, ix: number, iy: number, ra0: number, dec0: number): { ra: number; dec: number } {
  const { l, m } = pixelToLm(g, ix, iy);
  if (!Number.isFinite(l)) return { ra: NaN, dec: NaN };
  return lmToRaDec(l, m, ra0, dec0);
}

/** Whether row r has any unflagged (weight > 0) channel. */
export function rowHasData(weight: Float32Array, nChan: number, r: number): boolean {
  for (let k = r * nChan, e = k + nChan; k < e; k++) if (weight[k] > 0) return true;
  return false;
}

/** Longest projected baseline √(u²+v²) in metres over unflagged rows. */
export function maxBaselineM(input: VisInput): number {
  let b2 = 0;
  const { nRow, nChan, uvw, weight } = input;
  for (let r = 0; r < nRow; r++) {
    if (!rowHasData(weight, nChan, r)) continue;
    const u = uvw[3 * r], v = uvw[3 * r + 1];
    b2 = Math.max(b2, u * u + v * v);
  }
  return Math.sqrt(b2);
}

export interface GeometryOptions {
  /** Field of view (full width), radians; default 3.5°. */
  fovRad?: number;
  /** Pixels per synthesised beam (λ_min/B_max); default 5. */
  pixelsPerBeam?: number;
  /** Cap on the image side (quick mode uses 1024). */
  maxSize?: number;
  /** Explicit cell (overrides pixelsPerBeam). */
  cellRad?: number;
}

/**
 * Default image: cell = λ_min/B_max/5, side = FoV/cell rounded up to a good FFT size.
 * If the side would exceed maxSize the cell grows instead (quick mode: coarser cells).
 */
export function defaultGeometry(input: VisInput, opts: GeometryOptions = {}): ImageGeometry {
  const fov = opts.fovRad ?? (3.5 * Math.PI) / 180;
  const ppb = opts.pixelsPerBeam ?? 5;
  let fmax = 0;
  for (let c = 0; c < input.nChan; c++) fmax = Math.max(fmax, input.freq[c]);
  const bmax = maxBaselineM(input);
  if (!(bmax > 0) || !(fmax > 0)) throw new UsageError('cannot choose an image cell: no unflagged baselines with non-zero length');
  let cell = opts.cellRad ?? C_LIGHT / fmax / bmax / ppb;
  let n = goodFftSize(Math.ceil(fov / cell));
  const maxSize = opts.maxSize ?? 16384;
  if (n > maxSize) {
    n = maxSize;
    cell = fov / n;
  }
  return { nx: n, ny: n, cellRad: cell };
}
