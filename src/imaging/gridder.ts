/**
 * Wide-field gridder/degridder: ES kernel in u, v and w ("improved w-stacking", as ducc0's
 * wgridder does it) with 2× padded FFT grids.
 *
 * Dirty image (real):  I(l,m) = Re Σ_k y_k e^{−2πi(u_k l + v_k m + w_k(n−1))}
 * Predict (adjoint):   V_k = Σ_pix I(l,m) e^{+2πi(u_k l + v_k m + w_k(n−1))}
 *
 * Method. n−1 over the image lies in [s − x_max, s + x_max]; a per-visibility phase e^{−2πi w s}
 * centres it. Visibilities are spread onto w-planes w_p = w_0 + p·dw with the ES kernel in w
 * (dw = 1/(2σ·x_max)), each plane is FFT'd (pruned to the occupied v-rows and the image
 * columns), multiplied by e^{−2πi w_p x} and summed (Horner in z = e^{−2πi dw x}); finally the
 * kernel's Fourier transforms ψ_u(l)·ψ_v(m)·ψ_w(dw·x) are divided out.
 *
 * Grid index convention: grid cell (ku, kv), origin at (Nu/2, Nv/2), with
 *   gu = −u·cell·Nu (u flipped so that ix grows westward), gv = +v·cell·Nv (u, v in wavelengths).
 * The origin offset contributes (−1)^(jx+jy), folded into the per-pixel correction.
 *
 * The per-plane steps are free functions of a plain-data GridPlan so that worker threads can
 * run them on disjoint v-row bands / image columns (see parallel.ts).
 */
import { C_LIGHT } from '../astro/constants.js';
import { slantOneMinusN } from '../astro/wcs.js';
import { DsaError } from '../util/errors.js';
import { EsKernel, type KernelSpec } from './kernel.js';
import { Fft1d, goodFftSize } from './fft.js';
import { maxOneMinusN } from './geometry.js';
import type { ImageGeometry } from './types.js';
import { TILE_V, planeRows, tileRange } from './vis-order.js';
import { kernelsFor, type WasmArena } from './wasm-kernels.js';

export interface GridderOptions {
  /** Grid oversampling σ (padded grid / image side), default 2. */
  oversampling?: number;
  /**
   * Kernel support W in cells (and w-planes), default 5. Measured max error of a point-source
   * image vs the direct DFT (3.5° field, 2.5 km baselines, 1e-4 required), relative to the peak:
   * W=4 8e-5, W=5 1.3e-5, W=6 7e-7, W=7 7e-8. Gridding cost grows as W³.
   */
  support?: number;
  /** ES β; default 2.3·W. */
  beta?: number;
  /** Correct the w-term with w-stacking (default true). false = plain 2-D gridding. */
  wStacking?: boolean;
}

/** Everything the per-plane kernels need, as numbers and typed arrays (shareable with workers). */
export interface GridPlan {
  nx: number; ny: number; cellRad: number;
  Nu: number; Nv: number;
  W: number; beta: number;
  /** Kernel table (EsKernel.table) and its samples per cell. */
  table: Float64Array; tableOs: number;
  nRow: number; nChan: number;
  uvw: Float64Array; freq: Float64Array;
  /** Occupied grid rows [vLo, vHi] and columns [uLo, uHi] (absolute grid indices). */
  vLo: number; vHi: number; uLo: number; uHi: number;
  nPlanes: number;
  /** w-plane spacing (wavelengths), w of plane 0, and n−1 shift s. */
  dw: number; w0: number; nShift: number;
  /** Per row: min and max over channels of the continuous w-plane coordinate wg. */
  rowWgMin: Float64Array; rowWgMax: Float64Array;
  /** Per pixel, column-major (p = ix·ny + iy): z = e^{−2πi dw x} (interleaved), e0 = e^{−2πi w0 x} (interleaved), corr = (−1)^(jx+jy)/(ψuψvψw). */
  z: Float32Array; e0: Float32Array; corr: Float32Array;
  /** Visibilities beyond the padded grid (excluded from imaging, predicted as 0). */
  nOutside: number;
  wStacking: boolean;
  /**
   * Rows whose uvw were mirrored (w < 0 → −uvw) so that all w ≥ 0: the dirty image is real, so
   * a visibility y at (u,v,w) contributes exactly as y* at (−u,−v,−w) (ducc0 does the same). This
   * halves the w range and so the number of w-planes. On a slanted plane the sign of the original
   * w decides (the residual w then has either sign). applyShiftPhase conjugates those rows.
   */
  flip: Uint8Array;
  /**
   * Set by orderRowsForGridding (vis-order.ts) on single-channel plans whose rows are sorted by
   * (first w-plane, v tile, u tile): rows with first w-plane g are [wGroupStart[g], wGroupStart[g+1]).
   */
  wGroupStart?: Int32Array;
  /** Per-row kernel taps precomputed once per image (precomputeTaps; sorted single-channel plans). */
  taps?: RowTaps;
  /**
   * Per-row shift phase e^{−2πi w s} (complex float32) of single-channel plans, set by precomputeTaps:
   * every gridding and prediction pass applies it, and recomputing its sine and cosine each time
   * had cost ~10 % of a full image.
   */
  rowPhase?: Float32Array;
  /** Per-row time chunk for the beam-aware predict: degridding with a chunk ≥ 0 skips other rows. */
  rowChunk?: Uint8Array;
  /**
   * Sorted plans with K > 1 chunks: rows of w group g and chunk k are
   * [chunkStart[g·K + k], chunkStart[g·K + k + 1]) (K = (chunkStart.length − 1) / number of groups).
   */
  chunkStart?: Int32Array;
}

/**
 * The separable kernel taps of every row, computed once per image instead of once per plane and
 * pass (the u, v and w table interpolations were ~half the gridding time): first cells k0 (u, v)
 * and w-group, and W float32 taps in u, v and w each.
 */
export interface RowTaps { k0: Int32Array; ku: Float32Array; kv: Float32Array; kw: Float32Array }

/** Fill plan.taps for a sorted single-channel plan (rows beyond the last w group are skipped); leaves it unset if a row's first w-plane is not its group. */
export function precomputeTaps(plan: GridPlan, alloc: (bytes: number) => ArrayBufferLike = (b) => new ArrayBuffer(b), arena?: WasmArena, fill = true): void {
  const { W, nRow, uvw, freq, dw, w0, wStacking, wGroupStart } = plan;
  if (plan.nChan !== 1 || !wGroupStart) throw new DsaError('precomputeTaps: sorted single-channel plans only');
  const h = W / 2, f = freq[0];
  // the same expressions, in the same order, as spreadPlane and rowCells (vis-order.ts): the w
  // group of a row must come out identical to the one it was sorted into
  const cw = 1 / (dw * C_LIGHT), wOff = -w0 / dw;
  // Each row's w tap index is p − g (g its group): check that the groups are the rows' first planes.
  if (wStacking) for (let g = 0; g + 1 < wGroupStart.length; g++) {
    for (let r = wGroupStart[g]; r < wGroupStart[g + 1]; r++) {
      // a row clamped into the last group at a rounding edge: leave the plan on the general path
      if (Math.ceil(uvw[3 * r + 2] * cw * f + wOff - h) !== g) return;
    }
  }
  // in the SIMD kernels' memory when the caller has one (GridPool.arenaFor), saving a 1.6 GB copy
  const k0 = arena ? arena.i32(2 * nRow) : new Int32Array(alloc(8 * nRow));
  const ku = arena ? arena.f32(W * nRow) : new Float32Array(alloc(4 * W * nRow));
  const kv = arena ? arena.f32(W * nRow) : new Float32Array(alloc(4 * W * nRow));
  const kw = arena ? arena.f32(W * nRow) : new Float32Array(alloc(4 * W * nRow));
  plan.taps = { k0, ku, kv, kw };
  if (wStacking && plan.nShift !== 0) plan.rowPhase = new Float32Array(alloc(8 * nRow));
  // fill = false: the caller has the pool's workers fill their rows (GridPool.fillTaps)
  if (fill) fillTaps(plan, 0, nRow);
}

