/**
 * Primary-beam-weighted linear mosaicking (e.g. Cornwell 1988; Holdaway 1999):
 *
 *   I(p) = Σᵢ wᵢ Aᵢ(p) Iᵢ(p) / Σᵢ wᵢ Aᵢ(p)²,   wᵢ = 1/σᵢ²,   σ(p) = (Σᵢ wᵢ Aᵢ(p)²)^(−1/2)
 *
 * with Iᵢ the flat-noise (not primary-beam-corrected) image, Aᵢ its primary beam and σᵢ its noise.
 * When an input also gives a local noise map sᵢ(p) (its noise is not flat: deconvolution errors
 * follow the sources), the noise map is the propagated σ(p) = (Σᵢ wᵢ² Aᵢ² sᵢ²)^½ / Σᵢ wᵢ Aᵢ², which
 * is (Σ wA²)^(−½) again where sᵢ = σᵢ.
 * Inputs are accumulated one at a time, so memory is the output grid (two float32 planes) plus
 * one input.
 */
import { selectKth } from '../util/select.js';
import { DsaError, InputError } from '../util/errors.js';
import { Wcs } from '../astro/wcs.js';
import { CoarseMap, footprintBox, sampleRow, EDGE_EPS, type GridSpec, type Interp } from './reproject.js';

/** Analytic primary beam centred on the input's reference pixel (its pointing centre). */
export interface PbModel {
  kind: 'gaussian' | 'airy';
  /** Full width at half maximum, degrees. */
  fwhmDeg: number;
}

export interface MosaicInput {
  /** Flat-noise image (not primary-beam corrected), nx × ny. */
  data: Float32Array;
  nx: number;
  ny: number;
  wcs: Wcs;
  /** Primary beam on the same grid, or a model about the reference pixel. */
  pb: Float32Array | PbModel;
  /** Image noise (same unit as data), > 0. Weight w = 1/σ². */
  sigma: number;
  /** Local noise of the image on its own grid (optional; default σ everywhere): only the noise map uses it. */
  sigmaMap?: Float32Array;
  /** For error messages. */
  name?: string;
}

export interface AddStats {
  /** Destination pixels that received data. */
  pixels: number;
  /** Coarse-map grid step and its measured mapping error (pixels). */
  mapStep: number;
  maxMapError: number;
}

export interface MosaicProducts {
  /** Σ wAI / Σ wA², NaN where blanked. */
  image: Float32Array;
  /** (Σ wA²)^(−1/2), or with local noise maps (Σ w²A²s²)^(1/2) / Σ wA²; NaN where blanked. */
  noise: Float32Array;
  /** Σ wA² (not blanked), for a weight map product. */
  weight: Float32Array;
  /** Peak of Σ wA² and the cut applied (minPb × peak). */
  peakWeight: number;
  cut: number;
}

/** Bessel J1 (Numerical Recipes rational approximations, |error| < 1e-8). */
function besselJ1(x: number): number {
  const ax = Math.abs(x);
  if (ax < 8) {
    const y = x * x;
    const a = x * (72362614232.0 + y * (-7895059235.0 + y * (242396853.1 + y * (-2972611.439 + y * (15704.4826 + y * -30.16036606)))));
    const b = 144725228442.0 + y * (2300535178.0 + y * (18583304.74 + y * (99447.43394 + y * (376.9991397 + y))));
    return a / b;
  }
  const z = 8 / ax, y = z * z, xx = ax - 2.356194491;
  const p = 1 + y * (0.183105e-2 + y * (-0.3516396496e-4 + y * (0.2457520174e-5 + y * -0.240337019e-6)));
  const q = 0.04687499995 + y * (-0.2002690873e-3 + y * (0.8449199096e-5 + y * (-0.88228987e-6 + y * 0.105787412e-6)));
  const r = Math.sqrt(0.636619772 / ax) * (Math.cos(xx) * p - z * Math.sin(xx) * q);
  return x < 0 ? -r : r;
}

