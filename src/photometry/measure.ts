/**
 * Forced photometry at fixed positions with the restoring beam as the kernel
 * (Condon 1997 matched filter, as in the VAST pipeline's forced_phot):
 *   flux = Σ(d·K/σ²) / Σ(K²/σ²),  error = sqrt(1 / Σ(K²/σ²)),
 * over a cutout of ~3 beams, K the beam (peak 1) centred on the sub-pixel position, so the
 * flux in Jy/beam equals the flux density in Jy of a point source. σ is the local noise from
 * an annulus (sigma-clipped 1.4826·MAD). Sources closer than `clusterBeams` beams are fitted
 * jointly (one linear system per group). Fluxes are divided by the primary beam at the source.
 *
 * Image layout: Float32Array nx·ny, row-major, row iy = FITS row (row 0 at the bottom),
 * pixel (ix, iy) centred on integer coordinates; NaN = blank.
 */
import { InputError, UsageError } from '../util/errors.js';
import type { PixelBeam } from './beam.js';
import type { Catalog } from './catalog.js';
import { clippedMadStats } from './stats.js';

export { parseCatalogCsv, makeCatalog } from './catalog.js';
export type { Catalog, BadRow, ParsedCatalog } from './catalog.js';

/** What we need from a WCS: ICRS degrees → 0-based pixel (x, y). */
export interface SkyToPixel {
  worldToPixel(raDeg: number, decDeg: number): [number, number];
}

export interface ImagePlane {
  data: Float32Array;
  nx: number;
  ny: number;
}

export interface SkippedSource {
  /** Row in the input catalogue. */
  index: number;
  name: string;
  reason: string;
}

export interface SelectOptions {
  wcs: SkyToPixel;
  /** Primary-beam image on the same grid (peak ≈ 1). */
  pb?: Float32Array;
  /** Keep only sources where pb ≥ pbLimit (default 0.1). */
  pbLimit?: number;
  /** Keep only catalogue sources with flux_mjy ≥ minMjy (default 10). */
  minMjy?: number;
}

export interface Selection {
  /** Catalogue rows kept, in catalogue order. */
  index: Int32Array;
  x: Float64Array;
  y: Float64Array;
  /** Primary-beam response at each kept source (1 without a pb image). */
  pb: Float64Array;
  /** Sources dropped for a reason worth reporting (outside image, low pb, blank, bad position). */
  skipped: SkippedSource[];
  /** Number of sources dropped only for being fainter than minMjy (not listed individually). */
  nFaint: number;
}

export const FLAG_BLENDED = 1; // fitted jointly with neighbours
export const FLAG_NOISE_FALLBACK = 2; // annulus too sparse: image-wide σ used
export const FLAG_PARTIAL = 4; // cutout touches blank pixels or the image edge
export const FLAG_DEGENERATE = 8; // not separable from a neighbour (flux NaN)
export const FLAG_NO_DATA = 16; // no valid pixels (flux NaN)
export const FLAG_CLUSTER_TOO_BIG = 32; // group exceeded maxJoint: fitted alone

export interface ForcedOptions {
  beam: PixelBeam;
  /**
   * The beam in pixels at a source position, where it varies across the image (plate-carrée
   * mosaics): each source's kernel is then its own; `beam` still sets the noise annulus.
   */
  beamAt?: (x: number, y: number) => PixelBeam;
  /** Primary-beam value per source (divides flux and error); default 1. */
  pbAtSource?: Float64Array;
  /** Full width of the cutout in units of the beam FWHM extent (default 3). */
  cutoutBeams?: number;
  /** Fit jointly when closer than this many bmaj (default 3). 0 disables joint fits. */
  clusterBeams?: number;
  /** Noise annulus inner/outer radii in units of bmaj (default [3, 6]). */
  annulusBeams?: readonly [number, number];
  /** Sub-sample the annulus (on a regular pixel grid) to at most about this many pixels (default 1000). */
  maxAnnulusPixels?: number;
  /** Minimum valid annulus pixels before falling back to the image-wide σ (default 30). */
  minAnnulusPixels?: number;
  /**
   * 'independent' (default): error = sqrt(1/Σ K²/σ²), exact for pixel-independent noise and
   * what VAST reports. 'beam': noise correlated like the restoring beam, as in a real
   * synthesis image; the matched-filter variance is then (4/3)σ² for a point source
   * (Gaussian integrals), so errors are scaled by sqrt(4/3 · Σ K²).
   */
  noiseCorrelation?: 'independent' | 'beam';
  /** Largest group solved jointly (default 200); larger groups are fitted source by source. */
  maxJoint?: number;
}