/** Compute plan.taps and plan.rowPhase (allocated by precomputeTaps) for rows [r0, r1). */
export function fillTaps(plan: GridPlan, r0: number, r1: number): void {
  const { W, Nu, Nv, uvw, freq, table, tableOs, dw, w0, cellRad, wStacking, wGroupStart } = plan;
  const { k0, ku, kv, kw } = plan.taps as RowTaps;
  const h = W / 2, f = freq[0];
  const cu = -cellRad * Nu / C_LIGHT, cv = cellRad * Nv / C_LIGHT, cw = 1 / (dw * C_LIGHT);
  const nu2 = Nu / 2, nv2 = Nv / 2, wOff = -w0 / dw;
  const end = Math.min(r1, (wGroupStart as Int32Array)[(wGroupStart as Int32Array).length - 1]);
  for (let r = r0; r < end; r++) {
    const gu0 = uvw[3 * r] * cu * f + nu2, gv0 = uvw[3 * r + 1] * cv * f + nv2;
    const k0u = Math.ceil(gu0 - h), k0v = Math.ceil(gv0 - h);
    k0[2 * r] = k0u; k0[2 * r + 1] = k0v;
    const ju = (k0u - gu0 + h) * tableOs, jv = (k0v - gv0 + h) * tableOs;
    const iu = ju | 0, iv = jv | 0, fu = ju - iu, fv = jv - iv;
    let jw = 0, iw = 0, fw = 0;
    if (wStacking) {
      const wg = uvw[3 * r + 2] * cw * f + wOff;
      jw = (Math.ceil(wg - h) - wg + h) * tableOs; iw = jw | 0; fw = jw - iw;
    }
    for (let t = 0, o = 0; t < W; t++, o += tableOs) {
      const a = table[iu + o], b = table[iv + o];
      ku[W * r + t] = a + (table[iu + o + 1] - a) * fu;
      kv[W * r + t] = b + (table[iv + o + 1] - b) * fv;
      if (wStacking) { const c = table[iw + o]; kw[W * r + t] = c + (table[iw + o + 1] - c) * fw; } else kw[W * r + t] = 1;
    }
  }
  const ph = plan.rowPhase;
  if (ph) {
    const k = (-2 * Math.PI * plan.nShift * f) / C_LIGHT;
    for (let r = r0; r < r1; r++) { const a = k * uvw[3 * r + 2]; ph[2 * r] = Math.cos(a); ph[2 * r + 1] = Math.sin(a); }
  }
}

/**
 * The w-planes for w in [wMin, wMax] (wavelengths) and |n − 1 − s| ≤ xMax: spacing dw, w of plane
 * 0, count. A visibility at continuous plane coordinate wg = (w − w0)/dw spreads onto planes
 * ceil(wg − W/2) … + W − 1. Two choices beyond ducc0's:
 *  - w0 puts wMin at wg = W/2 − 1 + ε rather than W/2, so that ⌈Δw/dw⌉ − 1 + 1 first planes
 *    (not ⌈Δw/dw⌉ + 1) serve the range: one plane fewer;
 *  - a narrow range (a slanted plane leaves ~100 λ) puts every visibility at nearly the same kernel
 *    offset in w, where the kernel's aliasing adds up coherently instead of averaging out (3.4e-4
 *    of the peak at σ = 2 when Δw ≪ dw; 1.2e-5 at 4): w is oversampled up to 4× as far as that
 *    costs no extra plane.
 */
export function wPlaneLayout(wMin: number, wMax: number, xMax: number, W: number, sigma = 2): { dw: number; w0: number; nPlanes: number } {
  const EPS = 1e-3, R = Math.max(0, wMax - wMin);
  const groups = (dw: number): number => Math.ceil(R / dw - 1 + EPS) + 1;
  const n0 = groups(0.5 / sigma / xMax);
  const sigmaW = R > 0 ? Math.min(4, Math.max(sigma, (n0 - 2 * EPS) / (R * 2 * xMax))) : 4;
  const dw = 0.5 / sigmaW / xMax;
  return { dw, w0: wMin - (W / 2 - 1 + EPS) * dw, nPlanes: groups(dw) + W - 1 };
}