/** Primary-beam response at angular offset `sepRad` (radians) from the pointing centre. */
export function pbResponse(model: PbModel, sepRad: number): number {
  const fwhm = (model.fwhmDeg * Math.PI) / 180;
  if (model.kind === 'gaussian') {
    const s = sepRad / fwhm;
    return Math.exp(-4 * Math.LN2 * s * s);
  }
  // Airy power pattern (2 J1(x)/x)², x scaled so that the half-power point is at fwhm/2
  // (2 J1(x)/x)² = 0.5 at x = 1.6163399.
  const x = (1.6163399 * 2 * sepRad) / fwhm;
  if (x < 1e-8) return 1;
  const v = (2 * besselJ1(x)) / x;
  return v * v;
}

/** Robust noise estimate: 1.4826 × MAD of the finite values (subsampled to ≤ 1e6 values). */
export function estimateNoise(data: Float32Array): number {
  const stride = Math.max(1, Math.floor(data.length / 1_000_000));
  const buf = new Float32Array(Math.ceil(data.length / stride));
  let n = 0;
  for (let i = 0; i < data.length; i += stride) if (Number.isFinite(data[i])) buf[n++] = data[i];
  return madSigma(buf, n);
}

/** 1.4826 × MAD of buf[0..n) (quickselect, in place); NaN for n = 0. */
function madSigma(buf: Float32Array, n: number): number {
  if (n === 0) return NaN;
  const med = selectKth(buf, n, n >> 1);
  for (let i = 0; i < n; i++) buf[i] = Math.abs(buf[i] - med);
  return 1.4826 * selectKth(buf, n, n >> 1);
}

/**
 * Robust noise (1.4826 × MAD) of the pixels where the primary beam is ≥ `minPb` (default 0.5):
 * the noise where the image carries its mosaic weight (∝ A²). Images that are not thermal-noise
 * limited are noisier there than image-wide (deconvolution errors scale with the apparent
 * brightness of the sources, which the beam raises in its main lobe), so the image-wide value
 * would understate the mosaic's noise where it is best covered. NaN when fewer than 1000 pixels
 * qualify.
 */
export function estimateNoiseInBeam(data: Float32Array, pb: Float32Array, minPb = 0.5): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (pb[i] >= minPb && data[i] === data[i]) n++;
  if (n < 1000) return NaN;
  // at most ~1M samples (every stride-th qualifying pixel): σ to 0.1 %
  const stride = Math.max(1, Math.floor(n / 1_000_000));
  const sel = new Float32Array(Math.ceil(n / stride));
  let k = 0, m = 0;
  for (let i = 0; i < data.length; i++) if (pb[i] >= minPb && data[i] === data[i]) { if (m++ % stride === 0) sel[k++] = data[i]; }
  return madSigma(sel, k);
}

/**
 * Local noise map of a flat-noise image: 1.4826 × MAD in boxes of `box` pixels on a grid of half
 * that step (so the map follows changes on the box scale), bilinearly interpolated between box
 * centres. Boxes with fewer than a quarter finite pixels take the image-wide value `fallback`.
 */