export interface ForcedResult {
  n: number;
  x: Float64Array;
  y: Float64Array;
  /** Flux density (Jy), primary-beam corrected, and its 1σ error. */
  flux: Float64Array;
  fluxErr: Float64Array;
  /** Before primary-beam correction (Jy/beam). */
  fluxRaw: Float64Array;
  fluxErrRaw: Float64Array;
  /** Local noise σ (Jy/beam) used in the fit. */
  rms: Float64Array;
  snr: Float64Array;
  /**
   * χ² of the fit over the cutout assuming pixel-independent noise, and its degrees of
   * freedom; for a blended group, the χ² and dof of the joint fit (shared by its members).
   */
  chi2: Float64Array;
  dof: Int32Array;
  pb: Float64Array;
  /** Group id (index of the group's first source); equal ids were fitted together. */
  group: Int32Array;
  flags: Uint8Array;
}

/** Bilinear interpolation of a grid at (x, y), clamped at the edges; NaN if any corner is NaN. */
export function sampleBilinear(data: Float32Array, nx: number, ny: number, x: number, y: number): number {
  const xc = Math.min(Math.max(x, 0), nx - 1);
  const yc = Math.min(Math.max(y, 0), ny - 1);
  const x0 = Math.min(Math.floor(xc), nx - 2 < 0 ? 0 : nx - 2);
  const y0 = Math.min(Math.floor(yc), ny - 2 < 0 ? 0 : ny - 2);
  const x1 = Math.min(x0 + 1, nx - 1), y1 = Math.min(y0 + 1, ny - 1);
  const fx = xc - x0, fy = yc - y0;
  const v00 = data[y0 * nx + x0], v10 = data[y0 * nx + x1];
  const v01 = data[y1 * nx + x0], v11 = data[y1 * nx + x1];
  return (1 - fy) * ((1 - fx) * v00 + fx * v10) + fy * ((1 - fx) * v01 + fx * v11);
}

function checkImage(img: ImagePlane): void {
  if (!Number.isInteger(img.nx) || !Number.isInteger(img.ny) || img.nx < 1 || img.ny < 1 || img.data.length !== img.nx * img.ny) {
    throw new InputError('image', `data length ${img.data.length} does not match nx·ny = ${img.nx}·${img.ny}`);
  }
}

/**
 * Choose the catalogue sources to measure on this image: flux ≥ minMjy, position inside
 * the image, not on a blank pixel, and primary beam ≥ pbLimit.
 */
export function selectSources(img: ImagePlane, cat: Catalog, opts: SelectOptions): Selection {
  checkImage(img);
  const { nx, ny, data } = img;
  const pbLimit = opts.pbLimit ?? 0.1;
  const minMjy = opts.minMjy ?? 10;
  if (opts.pb && opts.pb.length !== nx * ny) {
    throw new InputError('primary beam', `pb length ${opts.pb.length} does not match the image (${nx}×${ny})`);
  }
  const n = cat.raDeg.length;
  const idx: number[] = [], xs: number[] = [], ys: number[] = [], pbs: number[] = [];
  const skipped: SkippedSource[] = [];
  let nFaint = 0;
  for (let i = 0; i < n; i++) {
    if (!(cat.fluxMjy[i] >= minMjy)) { nFaint++; continue; }
    const [x, y] = opts.wcs.worldToPixel(cat.raDeg[i], cat.decDeg[i]);
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      skipped.push({ index: i, name: cat.name[i], reason: 'position does not map to a pixel' });
      continue;
    }
    if (x < -0.5 || x >= nx - 0.5 || y < -0.5 || y >= ny - 0.5) {
      skipped.push({ index: i, name: cat.name[i], reason: `outside the image (pixel ${x.toFixed(1)}, ${y.toFixed(1)})` });
      continue;
    }
    const ix = Math.round(x), iy = Math.round(y);
    if (Number.isNaN(data[iy * nx + ix])) {
      skipped.push({ index: i, name: cat.name[i], reason: 'blank pixel at the position' });
      continue;
    }
    let pb = 1;
    if (opts.pb) {
      pb = sampleBilinear(opts.pb, nx, ny, x, y);
      if (!(pb >= pbLimit)) {
        skipped.push({ index: i, name: cat.name[i], reason: `primary beam ${Number.isNaN(pb) ? 'blank' : pb.toFixed(3)} below limit ${pbLimit}` });
        continue;
      }
    }
    idx.push(i); xs.push(x); ys.push(y); pbs.push(pb);
  }
  return {
    index: Int32Array.from(idx),
    x: Float64Array.from(xs),
    y: Float64Array.from(ys),
    pb: Float64Array.from(pbs),
    skipped,
    nFaint,
  };
}