/** Build the gridding plan for a uv coverage and an image geometry. */
export function makeGridPlan(
  data: { nRow: number; nChan: number; uvw: Float64Array; freq: Float64Array },
  geom: ImageGeometry,
  opts: GridderOptions = {},
  alloc: (bytes: number) => ArrayBufferLike = (b) => new ArrayBuffer(b),
  /** The caller hands data.uvw over: mirror rows in it instead of copying (saves 24 B per row). */
  ownsUvw = false,
): GridPlan {
  const sigma = opts.oversampling ?? 2;
  const W = opts.support ?? 5;
  const spec: KernelSpec = { support: W, beta: opts.beta ?? 2.3 * W };
  const kernel = new EsKernel(spec);
  const { nx, ny, cellRad } = geom;
  if (nx % 2 || ny % 2) throw new DsaError(`image size ${nx}×${ny} must be even`);
  const Nu = goodFftSize(Math.ceil(sigma * nx));
  const Nv = goodFftSize(Math.ceil(sigma * ny));
  const h = W / 2;
  const { nRow, nChan, freq } = data;
  const wStacking = opts.wStacking ?? true;
  let uvw = data.uvw;
  if (!ownsUvw) { uvw = new Float64Array(alloc(24 * nRow)); uvw.set(data.uvw.subarray(0, 3 * nRow)); }
  // A slanted pixel plane (slant.ts) absorbs ξu + ηv of w: only the residual is w-stacked.
  const slant = wStacking && geom.slant && (geom.slant[0] !== 0 || geom.slant[1] !== 0) ? geom.slant : undefined;
  if (geom.slant && !slant && (geom.slant[0] !== 0 || geom.slant[1] !== 0)) throw new DsaError('a slanted image plane needs w-stacking');
  // Mirroring rows to w ≥ 0 halves the w range. With a slant the w range is small anyway, and the
  // rows are mirrored by the sign of their original w instead, which keeps v on one side (w ≈ −ηv)
  // and so the occupied band of grid rows half as tall (the row FFTs' cost).
  const flip = new Uint8Array(alloc(nRow));
  if (wStacking) for (let r = 0; r < nRow; r++) if (uvw[3 * r + 2] < 0) flip[r] = 1;
  if (slant) for (let r = 0; r < nRow; r++) uvw[3 * r + 2] += slant[0] * uvw[3 * r] + slant[1] * uvw[3 * r + 1];
  if (wStacking) for (let r = 0; r < nRow; r++) if (flip[r]) {
    uvw[3 * r] = -uvw[3 * r]; uvw[3 * r + 1] = -uvw[3 * r + 1]; uvw[3 * r + 2] = -uvw[3 * r + 2];
  }

  // n − 1 range over the image (the corners are the extreme).
  const dMax = maxOneMinusN(geom);
  if (!(dMax < 1)) throw new DsaError(`image ${nx}×${ny} at cell ${cellRad} rad extends beyond the horizon`);
  const nm1Min = -dMax;
  const nShift = wStacking ? nm1Min / 2 : 0;
  const xMax = Math.max(-nm1Min / 2, 1e-12);

  // uv extent and w range over channels that land inside the grid.
  let fMin = Infinity, fMax = -Infinity;
  for (let c = 0; c < nChan; c++) { fMin = Math.min(fMin, freq[c]); fMax = Math.max(fMax, freq[c]); }
  const uLim = Nu / 2 - h - 1, vLim = Nv / 2 - h - 1;
  let gvMin = Infinity, gvMax = -Infinity, guMin = Infinity, guMax = -Infinity, wMin = Infinity, wMax = -Infinity;
  let nOutside = 0;
  for (let r = 0; r < nRow; r++) {
    for (let c = 0; c < nChan; c++) {
      const s = freq[c] / C_LIGHT;
      const gu = -uvw[3 * r] * s * cellRad * Nu, gv = uvw[3 * r + 1] * s * cellRad * Nv, w = uvw[3 * r + 2] * s;
      if (Math.abs(gu) > uLim || Math.abs(gv) > vLim) { nOutside++; continue; }
      if (gu < guMin) guMin = gu; if (gu > guMax) guMax = gu;
      if (gv < gvMin) gvMin = gv; if (gv > gvMax) gvMax = gv;
      if (w < wMin) wMin = w; if (w > wMax) wMax = w;
    }
  }
  if (!(wMax >= wMin)) { guMin = guMax = gvMin = gvMax = wMin = wMax = 0; }
  const vLo = Math.floor(Nv / 2 + gvMin - h) , vHi = Math.ceil(Nv / 2 + gvMax + h);
  const uLo = Math.floor(Nu / 2 + guMin - h), uHi = Math.ceil(Nu / 2 + guMax + h);

  let dw = 1, w0 = 0, nPlanes = 1;
  if (wStacking) ({ dw, w0, nPlanes } = wPlaneLayout(wMin, wMax, xMax, W, sigma));
  const rowWgMin = new Float64Array(nRow), rowWgMax = new Float64Array(nRow);
  for (let r = 0; r < nRow; r++) {
    const a = (uvw[3 * r + 2] * fMin / C_LIGHT - w0) / dw, b = (uvw[3 * r + 2] * fMax / C_LIGHT - w0) / dw;
    rowWgMin[r] = Math.min(a, b); rowWgMax[r] = Math.max(a, b);
  }

  // Per-pixel tables.
  const npix = nx * ny;
  const z = new Float32Array(alloc(8 * npix)), e0 = new Float32Array(alloc(8 * npix)), corr = new Float32Array(alloc(4 * npix));
  const psiU = new Float64Array(nx), psiV = new Float64Array(ny);
  for (let ix = 0; ix < nx; ix++) psiU[ix] = kernel.taper((ix - nx / 2) / Nu);
  for (let iy = 0; iy < ny; iy++) psiV[iy] = kernel.taper((iy - ny / 2) / Nv);
  // ψ_w tabulated finely in ξ = dw·x ∈ [−1/(2σ), 1/(2σ)] and interpolated linearly (error < 1e-8).
  const NT = 20000, xiMax = dw * xMax * 1.0001;
  const psiW = new Float64Array(NT + 2);
  if (wStacking) for (let k = 0; k <= NT + 1; k++) psiW[k] = kernel.taper((k / NT) * xiMax);
  // The tables depend on l², m² and the parity of the pixel offsets only, so pixel (ix, iy) equals
  // its mirrors (nx − ix, iy), (ix, ny − iy), (nx − ix, ny − iy): compute one quadrant, copy it.
  const copy = (p: number, q: number): void => {
    z[2 * q] = z[2 * p]; z[2 * q + 1] = z[2 * p + 1];
    e0[2 * q] = e0[2 * p]; e0[2 * q + 1] = e0[2 * p + 1];
    corr[q] = corr[p];
  };
  const mirror = (p: number, ix: number, iy: number): void => {
    const jx = nx - ix, jy = ny - iy; // ix = 0 (jx = nx) has no mirror; ix = nx/2 is its own
    const hasX = jx < nx && jx !== ix, hasY = jy < ny && jy !== iy;
    if (hasX) copy(p, jx * ny + iy);
    if (hasY) copy(p, ix * ny + jy);
    if (hasX && hasY) copy(p, jx * ny + jy);
  };
  // (a slanted plane has no such symmetry: then every pixel is computed). Column by column: the
  // tables are column-major, and row-by-row writes had missed the cache on every pixel.
  const ixEnd = slant ? nx - 1 : nx / 2, iyEnd = slant ? ny - 1 : ny / 2;
  const xi = slant?.[0] ?? 0, eta = slant?.[1] ?? 0;
  for (let ix = 0; ix <= ixEnd; ix++) {
    const X = -(ix - nx / 2) * cellRad;
    for (let iy = 0; iy <= iyEnd; iy++) {
      const Y = (iy - ny / 2) * cellRad;
      const p = ix * ny + iy;
      const sign = ((ix - nx / 2 + iy - ny / 2) & 1) ? -1 : 1;
      let pw = 1;
      if (wStacking) {
        // n − 1 = −d without cancellation
        const c = X * X + Y * Y;
        const d = slant ? slantOneMinusN(X, Y, xi, eta) : c / (1 + Math.sqrt(1 - c));
        const x = -d - nShift;
        const a = -2 * Math.PI * dw * x, b = -2 * Math.PI * w0 * x;
        z[2 * p] = Math.cos(a); z[2 * p + 1] = Math.sin(a);
        e0[2 * p] = Math.cos(b); e0[2 * p + 1] = Math.sin(b);
        const f = (Math.abs(dw * x) / xiMax) * NT, k = Math.floor(f), t = f - k;
        pw = psiW[k] * (1 - t) + psiW[k + 1] * t;
      } else {
        z[2 * p] = 1; e0[2 * p] = 1;
      }
      corr[p] = sign / (psiU[ix] * psiV[iy] * pw);
      if (!slant) mirror(p, ix, iy);
    }
  }
  return {
    nx, ny, cellRad, Nu, Nv, W, beta: spec.beta, table: kernel.table(TABLE_OS), tableOs: TABLE_OS,
    nRow, nChan, uvw, freq, vLo, vHi, uLo, uHi, nPlanes, dw, w0, nShift, rowWgMin, rowWgMax,
    z, e0, corr, nOutside, wStacking, flip,
  };
}


const TABLE_OS = 2048;

/**
 * Multiply visibilities in place by e^{sign·2πi w s} (the n−1 shift phase); uses a per-row
 * recurrence for uniform channels. Also maps between the data's and the plan's (mirrored)
 * rows: sign −1 (before gridding) conjugates flipped rows first, sign +1 (after degridding)
 * conjugates them last.
 */