export function localNoiseMap(data: Float32Array, nx: number, ny: number, box: number, fallback: number): Float32Array {
  const step = Math.max(1, Math.round(box / 2));
  const gx = Math.max(1, Math.ceil(nx / step)), gy = Math.max(1, Math.ceil(ny / step));
  const grid = new Float64Array(gx * gy);
  const buf = new Float32Array(box * box);
  // every sub-th pixel in x and y: ≤ ~1200 samples per box (σ to ~4 %; 4096² images took 20 s
  // with every pixel and sorting)
  const sub = Math.max(1, Math.ceil(box / 35));
  const need = Math.ceil(box / sub) ** 2 / 4;
  for (let j = 0; j < gy; j++) {
    for (let i = 0; i < gx; i++) {
      const cx = (i + 0.5) * step, cy = (j + 0.5) * step;
      const x0 = Math.max(0, Math.min(nx - box, Math.round(cx - box / 2))), x1 = Math.min(nx, x0 + box);
      const y0 = Math.max(0, Math.min(ny - box, Math.round(cy - box / 2))), y1 = Math.min(ny, y0 + box);
      let n = 0;
      for (let y = y0; y < y1; y += sub) for (let x = x0; x < x1; x += sub) { const v = data[y * nx + x]; if (v === v) buf[n++] = v; }
      const sg = n >= need ? madSigma(buf, n) : NaN;
      grid[j * gx + i] = sg > 0 ? sg : fallback;
    }
  }
  const out = new Float32Array(nx * ny);
  // bilinear between box centres: the x weights are the same on every row
  const I0 = new Int32Array(nx), I1 = new Int32Array(nx), TX = new Float64Array(nx);
  for (let x = 0; x < nx; x++) {
    const fx = Math.min(gx - 1, Math.max(0, x / step - 0.5));
    I0[x] = Math.floor(fx); I1[x] = Math.min(gx - 1, I0[x] + 1); TX[x] = fx - I0[x];
  }
  const ra = new Float64Array(gx);
  for (let y = 0; y < ny; y++) {
    const fy = Math.min(gy - 1, Math.max(0, y / step - 0.5));
    const j0 = Math.floor(fy), j1 = Math.min(gy - 1, j0 + 1), ty = fy - j0;
    for (let i = 0; i < gx; i++) ra[i] = grid[j0 * gx + i] + ty * (grid[j1 * gx + i] - grid[j0 * gx + i]);
    for (let x = 0, o = y * nx; x < nx; x++) out[o + x] = ra[I0[x]] + TX[x] * (ra[I1[x]] - ra[I0[x]]);
  }
  return out;
}

/** Accumulates inputs onto one output grid. */
export class LinearMosaic {
  /** Σ wAI and Σ wA² (float32, output grid). */
  readonly num: Float32Array;
  readonly den: Float32Array;
  /** Σ w²A²s² (allocated when the first input with a local noise map arrives). */
  private vr: Float32Array | null = null;
  private finished = false;

  constructor(readonly grid: GridSpec, readonly opts: { interp?: Interp; mapTolerance?: number } = {}) {
    const n = grid.nx * grid.ny;
    this.num = new Float32Array(n);
    this.den = new Float32Array(n);
  }

