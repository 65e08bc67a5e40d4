/**
 * Högbom CLEAN minor cycle, robust noise estimate, restoring-beam fit and restoration.
 * Images are Float32Array nx·ny, row-major, iy the row; PSF peak at (nx/2, ny/2).
 */
import { DsaError } from '../util/errors.js';
import { selectKth } from '../util/select.js';

/** Robust σ = 1.4826·MAD, from at most ~2M evenly strided samples. Optional mask of pixels to use (non-zero = use). */
export function robustSigma(img: Float32Array, mask?: Uint8Array): number {
  const stride = Math.max(1, Math.floor(img.length / 2_000_000));
  const vals: number[] = [];
  for (let i = 0; i < img.length; i += stride) if ((!mask || mask[i]) && Number.isFinite(img[i])) vals.push(img[i]);
  if (vals.length === 0) return NaN;
  const a = Float64Array.from(vals);
  const med = selectKth(a, a.length, a.length >> 1);
  for (let i = 0; i < a.length; i++) a[i] = Math.abs(a[i] - med);
  return 1.4826 * selectKth(a, a.length, a.length >> 1);
}


export interface HogbomOptions {
  gain: number;
  /** Stop when |peak| < this (Jy). */
  stopAt: number;
  /** Max components to add in this call. */
  maxIter: number;
  /** Only pixels with mask ≠ 0 may receive components. */
  mask?: Uint8Array;
  /** Half-size of the PSF patch subtracted per component (pixels); default: whole PSF. */
  psfHalf?: number;
}

/**
 * The PSF's point-symmetric part, (P(Δ) + P(−Δ))/2 about (nx/2, ny/2), for the minor cycle. Why:
 * the w-term makes the wide-field PSF of the phase centre asymmetric (DSA-110 far sidelobes differ
 * by tens of per cent), so "subtract P shifted" is not a symmetric operator and Högbom, which is
 * coordinate descent only for a symmetric positive one, blew up (1e28 Jy) with natural weighting.
 * The row/column 0 (no mirror inside the image) are kept as they are.
 */
export function symmetricPsf(psf: Float32Array, nx: number, ny: number): Float32Array {
  const out = Float32Array.from(psf);
  for (let iy = 1; iy < ny; iy++) {
    const my = ny - iy;
    for (let ix = 1; ix < nx; ix++) out[iy * nx + ix] = 0.5 * (psf[iy * nx + ix] + psf[my * nx + (nx - ix)]);
  }
  return out;
}

/**
 * Choose the PSF patch for the minor cycle: the smallest half-size ≥ minHalf (capped at
 * min(nx, ny)/2, the whole PSF) outside of which |PSF| ≤ maxSidelobe, and that outside level.
 * Why: Högbom with a cropped PSF never subtracts the sidelobes beyond the patch, so once the
 * residual peak falls below them it cleans them as if they were sources (a sparse snapshot array
 * like DSA-110 has ~0.4 sidelobes hundreds of pixels out; a 128-pixel patch lost 13 % of the
 * flux with Briggs 0 and diverged with natural weighting). The caller must also stop each minor
 * cycle at sidelobe·(its starting peak) (Clark's rule); with the whole PSF the level is 0.
 */
export function choosePsfPatch(psf: Float32Array, nx: number, ny: number, minHalf: number, maxSidelobe: number): { half: number; sidelobe: number } {
  const cx = nx / 2, cy = ny / 2, full = Math.min(cx, cy);
  // ring[d] = max |PSF| at Chebyshev distance d from the centre (d ≥ full: everything beyond the square)
  const ring = new Float64Array(full + 1);
  for (let iy = 0; iy < ny; iy++) {
    const dy = Math.abs(iy - cy), base = iy * nx;
    for (let ix = 0; ix < nx; ix++) {
      const d = Math.min(full, Math.max(dy, Math.abs(ix - cx)));
      const a = Math.abs(psf[base + ix]);
      if (a > ring[d]) ring[d] = a;
    }
  }
  // A patch of half-size h covers offsets [−h, h−1]: offsets with Chebyshev distance ≥ h are (partly) outside.
  // Even the whole PSF image misses the offsets beyond ±nx/2 that pixel pairs inside the image
  // reach; that truncated PSF is not positive definite, so Högbom can diverge on it (it did with
  // natural weighting). Take the PSF's outer band (distance ≥ 7/8 of the edge) as the level of
  // what lies beyond, so every minor cycle stays shallow enough for the major cycle to correct.
  const outAt = new Float64Array(full + 1);
  let suffix = 0;
  for (let h = full; h >= 0; h--) {
    suffix = Math.max(suffix, ring[h]);
    outAt[h] = suffix;
  }
  let beyond = 0;
  for (let d = Math.floor((7 * full) / 8); d <= full; d++) beyond = Math.max(beyond, ring[d]);
  for (let h = 0; h <= full; h++) outAt[h] = Math.max(outAt[h], beyond);
  let half = Math.min(full, Math.max(1, Math.floor(minHalf)));
  while (half < full && outAt[half] > maxSidelobe) half++;
  return { half, sidelobe: outAt[half] };
}