export function applyShiftPhase(plan: GridPlan, vis: Float32Array, sign: 1 | -1, rowLo = 0, rowHi = plan.nRow): void {
  if (sign < 0) conjugateFlipped(plan, vis, rowLo, rowHi);
  shiftPhase(plan, vis, sign, rowLo, rowHi);
  if (sign > 0) conjugateFlipped(plan, vis, rowLo, rowHi);
}

function conjugateFlipped(plan: GridPlan, vis: Float32Array, rowLo: number, rowHi: number): void {
  const { flip, nChan } = plan;
  if (!flip) return;
  for (let r = rowLo; r < rowHi; r++) {
    if (!flip[r]) continue;
    for (let k = 2 * r * nChan + 1, e = 2 * (r + 1) * nChan; k < e; k += 2) vis[k] = -vis[k];
  }
}

function shiftPhase(plan: GridPlan, vis: Float32Array, sign: 1 | -1, rowLo: number, rowHi: number): void {
  if (!plan.wStacking || plan.nShift === 0) return;
  const { nChan, freq, uvw, nShift } = plan;
  const ph = plan.rowPhase;
  if (ph && nChan === 1) {
    // the same factors from the table (sign +1 is the conjugate)
    for (let r = rowLo; r < rowHi; r++) {
      const pr = ph[2 * r], pi = sign * -ph[2 * r + 1], a = vis[2 * r], b = vis[2 * r + 1];
      vis[2 * r] = a * pr - b * pi; vis[2 * r + 1] = a * pi + b * pr;
    }
    return;
  }
  const df = nChan > 1 ? (freq[nChan - 1] - freq[0]) / (nChan - 1) : 0;
  let uniform = true;
  for (let c = 1; c < nChan; c++) if (Math.abs(freq[c] - freq[c - 1] - df) > 1e-6 * Math.abs(df) + 1e-3) { uniform = false; break; }
  for (let r = rowLo; r < rowHi; r++) {
    const k = (sign * 2 * Math.PI * uvw[3 * r + 2] * nShift) / C_LIGHT;
    const base = 2 * r * nChan;
    if (uniform) {
      let pr = Math.cos(k * freq[0]), pi = Math.sin(k * freq[0]);
      const sr = Math.cos(k * df), si = Math.sin(k * df);
      for (let c = 0; c < nChan; c++) {
        if ((c & 63) === 63) { pr = Math.cos(k * freq[c]); pi = Math.sin(k * freq[c]); } // re-anchor against drift
        const i = base + 2 * c, a = vis[i], b = vis[i + 1];
        vis[i] = a * pr - b * pi; vis[i + 1] = a * pi + b * pr;
        const t = pr * sr - pi * si; pi = pr * si + pi * sr; pr = t;
      }
    } else {
      for (let c = 0; c < nChan; c++) {
        const ph = k * freq[c], pr = Math.cos(ph), pi = Math.sin(ph);
        const i = base + 2 * c, a = vis[i], b = vis[i + 1];
        vis[i] = a * pr - b * pi; vis[i + 1] = a * pi + b * pr;
      }
    }
  }
}

/**
 * Grid (spread) visibilities `vis` (already weighted and shift-phased) that touch w-plane p
 * onto the grid band rows [rowLo, rowHi) (absolute grid row indices). grid holds rows
 * rowLo..rowHi−1, Nu complex float64 each.
 */
export function gridPlane(plan: GridPlan, p: number, vis: Float32Array, grid: Float32Array, rowLo: number, rowHi: number): void {
  const gs = plan.wGroupStart;
  if (!gs) { spreadOrInterp(plan, p, vis, grid, rowLo, rowHi, false, 0, plan.nRow); return; }
  // Sorted rows: only the groups whose W w-taps include p, and in each only the v tiles that can
  // reach this band (one tile of margin each side against rounding at the tile edges).
  const nG = gs.length - 1;
  const g0 = plan.wStacking ? Math.max(0, p - plan.W + 1) : 0, g1 = plan.wStacking ? Math.min(nG - 1, p) : nG - 1;
  const whole = rowLo <= plan.vLo && rowHi > plan.vHi;
  const tvLo = Math.floor((rowLo - plan.W) / TILE_V) - 1, tvHi = Math.floor(rowHi / TILE_V) + 1;
  const cs = plan.chunkStart, K = cs ? (cs.length - 1) / nG : 1;
  for (let g = g0; g <= g1; g++) {
    // rows sorted by tile within each (group, chunk) sub-range
    for (let k = 0; k < K; k++) {
      let a = cs ? cs[g * K + k] : gs[g], b = cs ? cs[g * K + k + 1] : gs[g + 1];
      if (a >= b) continue;
      if (!whole) [a, b] = tileRange(plan, a, b, tvLo, tvHi);
      if (plan.taps) spreadTaps(plan, p, g, vis, grid, rowLo, rowHi, a, b);
      else spreadOrInterp(plan, p, vis, grid, rowLo, rowHi, false, a, b);
    }
  }
}

/**
 * Adjoint of gridPlane: vis += interpolation of the grid band (rows [rowLo, rowHi)) at w-plane p,
 * for visibility rows [visLo, visHi).
 */
export function degridPlane(plan: GridPlan, p: number, vis: Float32Array, grid: Float32Array, rowLo: number, rowHi: number, visLo = 0, visHi = plan.nRow, chunk = -1): void {
  spreadOrInterp(plan, p, vis, grid, rowLo, rowHi, true, visLo, visHi, chunk);
}

/**
 * Degrid part `part` of `parts` of the rows plane p touches (sorted plans: an equal share of the
 * plane's contiguous row range, so every worker is busy on every plane; otherwise a share of all rows).
 */
export function degridPlanePart(plan: GridPlan, p: number, vis: Float32Array, grid: Float32Array, part: number, parts: number, chunk = -1): void {
  const gs0 = plan.wGroupStart, cs = plan.chunkStart;
  if (chunk >= 0 && cs && gs0 && plan.taps) {
    // the chunk's rows of each group of this plane are one range: this worker takes its share of each
    const nG = gs0.length - 1, K = (cs.length - 1) / nG;
    const g0 = plan.wStacking ? Math.max(0, p - plan.W + 1) : 0, g1 = plan.wStacking ? Math.min(nG - 1, p) : nG - 1;
    for (let g = g0; g <= g1; g++) {
      const lo = cs[g * K + chunk], hi = cs[g * K + chunk + 1];
      const a = lo + Math.floor(((hi - lo) * part) / parts), b = lo + Math.floor(((hi - lo) * (part + 1)) / parts);
      if (b > a) interpTaps(plan, p, g, vis, grid, plan.vLo, plan.vHi + 1, a, b);
    }
    return;
  }
  const [lo, hi] = planeRows(plan, p);
  const a = lo + Math.floor(((hi - lo) * part) / parts), b = lo + Math.floor(((hi - lo) * (part + 1)) / parts);
  if (b <= a) return;
  const gs = plan.wGroupStart;
  if (!plan.taps || !gs) { spreadOrInterp(plan, p, vis, grid, plan.vLo, plan.vHi + 1, true, a, b, chunk); return; }
  // [a, b) may span several w groups: each has its own w tap index
  for (let g = 0; g < gs.length - 1; g++) {
    const ga = Math.max(a, gs[g]), gb = Math.min(b, gs[g + 1]);
    if (gb > ga) interpTaps(plan, p, g, vis, grid, plan.vLo, plan.vHi + 1, ga, gb, chunk);
  }
}