  /** Add one input (reprojected on the fly, never materialised on the output grid). */
  add(inp: MosaicInput): AddStats {
    if (this.finished) throw new DsaError('LinearMosaic: add() after finish()');
    const name = inp.name ?? 'mosaic input';
    if (inp.data.length < inp.nx * inp.ny) throw new InputError(name, `image has ${inp.data.length} values, expected ${inp.nx}×${inp.ny}`);
    if (!(inp.sigma > 0) || !Number.isFinite(inp.sigma)) throw new InputError(name, `noise σ must be a positive number (got ${inp.sigma})`);
    const pbImage = inp.pb instanceof Float32Array ? inp.pb : undefined;
    if (pbImage && pbImage.length < inp.nx * inp.ny) throw new InputError(name, `primary beam has ${pbImage.length} values, expected ${inp.nx}×${inp.ny}`);
    const sMap = inp.sigmaMap;
    if (sMap && sMap.length < inp.nx * inp.ny) throw new InputError(name, `noise map has ${sMap.length} values, expected ${inp.nx}×${inp.ny}`);
    const box = footprintBox(inp, this.grid);
    if (!box) return { pixels: 0, mapStep: 0, maxMapError: 0 };
    // Σ w²A²s²: created on the first local noise map, seeded with the inputs before it (s = σ: wA²).
    if (sMap && !this.vr) this.vr = Float32Array.from(this.den);
    const vr = this.vr;
    const sv = new Float32Array(box.w);
    const map = new CoarseMap(inp.wcs, this.grid.wcs, box, this.opts.mapTolerance ?? 1e-3);
    const interp = this.opts.interp ?? 'bilinear';
    const w = 1 / (inp.sigma * inp.sigma);
    const rx = new Float64Array(box.w), ry = new Float64Array(box.w);
    const iv = new Float32Array(box.w), av = new Float32Array(box.w);
    // For a PB model: offset from the reference pixel from the source pixel position. For SIN
    // and TAN the intermediate radius gives the separation exactly; for others it is first-order.
    const model = pbImage ? undefined : (inp.pb as PbModel);
    const cd = lin(inp.wcs);
    const proj = inp.wcs.projection;
    const { nx: gnx } = this.grid;
    const num = this.num, den = this.den;
    let pixels = 0;
    const data = inp.data, snx = inp.nx, sny = inp.ny;
    const xmax = snx - 1, ymax = sny - 1;
    for (let y = box.y0; y < box.y0 + box.h; y++) {
      map.row(y, rx, ry);
      const row = y * gnx + box.x0;
      if (pbImage && interp === 'bilinear' && snx > 1 && sny > 1) {
        // Fused path (the common case): one set of bilinear weights for image and beam, inlined
        // (same rules as bilinearSetup/bilinearApply: edge tolerance, snapping, zero weights
        // never read so a NaN pixel does not leak into its neighbours).
        const lo = -EDGE_EPS, hx = xmax + EDGE_EPS, hy = ymax + EDGE_EPS;
        for (let i = 0; i < box.w; i++) {
          let x = rx[i], yy = ry[i];
          if (!(x >= lo && x <= hx && yy >= lo && yy <= hy)) continue;
          x = x < 0 ? 0 : x > xmax ? xmax : x;
          yy = yy < 0 ? 0 : yy > ymax ? ymax : yy;
          let ix = x | 0, iy = yy | 0;
          let fx = x - ix, fy = yy - iy;
          if (fx < 1e-6) fx = 0;
          else if (fx > 1 - 1e-6) {
            fx = 0;
            ix++;
          }
          if (fy < 1e-6) fy = 0;
          else if (fy > 1 - 1e-6) {
            fy = 0;
            iy++;
          }
          if (ix >= xmax) {
            ix = xmax - 1;
            fx = 1;
          }
          if (iy >= ymax) {
            iy = ymax - 1;
            fy = 1;
          }
          const k = iy * snx + ix;
          let I: number, A: number;
          if (fx === 0 && fy === 0) {
            I = data[k];
            A = pbImage[k];
          } else if (fy === 0) {
            I = data[k] + fx * (data[k + 1] - data[k]);
            A = pbImage[k] + fx * (pbImage[k + 1] - pbImage[k]);
          } else if (fx === 0) {
            I = data[k] + fy * (data[k + snx] - data[k]);
            A = pbImage[k] + fy * (pbImage[k + snx] - pbImage[k]);
          } else {
            const k2 = k + snx;
            const i0 = data[k] + fx * (data[k + 1] - data[k]), i1 = data[k2] + fx * (data[k2 + 1] - data[k2]);
            const a0 = pbImage[k] + fx * (pbImage[k + 1] - pbImage[k]), a1 = pbImage[k2] + fx * (pbImage[k2 + 1] - pbImage[k2]);
            I = i0 + fy * (i1 - i0);
            A = a0 + fy * (a1 - a0);
          }
          if (I === I && A === A && A > 0) {
            const wa = w * A;
            num[row + i] += wa * I;
            den[row + i] += wa * A;
            if (vr) {
              // the local noise map is smooth on the scale of its boxes: its nearest pixel will do
              const sg = sMap && sMap[k] > 0 ? sMap[k] : inp.sigma;
              vr[row + i] += wa * wa * sg * sg;
            }
            pixels++;
          }
        }
        continue;
      }
      sampleRow(data, snx, sny, rx, ry, box.w, iv, 0, interp);
      if (sMap) {
        // smooth on the scale of its boxes: the nearest pixel will do (an interpolation cost 50 %)
        for (let i = 0; i < box.w; i++) {
          const x = Math.round(rx[i]), yy = Math.round(ry[i]);
          sv[i] = x >= 0 && x < snx && yy >= 0 && yy < sny ? sMap[yy * snx + x] : NaN;
        }
      }
      if (pbImage) sampleRow(pbImage, snx, sny, rx, ry, box.w, av, 0, interp);
      else {
        for (let i = 0; i < box.w; i++) {
          if (iv[i] !== iv[i]) {
            av[i] = NaN;
            continue;
          }
          const dx = rx[i] - cd.r1, dy = ry[i] - cd.r2;
          const X = (cd.a * dx + cd.b * dy) * (Math.PI / 180), Y = (cd.c * dx + cd.d * dy) * (Math.PI / 180);
          const r = Math.sqrt(X * X + Y * Y);
          const sep = proj === 'SIN' ? Math.asin(Math.min(1, r)) : proj === 'TAN' ? Math.atan(r) : r;
          av[i] = pbResponse(model as PbModel, sep);
        }
      }
      for (let i = 0; i < box.w; i++) {
        const I = iv[i], A = av[i];
        if (I === I && A === A && A > 0) {
          const wa = w * A;
          num[row + i] += wa * I;
          den[row + i] += wa * A;
          if (vr) {
            const sg = sMap && sv[i] > 0 ? sv[i] : inp.sigma;
            vr[row + i] += wa * wa * sg * sg;
          }
          pixels++;
        }
      }
    }
    return { pixels, mapStep: map.step, maxMapError: map.maxError };
  }