// ---- union-find over sources closer than the clustering distance ----

function findRoot(parent: Int32Array, i: number): number {
  while (parent[i] !== i) { parent[i] = parent[parent[i]]; i = parent[i]; }
  return i;
}

/** Group sources closer than `dist` pixels (grid hashing, O(n) for sparse fields). */
export function groupSources(x: Float64Array, y: Float64Array, dist: number): Int32Array {
  const n = x.length;
  const parent = new Int32Array(n);
  for (let i = 0; i < n; i++) parent[i] = i;
  if (n > 1 && dist > 0) {
    let xmin = Infinity, ymin = Infinity, xmax = -Infinity, ymax = -Infinity;
    for (let i = 0; i < n; i++) {
      if (x[i] < xmin) xmin = x[i]; if (x[i] > xmax) xmax = x[i];
      if (y[i] < ymin) ymin = y[i]; if (y[i] > ymax) ymax = y[i];
    }
    const ncx = Math.floor((xmax - xmin) / dist) + 1;
    const ncy = Math.floor((ymax - ymin) / dist) + 1;
    const ncell = ncx * ncy;
    const head = new Int32Array(ncell).fill(-1);
    const next = new Int32Array(n);
    const cx = new Int32Array(n), cy = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      cx[i] = Math.floor((x[i] - xmin) / dist);
      cy[i] = Math.floor((y[i] - ymin) / dist);
      const k = cy[i] * ncx + cx[i];
      next[i] = head[k];
      head[k] = i;
    }
    const d2 = dist * dist;
    for (let i = 0; i < n; i++) {
      for (let gy = Math.max(cy[i] - 1, 0); gy <= Math.min(cy[i] + 1, ncy - 1); gy++) {
        for (let gx = Math.max(cx[i] - 1, 0); gx <= Math.min(cx[i] + 1, ncx - 1); gx++) {
          for (let j = head[gy * ncx + gx]; j >= 0; j = next[j]) {
            if (j <= i) continue;
            const dx = x[j] - x[i], dy = y[j] - y[i];
            if (dx * dx + dy * dy < d2) {
              const ri = findRoot(parent, i), rj = findRoot(parent, j);
              if (ri !== rj) parent[Math.max(ri, rj)] = Math.min(ri, rj);
            }
          }
        }
      }
    }
  }
  const group = new Int32Array(n);
  for (let i = 0; i < n; i++) group[i] = findRoot(parent, i);
  return group;
}

/**
 * In-place Cholesky of the leading m×m block of A (row stride `ld`). Returns −1 on success
 * or the index of the first pivot that is not positive relative to its diagonal (degenerate).
 */
function cholesky(A: Float64Array, m: number, ld: number, diag0: Float64Array): number {
  for (let j = 0; j < m; j++) {
    let s = A[j * ld + j];
    for (let k = 0; k < j; k++) s -= A[j * ld + k] * A[j * ld + k];
    if (!(s > 1e-9 * diag0[j])) return j;
    const l = Math.sqrt(s);
    A[j * ld + j] = l;
    for (let i = j + 1; i < m; i++) {
      let t = A[i * ld + j];
      for (let k = 0; k < j; k++) t -= A[i * ld + k] * A[j * ld + k];
      A[i * ld + j] = t / l;
    }
  }
  return -1;
}