/** Scratch tap arrays (one set per thread; the functions below are not re-entrant). */
let ku: Float64Array = new Float64Array(16), kv: Float64Array = new Float64Array(16);

/**
 * Shared visiting logic: for each visibility of rows [visLo, visHi) with a w-tap on plane p and
 * v-taps overlapping grid rows [rowLo, rowHi), fill ku/kv (kv includes the w-tap) and return via
 * the callback the visibility index and the first tap cell. Kept as two specialised copies
 * (spread / interp) below because V8 optimises monomorphic loops far better.
 */
function spreadOrInterp(plan: GridPlan, p: number, vis: Float32Array, grid: Float32Array, rowLo: number, rowHi: number, interp: boolean, visLo: number, visHi: number, chunk = -1): void {
  if (interp) interpPlane(plan, p, vis, grid, rowLo, rowHi, visLo, visHi, chunk);
  else spreadPlane(plan, p, vis, grid, rowLo, rowHi, visLo, visHi);
}

/** spreadPlane for plans with precomputed taps: rows [visLo, visHi) all belong to w group g. */
function spreadTaps(plan: GridPlan, p: number, g: number, vis: Float32Array, grid: Float32Array, rowLo: number, rowHi: number, visLo: number, visHi: number): void {
  const { W, Nu } = plan;
  const { k0, ku, kv, kw } = plan.taps as RowTaps;
  const i = plan.wStacking ? p - g : 0;
  if (i < 0 || i >= W) return;
  if (W === 5) {
    const K = kernelsFor(grid, vis, k0, ku, kv, kw);
    if (K) { K.spread5(k0.byteOffset, ku.byteOffset, kv.byteOffset, kw.byteOffset, vis.byteOffset, grid.byteOffset, Nu, rowLo, rowHi, visLo, visHi, i); return; }
  }
  if (KV32.length < W) KV32 = new Float64Array(W);
  const KV = KV32;
  for (let r = visLo; r < visHi; r++) {
    const vr = vis[2 * r], vi = vis[2 * r + 1];
    if (vr === 0 && vi === 0) continue;
    const k0v = k0[2 * r + 1];
    if (k0v + W <= rowLo || k0v >= rowHi) continue;
    const k0u = k0[2 * r], o = W * r;
    const wt = kw[o + i];
    for (let t = 0; t < W; t++) KV[t] = kv[o + t] * wt;
    const aLo = k0v < rowLo ? rowLo - k0v : 0, aHi = k0v + W > rowHi ? rowHi - k0v : W;
    let g0 = 2 * ((k0v + aLo - rowLo) * Nu + k0u);
    if (W === 5) {
      // unrolled for the default support: V8 does not unroll, and the loop overhead was ~⅓
      const u0 = ku[o], u1 = ku[o + 1], u2 = ku[o + 2], u3 = ku[o + 3], u4 = ku[o + 4];
      for (let a = aLo; a < aHi; a++, g0 += 2 * Nu) {
        const tr = vr * KV[a], ti = vi * KV[a];
        grid[g0] += tr * u0; grid[g0 + 1] += ti * u0;
        grid[g0 + 2] += tr * u1; grid[g0 + 3] += ti * u1;
        grid[g0 + 4] += tr * u2; grid[g0 + 5] += ti * u2;
        grid[g0 + 6] += tr * u3; grid[g0 + 7] += ti * u3;
        grid[g0 + 8] += tr * u4; grid[g0 + 9] += ti * u4;
      }
      continue;
    }
    for (let a = aLo; a < aHi; a++, g0 += 2 * Nu) {
      const tr = vr * KV[a], ti = vi * KV[a];
      for (let b = 0, gg = g0; b < W; b++, gg += 2) {
        const k = ku[o + b];
        grid[gg] += tr * k;
        grid[gg + 1] += ti * k;
      }
    }
  }
}

/** interpPlane for plans with precomputed taps: rows [visLo, visHi) all belong to w group g. */
function interpTaps(plan: GridPlan, p: number, g: number, vis: Float32Array, grid: Float32Array, rowLo: number, rowHi: number, visLo: number, visHi: number, chunk = -1): void {
  const { W, Nu } = plan;
  const { k0, ku, kv, kw } = plan.taps as RowTaps;
  const i = plan.wStacking ? p - g : 0;
  if (i < 0 || i >= W) return;
  const rc = chunk >= 0 ? plan.rowChunk : undefined;
  if (W === 5 && !rc) {
    const K = kernelsFor(grid, vis, k0, ku, kv, kw);
    if (K) { K.interp5(k0.byteOffset, ku.byteOffset, kv.byteOffset, kw.byteOffset, vis.byteOffset, grid.byteOffset, Nu, rowLo, rowHi, visLo, visHi, i); return; }
  }
  for (let r = visLo; r < visHi; r++) {
    if (rc && rc[r] !== chunk) continue;
    const k0v = k0[2 * r + 1];
    if (k0v + W <= rowLo || k0v >= rowHi) continue;
    const k0u = k0[2 * r], o = W * r;
    const aLo = k0v < rowLo ? rowLo - k0v : 0, aHi = k0v + W > rowHi ? rowHi - k0v : W;
    let g0 = 2 * ((k0v + aLo - rowLo) * Nu + k0u);
    let sr = 0, si = 0;
    if (W === 5) {
      const u0 = ku[o], u1 = ku[o + 1], u2 = ku[o + 2], u3 = ku[o + 3], u4 = ku[o + 4];
      for (let a = aLo; a < aHi; a++, g0 += 2 * Nu) {
        const rr = grid[g0] * u0 + grid[g0 + 2] * u1 + grid[g0 + 4] * u2 + grid[g0 + 6] * u3 + grid[g0 + 8] * u4;
        const ri = grid[g0 + 1] * u0 + grid[g0 + 3] * u1 + grid[g0 + 5] * u2 + grid[g0 + 7] * u3 + grid[g0 + 9] * u4;
        const kva = kv[o + a];
        sr += rr * kva; si += ri * kva;
      }
    } else for (let a = aLo; a < aHi; a++, g0 += 2 * Nu) {
      let rr = 0, ri = 0;
      for (let b = 0, gg = g0; b < W; b++, gg += 2) {
        const k = ku[o + b];
        rr += grid[gg] * k;
        ri += grid[gg + 1] * k;
      }
      const kva = kv[o + a];
      sr += rr * kva; si += ri * kva;
    }
    const wt = kw[o + i];
    vis[2 * r] += sr * wt; vis[2 * r + 1] += si * wt;
  }
}
let KV32: Float64Array = new Float64Array(16);