/**
 * Högbom minor cycle, in place on residual and model. Returns the number of components added and
 * the final |peak|. Peak search keeps a per-row maximum so each iteration only rescans the rows the
 * PSF patch touched.
 */
export function hogbom(residual: Float32Array, model: Float32Array, psf: Float32Array, nx: number, ny: number, o: HogbomOptions): { iterations: number; peak: number } {
  const cx = nx / 2, cy = ny / 2;
  const ph = Math.min(o.psfHalf ?? Math.max(nx, ny), nx / 2, ny / 2);
  const mask = o.mask;
  // Maxima of |residual| per block of BLK pixels of each row, and per row: after a component only
  // the blocks the PSF patch touched are rescanned (not whole rows).
  const nBlk = Math.ceil(nx / BLK);
  const blkMax = new Float64Array(ny * nBlk), blkArg = new Int32Array(ny * nBlk);
  const rowMax = new Float64Array(ny), rowArg = new Int32Array(ny);
  const scanBlocks = (iy: number, bLo: number, bHi: number): void => {
    const base = iy * nx;
    for (let b = bLo; b <= bHi; b++) {
      let best = -1, arg = -1;
      const e = Math.min(nx, (b + 1) * BLK);
      if (mask) {
        for (let ix = b * BLK; ix < e; ix++) {
          if (!mask[base + ix]) continue;
          const v = residual[base + ix], a = v < 0 ? -v : v;
          if (a > best) { best = a; arg = ix; }
        }
      } else {
        for (let ix = b * BLK; ix < e; ix++) {
          const v = residual[base + ix], a = v < 0 ? -v : v;
          if (a > best) { best = a; arg = ix; }
        }
      }
      blkMax[iy * nBlk + b] = best; blkArg[iy * nBlk + b] = arg;
    }
    let best = -1, arg = -1;
    for (let b = 0, k = iy * nBlk; b < nBlk; b++, k++) if (blkMax[k] > best) { best = blkMax[k]; arg = blkArg[k]; }
    rowMax[iy] = best; rowArg[iy] = arg;
  };
  for (let iy = 0; iy < ny; iy++) scanBlocks(iy, 0, nBlk - 1);
  let it = 0, peak = 0, peakStart = -1;
  for (;;) {
    let by = 0;
    for (let iy = 1; iy < ny; iy++) if (rowMax[iy] > rowMax[by]) by = iy;
    peak = rowMax[by];
    if (peakStart < 0) peakStart = peak;
    // A growing peak means the (truncated, hence not positive-definite) PSF patch is feeding an
    // instability: stop and let the major cycle compute the true residual.
    if (peak < 0 || it >= o.maxIter || peak < o.stopAt || peak > 1.05 * peakStart) break;
    const bx = rowArg[by];
    const val = residual[by * nx + bx];
    const f = o.gain * val;
    model[by * nx + bx] += f;
    // Subtract f·PSF shifted to (bx, by) within the patch, then rescan the touched blocks.
    const y0 = Math.max(0, by - ph, by - cy), y1 = Math.min(ny - 1, by + ph - 1, by + cy - 1);
    const x0 = Math.max(0, bx - ph, bx - cx), x1 = Math.min(nx - 1, bx + ph - 1, bx + cx - 1);
    const bLo = Math.floor(x0 / BLK), bHi = Math.floor(x1 / BLK);
    for (let iy = y0; iy <= y1; iy++) {
      const rb = iy * nx, pb = (iy - by + cy) * nx - bx + cx;
      for (let ix = x0; ix <= x1; ix++) residual[rb + ix] -= f * psf[pb + ix];
      scanBlocks(iy, bLo, bHi);
    }
    it++;
  }
  return { iterations: it, peak: Math.max(peak, 0) };
}