  /**
   * Form the mosaic. Pixels where Σ wA² < minPb × max(Σ wA²) (default minPb 0.2) are blanked.
   * The image is formed in place in `num` (the accumulator is finished afterwards).
   */
  finish(opts: { minPb?: number } = {}): MosaicProducts {
    if (this.finished) throw new DsaError('LinearMosaic: finish() called twice');
    this.finished = true;
    const minPb = opts.minPb ?? 0.2;
    const { num, den } = this;
    let peak = 0;
    for (let i = 0; i < den.length; i++) if (den[i] > peak) peak = den[i];
    const cut = minPb * peak;
    const noise = new Float32Array(den.length);
    const vr = this.vr;
    for (let i = 0; i < den.length; i++) {
      const d = den[i];
      if (d > 0 && d >= cut) {
        num[i] = num[i] / d;
        noise[i] = vr ? Math.sqrt(vr[i]) / d : 1 / Math.sqrt(d);
      } else {
        num[i] = NaN;
        noise[i] = NaN;
      }
    }
    return { image: num, noise, weight: den, peakWeight: peak, cut };
  }
}

/** Linear part of a WCS (degrees per pixel, lon/lat rows) and the 0-based reference pixel. */
function lin(w: Wcs): { a: number; b: number; c: number; d: number; r1: number; r2: number } {
  const p = w.params;
  const [c1, c2] = p.cdelt;
  const [p11, p12, p21, p22] = p.pc;
  return { a: c1 * p11, b: c1 * p12, c: c2 * p21, d: c2 * p22, r1: p.crpix[0] - 1, r2: p.crpix[1] - 1 };
}

/**
 * Build a mosaic from inputs loaded one at a time (bounded memory: only the current input is
 * held). `load` may return null to skip an input (counted in `skipped`).
 */
export async function buildLinearMosaic(
  grid: GridSpec,
  loaders: Array<() => Promise<MosaicInput | null>>,
  opts: { interp?: Interp; minPb?: number; mapTolerance?: number; onInput?: (i: number, s: AddStats) => void } = {},
): Promise<MosaicProducts & { used: number; skipped: number }> {
  const acc = new LinearMosaic(grid, opts);
  let used = 0, skipped = 0;
  for (let i = 0; i < loaders.length; i++) {
    const inp = await loaders[i]();
    if (!inp) {
      skipped++;
      continue;
    }
    const s = acc.add(inp);
    if (s.pixels > 0) used++;
    else skipped++;
    opts.onInput?.(i, s);
  }
  return { ...acc.finish({ minPb: opts.minPb }), used, skipped };
}