function spreadPlane(plan: GridPlan, p: number, vis: Float32Array, grid: Float32Array, rowLo: number, rowHi: number, visLo: number, visHi: number): void {
  const { W, Nu, Nv, nChan, uvw, freq, table, tableOs, dw, w0, rowWgMin, rowWgMax, cellRad, wStacking } = plan;
  const h = W / 2;
  if (ku.length < W) { ku = new Float64Array(W); kv = new Float64Array(W); }
  const KU = ku, KV = kv;
  const uLim = Nu / 2 - h - 1, vLim = Nv / 2 - h - 1;
  const cu = -cellRad * Nu / C_LIGHT, cv = cellRad * Nv / C_LIGHT, cw = 1 / (dw * C_LIGHT);
  const nu2 = Nu / 2, nv2 = Nv / 2, wOff = -w0 / dw;
  const vMinOwn = rowLo - W - nv2, vMaxOwn = rowHi + h - nv2;
  for (let r = visLo; r < visHi; r++) {
    if (wStacking && (rowWgMax[r] <= p - W + h || rowWgMin[r] > p + h)) continue;
    const uS = uvw[3 * r] * cu, vS = uvw[3 * r + 1] * cv, wS = uvw[3 * r + 2] * cw;
    const base = r * nChan;
    for (let c = 0; c < nChan; c++) {
      const f = freq[c];
      const gv = vS * f;
      if (gv < vMinOwn || gv > vMaxOwn) continue;
      const idx = 2 * (base + c);
      const vr = vis[idx], vi = vis[idx + 1];
      if (vr === 0 && vi === 0) continue;
      const gu = uS * f;
      if (gu > uLim || gu < -uLim || gv > vLim || gv < -vLim) continue;
      let kwv = 1;
      if (wStacking) {
        const wg = wS * f + wOff;
        const k0w = Math.ceil(wg - h);
        const i = p - k0w;
        if (i < 0 || i >= W) continue;
        const jf = (k0w - wg + h + i) * tableOs, j = jf | 0;
        kwv = table[j] + (table[j + 1] - table[j]) * (jf - j);
      }
      const gv0 = gv + nv2, gu0 = gu + nu2;
      const k0v = Math.ceil(gv0 - h), k0u = Math.ceil(gu0 - h);
      if (k0v + W <= rowLo || k0v >= rowHi) continue;
      const ju = (k0u - gu0 + h) * tableOs, jv = (k0v - gv0 + h) * tableOs;
      const iu = ju | 0, iv = jv | 0, fu = ju - iu, fv = jv - iv;
      for (let t = 0, o = 0; t < W; t++, o += tableOs) {
        const a = table[iu + o], b = table[iv + o];
        KU[t] = a + (table[iu + o + 1] - a) * fu;
        KV[t] = (b + (table[iv + o + 1] - b) * fv) * kwv;
      }
      const aLo = k0v < rowLo ? rowLo - k0v : 0, aHi = k0v + W > rowHi ? rowHi - k0v : W;
      let g0 = 2 * ((k0v + aLo - rowLo) * Nu + k0u);
      for (let a = aLo; a < aHi; a++, g0 += 2 * Nu) {
        const tr = vr * KV[a], ti = vi * KV[a];
        for (let b = 0, g = g0; b < W; b++, g += 2) {
          const k = KU[b];
          grid[g] += tr * k;
          grid[g + 1] += ti * k;
        }
      }
    }
  }
}

function interpPlane(plan: GridPlan, p: number, vis: Float32Array, grid: Float32Array, rowLo: number, rowHi: number, visLo: number, visHi: number, chunk = -1): void {
  const rc = chunk >= 0 ? plan.rowChunk : undefined;
  const { W, Nu, Nv, nChan, uvw, freq, table, tableOs, dw, w0, rowWgMin, rowWgMax, cellRad, wStacking } = plan;
  const h = W / 2;
  if (ku.length < W) { ku = new Float64Array(W); kv = new Float64Array(W); }
  const KU = ku, KV = kv;
  const uLim = Nu / 2 - h - 1, vLim = Nv / 2 - h - 1;
  const cu = -cellRad * Nu / C_LIGHT, cv = cellRad * Nv / C_LIGHT, cw = 1 / (dw * C_LIGHT);
  const nu2 = Nu / 2, nv2 = Nv / 2, wOff = -w0 / dw;
  const vMinOwn = rowLo - W - nv2, vMaxOwn = rowHi + h - nv2;
  for (let r = visLo; r < visHi; r++) {
    if (rc && rc[r] !== chunk) continue;
    if (wStacking && (rowWgMax[r] <= p - W + h || rowWgMin[r] > p + h)) continue;
    const uS = uvw[3 * r] * cu, vS = uvw[3 * r + 1] * cv, wS = uvw[3 * r + 2] * cw;
    const base = r * nChan;
    for (let c = 0; c < nChan; c++) {
      const f = freq[c];
      const gv = vS * f;
      if (gv < vMinOwn || gv > vMaxOwn) continue;
      const gu = uS * f;
      if (gu > uLim || gu < -uLim || gv > vLim || gv < -vLim) continue;
      let kwv = 1;
      if (wStacking) {
        const wg = wS * f + wOff;
        const k0w = Math.ceil(wg - h);
        const i = p - k0w;
        if (i < 0 || i >= W) continue;
        const jf = (k0w - wg + h + i) * tableOs, j = jf | 0;
        kwv = table[j] + (table[j + 1] - table[j]) * (jf - j);
      }
      const gv0 = gv + nv2, gu0 = gu + nu2;
      const k0v = Math.ceil(gv0 - h), k0u = Math.ceil(gu0 - h);
      if (k0v + W <= rowLo || k0v >= rowHi) continue;
      const ju = (k0u - gu0 + h) * tableOs, jv = (k0v - gv0 + h) * tableOs;
      const iu = ju | 0, iv = jv | 0, fu = ju - iu, fv = jv - iv;
      for (let t = 0, o = 0; t < W; t++, o += tableOs) {
        const a = table[iu + o], b = table[iv + o];
        KU[t] = a + (table[iu + o + 1] - a) * fu;
        KV[t] = (b + (table[iv + o + 1] - b) * fv) * kwv;
      }
      const aLo = k0v < rowLo ? rowLo - k0v : 0, aHi = k0v + W > rowHi ? rowHi - k0v : W;
      let g0 = 2 * ((k0v + aLo - rowLo) * Nu + k0u);
      let sr = 0, si = 0;
      for (let a = aLo; a < aHi; a++, g0 += 2 * Nu) {
        let rr = 0, ri = 0;
        for (let b = 0, g = g0; b < W; b++, g += 2) {
          const k = KU[b];
          rr += grid[g] * k;
          ri += grid[g + 1] * k;
        }
        sr += rr * KV[a]; si += ri * KV[a];
      }
      const idx = 2 * (base + c);
      vis[idx] += sr; vis[idx + 1] += si;
    }
  }
}

/*
 * Layouts of the FFT passes. inter (between row and column FFTs) is column-major: image column ix
 * holds the band rows vLo..vHi contiguously (inter[ix·nBand + row − vLo]); acc/cur and the per-pixel
 * tables z, e0, corr are column-major too (p = ix·ny + iy). Then every column FFT reads and writes
 * one contiguous run, and the transposes happen once per 16 grid rows in a small L2-resident
 * buffer instead of striding through 400 MB per plane (which cost ~3× the FFTs themselves).
 */

/** Grid rows per transpose block of the row passes. */
const ROW_BLOCK = 16;
/** Per-thread scratch of the row passes: ROW_BLOCK rows × nx complex. */
let rowBuf: Float32Array = new Float32Array(0);

/**
 * Row pass (gridding direction): FFT grid rows [rowLo,rowHi) along u (forward), keep the nx image
 * columns, and store them transposed into inter. The grid rows are zeroed as they are read, so
 * the grid is ready for the next plane without a separate fill.
 */