/**
 * Clark's minor cycle (Clark 1980) for Cotton–Schwab imaging: Högbom iterations restricted to the
 * "active" pixels whose |residual| is at least cut·stopAt (within the mask), with the PSF looked up
 * at each active pixel's offset (within psfHalf) instead of subtracted over a whole patch.
 *
 * Why: the minor cycle only has to choose components; the major cycle then recomputes the exact
 * residual from the visibilities. Subtracting a 2048² PSF patch per component cost 28 CPU-s per
 * 1000 components on a 4096² image; the active set is typically 10³–10⁵ pixels. A pixel below the
 * cut that would have risen above stopAt during this cycle is found in the next major cycle.
 * On return, residual holds the updated values at the active pixels only (others are stale).
 */
export function clarkMinor(
  residual: Float32Array, model: Float32Array, psf: Float32Array, nx: number, ny: number,
  o: HogbomOptions & { cut?: number; maxActive?: number },
): { iterations: number; peak: number; active: number } {
  const cx = nx / 2, cy = ny / 2;
  const ph = Math.min(o.psfHalf ?? Math.max(nx, ny), nx / 2, ny / 2);
  const mask = o.mask;
  let cut = o.stopAt * (o.cut ?? 0.6);
  const maxActive = o.maxActive ?? 200_000;
  let n = 0;
  for (let i = 0; i < residual.length; i++) {
    if (mask && !mask[i]) continue;
    const v = residual[i];
    if (v >= cut || -v >= cut) n++;
  }
  if (n > maxActive) {
    // keep the maxActive largest: raise the cut to the maxActive-th largest |value|
    const a = new Float32Array(n);
    let k = 0;
    for (let i = 0; i < residual.length; i++) {
      if (mask && !mask[i]) continue;
      const v = Math.abs(residual[i]);
      if (v >= cut) a[k++] = v;
    }
    cut = selectKth(a, n, n - maxActive); // the maxActive-th largest
    n = 0;
    for (let i = 0; i < residual.length; i++) if ((!mask || mask[i]) && Math.abs(residual[i]) >= cut) n++;
  }
  const idx = new Int32Array(n), ax = new Int32Array(n), ay = new Int32Array(n), val = new Float64Array(n);
  let m = 0, best = -1, arg = -1;
  for (let i = 0; i < residual.length && m < n; i++) {
    if (mask && !mask[i]) continue;
    const v = residual[i], a = v < 0 ? -v : v;
    if (a < cut) continue;
    idx[m] = i; ax[m] = i % nx; ay[m] = (i / nx) | 0; val[m] = v;
    if (a > best) { best = a; arg = m; }
    m++;
  }
  let it = 0, peak = Math.max(best, 0);
  const peakStart = peak;
  while (arg >= 0 && it < o.maxIter && peak >= o.stopAt && peak <= 1.05 * peakStart) {
    const f = o.gain * val[arg];
    const bx = ax[arg], by = ay[arg];
    model[idx[arg]] += f;
    best = -1; arg = -1;
    for (let j = 0; j < m; j++) {
      const dx = ax[j] - bx, dy = ay[j] - by;
      if (dx >= -ph && dx < ph && dy >= -ph && dy < ph && dx >= -cx && dx < cx && dy >= -cy && dy < cy) {
        val[j] -= f * psf[(dy + cy) * nx + dx + cx];
      }
      const v = val[j], a = v < 0 ? -v : v;
      if (a > best) { best = a; arg = j; }
    }
    peak = Math.max(best, 0);
    it++;
  }
  for (let j = 0; j < m; j++) residual[idx[j]] = val[j];
  return { iterations: it, peak, active: m };
}

/** Row block width of the Högbom peak bookkeeping (pixels). */
const BLK = 128;

/** Restoring beam: FWHM major/minor (radians), position angle (degrees east of north). */
export interface RestoringBeam {
  bmajRad: number;
  bminRad: number;
  bpaDeg: number;
}