/** Solve L Lᵀ z = r in place (L from `cholesky`). */
function cholSolve(L: Float64Array, m: number, ld: number, r: Float64Array): void {
  for (let i = 0; i < m; i++) {
    let s = r[i];
    for (let k = 0; k < i; k++) s -= L[i * ld + k] * r[k];
    r[i] = s / L[i * ld + i];
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = r[i];
    for (let k = i + 1; k < m; k++) s -= L[k * ld + i] * r[k];
    r[i] = s / L[i * ld + i];
  }
}

/**
 * Forced photometry at pixel positions (x, y). See the module comment for the estimator.
 */
export function forcedPhotometry(img: ImagePlane, x: Float64Array, y: Float64Array, opts: ForcedOptions): ForcedResult {
  checkImage(img);
  const { nx, ny, data } = img;
  const n = x.length;
  if (y.length !== n) throw new UsageError(`forcedPhotometry: x has ${n} values, y has ${y.length}`);
  const beam = opts.beam;
  const pbAt = opts.pbAtSource;
  if (pbAt && pbAt.length !== n) throw new UsageError(`forcedPhotometry: pbAtSource has ${pbAt.length} values for ${n} sources`);
  // per-source kernel coefficients (one shared beam unless beamAt gives each its own)
  const beams = opts.beamAt ? Array.from({ length: n }, (_, i) => opts.beamAt!(x[i], y[i])) : undefined;
  const QA = new Float64Array(n).fill(beam.a), QB = new Float64Array(n).fill(beam.b), QC = new Float64Array(n).fill(beam.c);
  let halfX = beam.halfX, halfY = beam.halfY, bmajPix = beam.bmajPix;
  if (beams) beams.forEach((b, i) => {
    QA[i] = b.a; QB[i] = b.b; QC[i] = b.c;
    halfX = Math.max(halfX, b.halfX); halfY = Math.max(halfY, b.halfY); bmajPix = Math.max(bmajPix, b.bmajPix);
  });
  const cutout = opts.cutoutBeams ?? 3;
  const hx = Math.max(1, Math.ceil((cutout / 2) * halfX));
  const hy = Math.max(1, Math.ceil((cutout / 2) * halfY));
  const clusterDist = (opts.clusterBeams ?? 3) * bmajPix;
  const [ann1, ann2] = opts.annulusBeams ?? [3, 6];
  const r1 = ann1 * beam.bmajPix, r2 = ann2 * beam.bmajPix;
  if (!(r2 > r1) || !(r1 >= 0)) throw new UsageError(`forcedPhotometry: bad annulus [${ann1}, ${ann2}]`);
  const maxAnn = opts.maxAnnulusPixels ?? 1000;
  const minAnn = opts.minAnnulusPixels ?? 30;
  const beamNoise = (opts.noiseCorrelation ?? 'independent') === 'beam';
  const maxJoint = opts.maxJoint ?? 200;
  const QMAX = 30; // exp(−30) ≈ 1e−13: kernel treated as zero beyond this

  const res: ForcedResult = {
    n,
    x: Float64Array.from(x),
    y: Float64Array.from(y),
    flux: new Float64Array(n).fill(NaN),
    fluxErr: new Float64Array(n).fill(NaN),
    fluxRaw: new Float64Array(n).fill(NaN),
    fluxErrRaw: new Float64Array(n).fill(NaN),
    rms: new Float64Array(n).fill(NaN),
    snr: new Float64Array(n).fill(NaN),
    chi2: new Float64Array(n).fill(NaN),
    dof: new Int32Array(n),
    pb: new Float64Array(n),
    group: new Int32Array(n),
    flags: new Uint8Array(n),
  };
  for (let i = 0; i < n; i++) res.pb[i] = pbAt ? pbAt[i] : 1;

  // ---- local noise from a sub-sampled annulus ----
  const area = Math.PI * (r2 * r2 - r1 * r1);
  const stride = Math.max(1, Math.ceil(Math.sqrt(area / maxAnn)));
  const annCap = Math.ceil(((2 * r2 + 2) / stride + 1) ** 2);
  const annBuf = new Float64Array(annCap);
  const annScratch = new Float64Array(annCap);
  const stat = new Float64Array(3);
  let globalSigma = NaN;
  const imageSigma = (): number => {
    if (Number.isNaN(globalSigma)) {
      const total = nx * ny;
      const step = Math.max(1, Math.floor(total / 200000));
      const buf = new Float64Array(Math.ceil(total / step));
      let m = 0;
      for (let k = 0; k < total; k += step) { const v = data[k]; if (v === v) buf[m++] = v; }
      clippedMadStats(buf, m, new Float64Array(m), stat);
      globalSigma = stat[1];
    }
    return globalSigma;
  };
  const r1s = r1 * r1, r2s = r2 * r2;
  const rCeil = Math.ceil(r2);
  for (let i = 0; i < n; i++) {
    const xi = x[i], yi = y[i];
    const ix0 = Math.round(xi), iy0 = Math.round(yi);
    // align the sub-sampling grid to absolute pixel indices so neighbours share samples
    const xa = Math.max(0, ix0 - rCeil), xb = Math.min(nx - 1, ix0 + rCeil);
    const ya = Math.max(0, iy0 - rCeil), yb = Math.min(ny - 1, iy0 + rCeil);
    let m = 0;
    for (let iy = ya - (ya % stride); iy <= yb; iy += stride) {
      if (iy < ya) continue;
      const dy = iy - yi, dy2 = dy * dy, row = iy * nx;
      for (let ix = xa - (xa % stride); ix <= xb; ix += stride) {
        if (ix < xa) continue;
        const dx = ix - xi, r = dx * dx + dy2;
        if (r < r1s || r > r2s) continue;
        const v = data[row + ix];
        if (v === v) annBuf[m++] = v;
      }
    }
    let sigma = NaN;
    if (m >= minAnn) {
      clippedMadStats(annBuf, m, annScratch, stat);
      sigma = stat[1];
    }
    if (!(sigma > 0)) {
      sigma = imageSigma();
      res.flags[i] |= FLAG_NOISE_FALLBACK;
    }
    res.rms[i] = sigma;
  }

  // ---- groups of sources to fit jointly ----
  const group = groupSources(x, y, clusterDist);
  res.group.set(group);
  const count = new Int32Array(n);
  for (let i = 0; i < n; i++) count[group[i]]++;
  // members of each group, contiguous: start offsets by root
  const start = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) start[i + 1] = start[i] + count[i];
  const fill = start.slice(0, n);
  const members = new Int32Array(n);
  for (let i = 0; i < n; i++) members[fill[group[i]]++] = i;

  const fitErrScale = (Aii: number): number => (beamNoise ? Math.sqrt((4 / 3) * Aii) : 1);

  // single-source fit (also used for oversize groups)
  const fitOne = (i: number): void => {
    const xi = x[i], yi = y[i];
    const qa = QA[i], qb = QB[i], qc = QC[i], rho = Math.exp(-2 * qa);
    const ix0 = Math.round(xi), iy0 = Math.round(yi);
    let skk = 0, sdk = 0, sdd = 0, npix = 0;
    let partial = ix0 - hx < 0 || ix0 + hx >= nx || iy0 - hy < 0 || iy0 + hy >= ny;
    const xa = Math.max(0, ix0 - hx), xb = Math.min(nx - 1, ix0 + hx);
    const ya = Math.max(0, iy0 - hy), yb = Math.min(ny - 1, iy0 + hy);
    for (let iy = ya; iy <= yb; iy++) {
      const dy = iy - yi, row = iy * nx;
      // Gaussian along a row by recurrence: K(dx+1) = K(dx)·r, r(dx+1) = r(dx)·exp(−2a)
      const dx0 = xa - xi;
      let k = Math.exp(-(qa * dx0 * dx0 + qb * dx0 * dy + qc * dy * dy));
      let r = Math.exp(-(qa * (2 * dx0 + 1) + qb * dy));
      for (let ix = xa; ix <= xb; ix++) {
        const d = data[row + ix];
        if (d === d) { skk += k * k; sdk += d * k; sdd += d * d; npix++; } else partial = true;
        k *= r; r *= rho;
      }
    }
    if (partial) res.flags[i] |= FLAG_PARTIAL;
    if (!(skk > 0) || npix < 2) { res.flags[i] |= FLAG_NO_DATA; return; }
    const sigma = res.rms[i];
    const f = sdk / skk;
    const e = (sigma / Math.sqrt(skk)) * fitErrScale(skk);
    store(i, f, e, (sdd - f * sdk) / (sigma * sigma), npix - 1);
  };

  const store = (i: number, f: number, e: number, chi2: number, dof: number): void => {
    const pb = res.pb[i];
    res.fluxRaw[i] = f;
    res.fluxErrRaw[i] = e;
    res.flux[i] = f / pb;
    res.fluxErr[i] = e / pb;
    res.snr[i] = f / e;
    res.chi2[i] = Math.max(chi2, 0);
    res.dof[i] = dof;
  };

  // scratch for joint fits (grown on demand)
  let cap = 0;
  let A = new Float64Array(0), L = new Float64Array(0), bvec = new Float64Array(0), diag0 = new Float64Array(0);
  let kval = new Float64Array(0), kidx = new Int32Array(0), active = new Int32Array(0), rhs = new Float64Array(0);
  const ensure = (m: number): void => {
    if (m <= cap) return;
    cap = m;
    A = new Float64Array(m * m); L = new Float64Array(m * m); bvec = new Float64Array(m); diag0 = new Float64Array(m);
    kval = new Float64Array(m); kidx = new Int32Array(m); active = new Int32Array(m); rhs = new Float64Array(m);
  };

  let rowK = new Float64Array(0), mask = new Uint8Array(0);
  const ensureRow = (nk: number, w: number): void => {
    if (rowK.length < nk) rowK = new Float64Array(nk);
    if (mask.length < w) mask = new Uint8Array(w);
  };

  const fitGroup = (g0: number, m: number): void => {
    ensure(m);
    A.fill(0, 0, m * m); bvec.fill(0, 0, m);
    let xa = Infinity, xb = -Infinity, ya = Infinity, yb = -Infinity;
    let sig2 = 0;
    for (let t = 0; t < m; t++) {
      const i = members[g0 + t];
      const ix0 = Math.round(x[i]), iy0 = Math.round(y[i]);
      xa = Math.min(xa, ix0 - hx); xb = Math.max(xb, ix0 + hx);
      ya = Math.min(ya, iy0 - hy); yb = Math.max(yb, iy0 + hy);
      sig2 += res.rms[i] * res.rms[i];
      res.flags[i] |= FLAG_BLENDED;
      if (ix0 - hx < 0 || ix0 + hx >= nx || iy0 - hy < 0 || iy0 + hy >= ny) res.flags[i] |= FLAG_PARTIAL;
    }
    const sigma = Math.sqrt(sig2 / m); // one noise level per group so the system stays linear
    xa = Math.max(0, xa); xb = Math.min(nx - 1, xb); ya = Math.max(0, ya); yb = Math.min(ny - 1, yb);
    let sdd = 0, npix = 0;
    const W = xb - xa + 1;
    ensureRow(m * W, W);
    for (let iy = ya; iy <= yb; iy++) {
      const row = iy * nx;
      // fit region = union of the members' cutouts; kernels where exp(−Q) is not negligible
      mask.fill(0, 0, W);
      rowK.fill(0, 0, m * W);
      for (let t = 0; t < m; t++) {
        const i = members[g0 + t];
        const xt = x[i], dy = iy - y[i];
        const ixt = Math.round(xt);
        if (Math.abs(iy - Math.round(y[i])) <= hy) {
          const lo = Math.max(ixt - hx, xa), hi = Math.min(ixt + hx, xb);
          for (let ix = lo; ix <= hi; ix++) mask[ix - xa] = 1;
        }
        // a·dx² + b·dy·dx + c·dy² < QMAX
        const qa = QA[i], qb = QB[i], qc = QC[i], rho = Math.exp(-2 * qa);
        const bb = qb * dy, disc = bb * bb - 4 * qa * (qc * dy * dy - QMAX);
        if (disc <= 0) continue;
        const sq = Math.sqrt(disc);
        const lo = Math.max(xa, Math.ceil(xt + (-bb - sq) / (2 * qa)));
        const hi = Math.min(xb, Math.floor(xt + (-bb + sq) / (2 * qa)));
        if (hi < lo) continue;
        const dx0 = lo - xt;
        let k = Math.exp(-(qa * dx0 * dx0 + qb * dx0 * dy + qc * dy * dy));
        let r = Math.exp(-(qa * (2 * dx0 + 1) + qb * dy));
        const base = t * W - xa;
        for (let ix = lo; ix <= hi; ix++) { rowK[base + ix] = k; k *= r; r *= rho; }
      }
      for (let ix = xa; ix <= xb; ix++) {
        if (!mask[ix - xa]) continue;
        const d = data[row + ix];
        if (d !== d) continue;
        let nk = 0;
        for (let t = 0; t < m; t++) {
          const kv = rowK[t * W + ix - xa];
          if (kv > 0) { kval[nk] = kv; kidx[nk] = t; nk++; }
        }
        sdd += d * d; npix++;
        for (let p = 0; p < nk; p++) {
          const kp = kval[p], tp = kidx[p];
          bvec[tp] += d * kp;
          const rowp = tp * m;
          for (let q = 0; q < nk; q++) A[rowp + kidx[q]] += kp * kval[q];
        }
      }
    }
    // Solve for the active members; drop any member whose column is degenerate and retry.
    let na = 0;
    for (let t = 0; t < m; t++) {
      if (A[t * m + t] > 0) active[na++] = t;
      else { const i = members[g0 + t]; res.flags[i] |= FLAG_NO_DATA; }
    }
    for (;;) {
      if (na === 0) return;
      for (let p = 0; p < na; p++) {
        diag0[p] = A[active[p] * m + active[p]];
        for (let r = 0; r < na; r++) L[p * na + r] = A[active[p] * m + active[r]];
      }
      const bad = cholesky(L, na, na, diag0);
      if (bad < 0) break;
      res.flags[members[g0 + active[bad]]] |= FLAG_DEGENERATE;
      for (let p = bad; p < na - 1; p++) active[p] = active[p + 1];
      na--;
    }
    for (let p = 0; p < na; p++) rhs[p] = bvec[active[p]];
    cholSolve(L, na, na, rhs);
    let fb = 0;
    for (let p = 0; p < na; p++) fb += rhs[p] * bvec[active[p]];
    const chi2 = (sdd - fb) / (sigma * sigma);
    // variances: diagonal of A⁻¹ via one solve per member (groups are small)
    const e = diag0; // reuse: diag0[p] ← error of active member p
    const unit = kval;
    for (let p = 0; p < na; p++) {
      unit.fill(0, 0, na);
      unit[p] = 1;
      cholSolve(L, na, na, unit);
      const Aii = A[active[p] * m + active[p]];
      e[p] = sigma * Math.sqrt(unit[p]) * fitErrScale(Aii);
    }
    for (let p = 0; p < na; p++) {
      store(members[g0 + active[p]], rhs[p], e[p], chi2, npix - na);
    }
  };

  for (let g = 0; g < n; g++) {
    const m = count[g];
    if (m === 0) continue;
    const g0 = start[g];
    if (m === 1) fitOne(members[g0]);
    else if (m > maxJoint) {
      for (let t = 0; t < m; t++) { const i = members[g0 + t]; res.flags[i] |= FLAG_CLUSTER_TOO_BIG; fitOne(i); }
    } else fitGroup(g0, m);
  }
  return res;
}

export interface MeasureOptions extends SelectOptions, Omit<ForcedOptions, 'pbAtSource'> {}

export interface MeasureResult extends ForcedResult {
  /** Catalogue row of each measurement. */
  index: Int32Array;
  skipped: SkippedSource[];
  nFaint: number;
}

/** Select catalogue sources on the image and measure them (see selectSources, forcedPhotometry). */
export function measureForced(img: ImagePlane, cat: Catalog, opts: MeasureOptions): MeasureResult {
  const sel = selectSources(img, cat, opts);
  const r = forcedPhotometry(img, sel.x, sel.y, { ...opts, pbAtSource: sel.pb });
  return { ...r, index: sel.index, skipped: sel.skipped, nFaint: sel.nFaint };
}