export function rowsForward(plan: GridPlan, fft: Fft1d, grid: Float32Array, rowLo: number, rowHi: number, inter: Float32Array): void {
  const { Nu, nx, uLo, uHi, vLo, vHi } = plan;
  const nBand = vHi - vLo + 1, half = nx / 2;
  const tag = `rf${uLo}:${uHi}`;
  if (rowBuf.length < 2 * ROW_BLOCK * nx) rowBuf = new Float32Array(2 * ROW_BLOCK * nx);
  const buf = rowBuf;
  for (let row0 = rowLo; row0 < rowHi; row0 += ROW_BLOCK) {
    const nr = Math.min(ROW_BLOCK, rowHi - row0);
    for (let rb = 0; rb < nr; rb++) {
      const inp = fft.inputZeroedFor(tag);
      const g0 = 2 * (row0 + rb - rowLo) * Nu;
      for (let k = 2 * uLo; k < 2 * (uHi + 1); k++) inp[k] = grid[g0 + k];
      grid.fill(0, g0 + 2 * uLo, g0 + 2 * (uHi + 1));
      fft.run(-1);
      const out = fft.output();
      // pixel ix ↔ offset j = ix − nx/2 ↔ FFT index j mod Nu
      buf.set(out.subarray(2 * (Nu - half), 2 * Nu), 2 * rb * nx);
      buf.set(out.subarray(0, 2 * half), 2 * rb * nx + 2 * half);
    }
    const r0 = row0 - vLo;
    for (let ix = 0; ix < nx; ix++) {
      const d = 2 * (ix * nBand + r0);
      for (let rb = 0, s = 2 * ix; rb < nr; rb++, s += 2 * nx) { inter[d + 2 * rb] = buf[s]; inter[d + 2 * rb + 1] = buf[s + 1]; }
    }
  }
}

/** Adjoint of rowsForward: inter (column-major) → grid rows [rowLo,rowHi) by inverse FFT along u (u-band only). */
export function rowsAdjoint(plan: GridPlan, fft: Fft1d, inter: Float32Array, rowLo: number, rowHi: number, grid: Float32Array, colActive?: Uint8Array): void {
  const { Nu, nx, uLo, uHi, vLo, vHi } = plan;
  const nBand = vHi - vLo + 1, half = nx / 2;
  if (colActive && rowsAdjointSparse(plan, fft, inter, rowLo, rowHi, grid, colActive)) return;
  const tag = `ra${nx}`;
  if (rowBuf.length < 2 * ROW_BLOCK * nx) rowBuf = new Float32Array(2 * ROW_BLOCK * nx);
  const buf = rowBuf;
  for (let row0 = rowLo; row0 < rowHi; row0 += ROW_BLOCK) {
    const nr = Math.min(ROW_BLOCK, rowHi - row0);
    const r0 = row0 - vLo;
    for (let ix = 0; ix < nx; ix++) {
      const s = 2 * (ix * nBand + r0);
      for (let rb = 0, d = 2 * ix; rb < nr; rb++, d += 2 * nx) { buf[d] = inter[s + 2 * rb]; buf[d + 1] = inter[s + 2 * rb + 1]; }
    }
    for (let rb = 0; rb < nr; rb++) {
      const inp = fft.inputZeroedFor(tag);
      const o = 2 * rb * nx;
      inp.set(buf.subarray(o, o + 2 * half), 2 * (Nu - half));
      inp.set(buf.subarray(o + 2 * half, o + 2 * nx), 0);
      fft.run(1);
      const out = fft.output();
      const g0 = 2 * (row0 + rb - rowLo) * Nu;
      for (let k = 2 * uLo; k < 2 * (uHi + 1); k++) grid[g0 + k] = out[k];
    }
  }
}

let activeList = new Int32Array(0);
let sparseCall = 0;

/**
 * rowsAdjoint for a sparse model (few image columns with components, colActive): gather just those
 * columns of each band row into the FFT input, instead of transposing whole rows of zeros (the
 * transposes had cost more than the FFTs). Returns false, doing nothing, for a dense model.
 */
function rowsAdjointSparse(plan: GridPlan, fft: Fft1d, inter: Float32Array, rowLo: number, rowHi: number, grid: Float32Array, colActive: Uint8Array): boolean {
  const { Nu, nx, uLo, uHi, vLo, vHi } = plan;
  const nBand = vHi - vLo + 1, half = nx / 2;
  if (activeList.length < nx) activeList = new Int32Array(nx);
  const act = activeList;
  let nAct = 0;
  for (let ix = 0; ix < nx; ix++) if (colActive[ix]) act[nAct++] = ix;
  if (nAct > nx / 4) return false;
  // every row of this call writes the same input positions; a new call may write others, so re-zero
  const tag = `ras${++sparseCall}`;
  for (let row = rowLo; row < rowHi; row++) {
    const inp = fft.inputZeroedFor(tag);
    const r0 = row - vLo;
    for (let j = 0; j < nAct; j++) {
      const ix = act[j], s = 2 * (ix * nBand + r0);
      // pixel ix ↔ offset ix − nx/2 ↔ FFT index (ix − nx/2) mod Nu
      const d = ix < half ? 2 * (Nu - half + ix) : 2 * (ix - half);
      inp[d] = inter[s]; inp[d + 1] = inter[s + 1];
    }
    fft.run(1);
    const out = fft.output();
    const g0 = 2 * (row - rowLo) * Nu;
    for (let k = 2 * uLo; k < 2 * (uHi + 1); k++) grid[g0 + k] = out[k];
  }
  return true;
}

/**
 * Column pass (gridding direction) for image columns [ixLo, ixHi): FFT along v of the band held
 * in inter, then Horner-accumulate into acc (complex float64, column-major): acc = acc·z + P.
 */
export function colsForward(plan: GridPlan, fft: Fft1d, inter: Float32Array, ixLo: number, ixHi: number, acc: Float64Array, first: boolean): void {
  const { Nv, ny, vLo, vHi, z } = plan;
  const half = ny / 2;
  const nBand = vHi - vLo + 1;
  const tag = `cf${vLo}:${vHi}`;
  for (let ix = ixLo; ix < ixHi; ix++) {
    const inp = fft.inputZeroedFor(tag);
    inp.set(inter.subarray(2 * ix * nBand, 2 * (ix + 1) * nBand), 2 * vLo);
    fft.run(-1);
    const out = fft.output();
    // pixel iy ↔ j = iy − ny/2 ↔ FFT index j mod Nv: iy < half reads Nv − half + iy, else iy − half
    const q0 = 2 * ix * ny;
    for (let part = 0; part < 2; part++) {
      const qa = q0 + part * 2 * half, oa = part === 0 ? 2 * (Nv - half) : 0;
      const n2 = 2 * half;
      if (first) for (let k = 0; k < n2; k++) acc[qa + k] = out[oa + k];
      else for (let k = 0; k < n2; k += 2) {
        const q = qa + k, o = oa + k;
        const ar = acc[q], ai = acc[q + 1], zr = z[q], zi = z[q + 1];
        acc[q] = ar * zr - ai * zi + out[o];
        acc[q + 1] = ar * zi + ai * zr + out[o + 1];
      }
    }
  }
}

/**
 * Adjoint column pass: plane image cur (column-major complex float64) → inter, columns
 * [ixLo, ixHi). With step, cur is first advanced to the next plane (cur ·= conj(z)) on those columns.
 */