/**
 * Fit an elliptical Gaussian (peak fixed at 1) to the PSF main lobe: the pixels above `level`
 * (default 0.35) connected to the centre. Log-linear least squares for a start, then Gauss–Newton
 * on the pixel values. Axes: east = −(ix − nx/2), north = iy − ny/2.
 */
export function fitBeam(psf: Float32Array, nx: number, ny: number, cellRad: number, level = 0.35): RestoringBeam {
  const cx = nx / 2, cy = ny / 2;
  if (!(psf[cy * nx + cx] > 0.5)) throw new DsaError(`PSF peak at the centre is ${psf[cy * nx + cx]}, expected 1`);
  const R = Math.min(128, cx, cy);
  const side = 2 * R + 1;
  const seen = new Uint8Array(side * side);
  const xs: number[] = [], ys: number[] = [], vs: number[] = [];
  const stack: number[] = [R * side + R];
  seen[R * side + R] = 1;
  while (stack.length) {
    const k = stack.pop() as number;
    const dy = Math.floor(k / side) - R, dx = (k % side) - R;
    const v = psf[(cy + dy) * nx + cx + dx];
    if (!(v >= level)) continue;
    xs.push(-dx); ys.push(dy); vs.push(v);
    for (const [ex, ey] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
      const nx2 = dx + ex + R, ny2 = dy + ey + R;
      if (nx2 < 0 || ny2 < 0 || nx2 >= side || ny2 >= side) continue;
      const kk = ny2 * side + nx2;
      if (!seen[kk]) { seen[kk] = 1; stack.push(kk); }
    }
  }
  if (xs.length < 4) throw new DsaError(`PSF main lobe has only ${xs.length} pixels above ${level}: cell too coarse to fit a beam`);
  // start: minimise Σ v²(ln v + a x² + 2b xy + c y²)²
  const A = new Float64Array(9), rhs = new Float64Array(3);
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i], y = ys[i], v = vs[i];
    if (x === 0 && y === 0) continue;
    const g = [x * x, 2 * x * y, y * y], wt = v * v, t = -Math.log(v);
    for (let a = 0; a < 3; a++) { rhs[a] += wt * g[a] * t; for (let b = 0; b < 3; b++) A[3 * a + b] += wt * g[a] * g[b]; }
  }
  let p = solve3(A, rhs);
  for (let iter = 0; iter < 30; iter++) {
    const JtJ = new Float64Array(9), Jtr = new Float64Array(3);
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i], y = ys[i];
      const g = [x * x, 2 * x * y, y * y];
      const model = Math.exp(-(p[0] * g[0] + p[1] * g[1] + p[2] * g[2]));
      const r = vs[i] - model;
      const J = [-g[0] * model, -g[1] * model, -g[2] * model];
      for (let a = 0; a < 3; a++) { Jtr[a] += J[a] * r; for (let b = 0; b < 3; b++) JtJ[3 * a + b] += J[a] * J[b]; }
    }
    const d = solve3(JtJ, Jtr);
    p = [p[0] + d[0], p[1] + d[1], p[2] + d[2]];
    if (Math.abs(d[0]) + Math.abs(d[1]) + Math.abs(d[2]) < 1e-12 * (Math.abs(p[0]) + Math.abs(p[2]))) break;
  }
  return quadToBeam(p[0], p[1], p[2], cellRad);
}

/** Quadratic form a x² + 2b xy + c y² (x east, y north, pixels) → beam. */
export function quadToBeam(a: number, b: number, c: number, cellRad: number): RestoringBeam {
  const tr = (a + c) / 2, dif = Math.sqrt(((a - c) / 2) ** 2 + b * b);
  const l1 = tr - dif, l2 = tr + dif; // l1: major axis (slowest fall-off)
  if (!(l1 > 0)) throw new DsaError('PSF main lobe is not an ellipse (fit diverged)');
  // eigenvector of l1: (b, l1 − a) or (l1 − c, b)
  let ex = b, ey = l1 - a;
  if (Math.abs(ex) + Math.abs(ey) < 1e-15 * (Math.abs(a) + Math.abs(c))) { ex = l1 - c; ey = b; }
  if (Math.abs(ex) + Math.abs(ey) === 0) { ex = a <= c ? 1 : 0; ey = a <= c ? 0 : 1; }
  let pa = (Math.atan2(ex, ey) * 180) / Math.PI; // from north through east
  while (pa > 90) pa -= 180;
  while (pa <= -90) pa += 180;
  const k = 2 * Math.sqrt(Math.LN2);
  return { bmajRad: (k / Math.sqrt(l1)) * cellRad, bminRad: (k / Math.sqrt(l2)) * cellRad, bpaDeg: pa };
}