export function colsAdjoint(plan: GridPlan, fft: Fft1d, cur: Float64Array, ixLo: number, ixHi: number, inter: Float32Array, step = false, colActive?: Uint8Array): void {
  const { Nv, ny, vLo, vHi, z } = plan;
  const half = ny / 2;
  const nBand = vHi - vLo + 1;
  const tag = `ca${ny}`;
  for (let ix = ixLo; ix < ixHi; ix++) {
    // A model image is sparse: an all-zero column stays zero on every plane and transforms to zero.
    if (colActive && !colActive[ix]) { inter.fill(0, 2 * ix * nBand, 2 * (ix + 1) * nBand); continue; }
    const q0 = 2 * ix * ny;
    if (step) for (let q = q0; q < q0 + 2 * ny; q += 2) {
      const ar = cur[q], ai = cur[q + 1], zr = z[q], zi = -z[q + 1];
      cur[q] = ar * zr - ai * zi; cur[q + 1] = ar * zi + ai * zr;
    }
    const inp = fft.inputZeroedFor(tag);
    const oa = 2 * (Nv - half), n2 = 2 * half;
    for (let k = 0; k < n2; k++) inp[oa + k] = cur[q0 + k];
    for (let k = 0; k < n2; k++) inp[k] = cur[q0 + n2 + k];
    fft.run(1);
    const out = fft.output();
    inter.set(out.subarray(2 * vLo, 2 * (vHi + 1)), 2 * ix * nBand);
  }
}

/** Per image column: 1 if any pixel of img is non-zero (lets the adjoint skip empty columns). */
export function activeColumns(img: Float32Array, nx: number, ny: number, out: Uint8Array = new Uint8Array(nx)): Uint8Array {
  out.fill(0);
  for (let iy = 0; iy < ny; iy++) {
    const base = iy * nx;
    for (let ix = 0; ix < nx; ix++) if (img[base + ix] !== 0) out[ix] = 1;
  }
  return out;
}

/** Tile side of the row-major ↔ column-major image transposes (both sides stay in a few cache lines). */
const TT = 32;

/** Final image (row-major) for image columns [ixLo, ixHi): img = Re(acc·e0)·corr·scale. */
export function finishImage(plan: GridPlan, acc: Float64Array, img: Float32Array, scale: number, ixLo = 0, ixHi = plan.nx): void {
  const { nx, ny, e0, corr } = plan;
  for (let iy0 = 0; iy0 < ny; iy0 += TT) {
    const iy1 = Math.min(ny, iy0 + TT);
    for (let ix = ixLo; ix < ixHi; ix++) {
      for (let iy = iy0, p = ix * ny + iy0; iy < iy1; iy++, p++) {
        img[iy * nx + ix] = (acc[2 * p] * e0[2 * p] - acc[2 * p + 1] * e0[2 * p + 1]) * corr[p] * scale;
      }
    }
  }
}

/** Start of the adjoint for image columns [ixLo, ixHi): cur = img·corr·conj(e0) for plane 0 (e^{+2πi w0 x}). */
export function startAdjoint(plan: GridPlan, img: Float32Array, cur: Float64Array, ixLo = 0, ixHi = plan.nx, colActive?: Uint8Array): void {
  const { nx, ny, e0, corr } = plan;
  for (let iy0 = 0; iy0 < ny; iy0 += TT) {
    const iy1 = Math.min(ny, iy0 + TT);
    for (let ix = ixLo; ix < ixHi; ix++) {
      // columns without components are skipped by colsAdjoint too (their cur is never read)
      if (colActive && !colActive[ix]) continue;
      for (let iy = iy0, p = ix * ny + iy0; iy < iy1; iy++, p++) {
        const a = img[iy * nx + ix] * corr[p];
        cur[2 * p] = a * e0[2 * p]; cur[2 * p + 1] = -a * e0[2 * p + 1];
      }
    }
  }
}

/** Step the adjoint plane image to the next plane: cur ·= conj(z) (all pixels). */
export function stepAdjoint(plan: GridPlan, cur: Float64Array): void {
  const { z } = plan;
  for (let q = 0; q < z.length; q += 2) {
    const ar = cur[q], ai = cur[q + 1], zr = z[q], zi = -z[q + 1];
    cur[q] = ar * zr - ai * zi; cur[q + 1] = ar * zi + ai * zr;
  }
}

/** Accumulated wall time (ms) of the gridding stages. */
export interface GridTimings { gridding: number; fft: number; imageOps: number }

/** Serial driver: dirty image (unnormalised Re Σ y e^{−…}) of weighted visibilities y. */
export function gridToImage(plan: GridPlan, weightedVis: Float32Array, tm: GridTimings = { gridding: 0, fft: 0, imageOps: 0 }): Float32Array {
  const y = Float32Array.from(weightedVis);
  applyShiftPhase(plan, y, -1);
  const { Nu, Nv, nx, ny, vLo, vHi, nPlanes } = plan;
  const nBand = vHi - vLo + 1;
  const grid = new Float32Array(2 * nBand * Nu);
  const inter = new Float32Array(2 * nBand * nx);
  const acc = new Float64Array(2 * nx * ny);
  const fu = new Fft1d(Nu), fv = new Fft1d(Nv);
  for (let p = nPlanes - 1; p >= 0; p--) {
    let t = performance.now();
    gridPlane(plan, p, y, grid, vLo, vHi + 1); // rowsForward leaves the grid zeroed
    tm.gridding += performance.now() - t;
    t = performance.now();
    rowsForward(plan, fu, grid, vLo, vHi + 1, inter);
    colsForward(plan, fv, inter, 0, nx, acc, p === nPlanes - 1);
    tm.fft += performance.now() - t;
  }
  fu.dispose(); fv.dispose();
  const t = performance.now();
  const img = new Float32Array(nx * ny);
  finishImage(plan, acc, img, 1);
  tm.imageOps += performance.now() - t;
  return img;
}

/** Serial driver: predict visibilities Σ_pix img e^{+…} (the adjoint of gridToImage). */
export function imageToVis(plan: GridPlan, img: Float32Array, tm: GridTimings = { gridding: 0, fft: 0, imageOps: 0 }): Float32Array {
  const { Nu, Nv, nx, ny, vLo, vHi, nPlanes, nRow, nChan } = plan;
  const nBand = vHi - vLo + 1;
  const grid = new Float32Array(2 * nBand * Nu);
  const inter = new Float32Array(2 * nBand * nx);
  const cur = new Float64Array(2 * nx * ny);
  const out = new Float32Array(2 * nRow * nChan);
  const fu = new Fft1d(Nu), fv = new Fft1d(Nv);
  startAdjoint(plan, img, cur);
  const active = activeColumns(img, nx, ny);
  for (let p = 0; p < nPlanes; p++) {
    let t = performance.now();
    if (p > 0) stepAdjoint(plan, cur);
    tm.imageOps += performance.now() - t;
    t = performance.now();
    colsAdjoint(plan, fv, cur, 0, nx, inter, false, active);
    rowsAdjoint(plan, fu, inter, vLo, vHi + 1, grid);
    tm.fft += performance.now() - t;
    t = performance.now();
    degridPlanePart(plan, p, out, grid, 0, 1);
    tm.gridding += performance.now() - t;
  }
  fu.dispose(); fv.dispose();
  applyShiftPhase(plan, out, 1);
  return out;
}