/** Beam → quadratic-form coefficients (a, b, c) in pixels, x east, y north: G = exp(−(a x² + 2b xy + c y²)). */
export function beamToQuad(beam: RestoringBeam, cellRad: number): [number, number, number] {
  const pa = (beam.bpaDeg * Math.PI) / 180;
  const l1 = (4 * Math.LN2) / (beam.bmajRad / cellRad) ** 2, l2 = (4 * Math.LN2) / (beam.bminRad / cellRad) ** 2;
  const e1x = Math.sin(pa), e1y = Math.cos(pa); // major axis (east, north)
  const e2x = Math.cos(pa), e2y = -Math.sin(pa);
  return [l1 * e1x * e1x + l2 * e2x * e2x, l1 * e1x * e1y + l2 * e2x * e2y, l1 * e1y * e1y + l2 * e2y * e2y];
}

/** Image of a Gaussian beam (peak 1) centred on pixel (nx/2, ny/2). */
export function gaussianImage(beam: RestoringBeam, nx: number, ny: number, cellRad: number): Float32Array {
  const [a, b, c] = beamToQuad(beam, cellRad);
  const out = new Float32Array(nx * ny);
  for (let iy = 0; iy < ny; iy++) for (let ix = 0; ix < nx; ix++) {
    const x = -(ix - nx / 2), y = iy - ny / 2;
    out[iy * nx + ix] = Math.exp(-(a * x * x + 2 * b * x * y + c * y * y));
  }
  return out;
}

/** restored = residual + model ⊛ beam, by stamping each model pixel's Gaussian (peak = its flux). */
export function restore(model: Float32Array, residual: Float32Array, nx: number, ny: number, beam: RestoringBeam, cellRad: number): Float32Array {
  const out = Float32Array.from(residual);
  const [a, b, c] = beamToQuad(beam, cellRad);
  const lmin = Math.min((a + c) / 2 - Math.sqrt(((a - c) / 2) ** 2 + b * b), a, c);
  const R = Math.ceil(Math.sqrt(Math.log(1e5) / lmin)) + 1;
  for (let p = 0; p < model.length; p++) {
    const f = model[p];
    if (f === 0) continue;
    const py = Math.floor(p / nx), px = p - py * nx;
    for (let iy = Math.max(0, py - R); iy <= Math.min(ny - 1, py + R); iy++) {
      const y = iy - py;
      for (let ix = Math.max(0, px - R); ix <= Math.min(nx - 1, px + R); ix++) {
        const x = -(ix - px);
        out[iy * nx + ix] += f * Math.exp(-(a * x * x + 2 * b * x * y + c * y * y));
      }
    }
  }
  return out;
}

function solve3(A: Float64Array, b: Float64Array): number[] {
  const [a00, a01, a02, a10, a11, a12, a20, a21, a22] = A;
  const det = a00 * (a11 * a22 - a12 * a21) - a01 * (a10 * a22 - a12 * a20) + a02 * (a10 * a21 - a11 * a20);
  if (!(Math.abs(det) > 0)) throw new DsaError('beam fit: singular normal equations');
  const x0 = (b[0] * (a11 * a22 - a12 * a21) - a01 * (b[1] * a22 - a12 * b[2]) + a02 * (b[1] * a21 - a11 * b[2])) / det;
  const x1 = (a00 * (b[1] * a22 - a12 * b[2]) - b[0] * (a10 * a22 - a12 * a20) + a02 * (a10 * b[2] - b[1] * a20)) / det;
  const x2 = (a00 * (a11 * b[2] - b[1] * a21) - a01 * (a10 * b[2] - b[1] * a20) + b[0] * (a10 * a21 - a11 * a20)) / det;
  return [x0, x1, x2];
}
