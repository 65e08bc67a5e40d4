/**
 * imageVisibilities: weighting → PSF → dirty image → Högbom minor cycles inside Cotton–Schwab
 * major cycles (model visibilities predicted by exact degridding) → restoring beam → restored image.
 */
import { UsageError } from '../util/errors.js';
import { choosePsfPatch, clarkMinor, fitBeam, restore, robustSigma, symmetricPsf, type RestoringBeam } from './deconvolve.js';
import { initFft } from './fft.js';
import { defaultGeometry } from './geometry.js';
import { makeGridPlan, gridToImage, imageToVis, precomputeTaps, type GridPlan, type GridderOptions, type GridTimings } from './gridder.js';
import { GridPool, sab, toShared } from './parallel.js';
import { averageBaselineDependent, bdaField } from './bda.js';
import { orderRowsForGridding } from './vis-order.js';
import { chooseSlant } from './slant.js';
import { expectedNoise, imagingWeightsAndNoise, type Weighting } from './weighting.js';
import type { ImageGeometry, VisInput } from './types.js';
import type { WasmArena } from './wasm-kernels.js';

export interface ImagingOptions {
  /** Image size and cell; default from defaultGeometry (λ_min/B_max/5, 3.5° field). */
  nx?: number; ny?: number; cellRad?: number;
  /** Field of view for the default geometry, radians. */
  fovRad?: number;
  weighting?: Weighting;
  /** Briggs robustness R (default 0). */
  robust?: number;
  niter?: number;
  gain?: number;
  mgain?: number;
  /** Absolute stopping threshold, Jy. */
  threshold?: number;
  /** Stop at this many robust σ (1.4826·MAD of the residual); default 0.5, null = off. */
  autoThreshold?: number | null;
  /** First clean to this many σ, then continue to autoThreshold only on pixels that got components; default 3, null = off. */
  autoMask?: number | null;
  /** Cap on major cycles. */
  maxMajor?: number;
  /**
   * PSF patch half-size used in the minor cycle (pixels). Default: at least max(128, nx/8), grown
   * until the PSF outside it is ≤ 0.1 (up to the whole PSF); each minor cycle stops at that outside
   * level × its starting peak (Clark), so far sidelobes are never cleaned as sources.
   */
  psfHalf?: number;
  /** Quick mode: ≤ 1024² pixels, niter ≤ 300. */
  quick?: boolean;
  wStacking?: boolean;
  /**
   * Image on the slanted plane of the array's best-fit w-plane (slant.ts; FITS SIN with PV2_1/PV2_2)
   * when that needs fewer w-planes: true/undefined = choose, false = plain SIN, or a given (ξ, η).
   */
  slant?: boolean | readonly [number, number];
  gridder?: GridderOptions;
  /** Gridding threads (default: available parallelism; 1 = in this thread). */
  threads?: number;
  /**
   * Baseline-dependent frequency averaging before gridding (bda.ts): max amplitude loss at the
   * image corners, e.g. 0.01 (the default); 0 or null = off.
   */
  bdaMaxLoss?: number | null;
  /**
   * Beam-aware major cycles for drift scans: rowChunk gives each input row's time chunk (0…K−1)
   * and beams(geometry) the primary beam of each chunk with the chunk's total weight. The model is
   * in apparent (group-averaged beam) units; the predict gives chunk k the model × A_k/Ā. Why: a
   * source near the beam edge changes amplitude by tens of per cent within a group while the uv
   * tracks turn, so its response is not the PSF, and without this CLEAN modelled the difference
   * as ghosts and took 3–15 % off the source.
   */
  beamChunks?: {
    rowChunk: Uint8Array;
    /**
     * Per chunk, its total weight and its primary beam at the given pixels (indices iy·nx + ix) of
     * the image geometry. Only the CLEAN model's pixels are asked for, so the beams are evaluated
     * exactly there rather than as whole images.
     */
    beamsAt: (geometry: ImageGeometry, pixels: Int32Array) => { beam: Float32Array; weight: number }[];
  };
}

export interface ImagingProgress { stage: string; majorCycle?: number; iterations?: number; peakJy?: number }

export interface ImagingResult {
  geometry: ImageGeometry;
  image: Float32Array; residual: Float32Array; model: Float32Array; psf: Float32Array; dirty: Float32Array;
  beam: RestoringBeam;
  components: number;
  majorCycles: number;
  /** Robust σ of the final residual, and the thermal σ expected from the weights (Jy/beam). */
  noiseJy: number; expectedNoiseJy: number;
  peakJy: number;
  /** Visibilities excluded because they fall outside the padded uv grid (averaged ones when BDA is on). */
  nOutside: number;
  /** Visibilities gridded (after baseline-dependent averaging) and before it. */
  nGridded: number; nVisIn: number;
  nPlanes: number;
  /** Occupied grid band (rows × columns of the padded grid) and whether the SIMD kernels ran. */
  gridBand: [number, number]; simd: boolean;
  timings: { weighting: number; plan: number; gridding: number; fft: number; imageOps: number; deconvolution: number; restore: number; total: number };
}

/** Resolve options and geometry (exported so a command can report them before the run). */
export function resolveOptions(input: VisInput, o: ImagingOptions): Required<Pick<ImagingOptions, 'weighting' | 'robust' | 'niter' | 'gain' | 'mgain' | 'threshold' | 'maxMajor'>> & { geometry: ImageGeometry; autoThreshold?: number; autoMask?: number; psfHalf: number } {
  let geometry: ImageGeometry;
  if (o.nx !== undefined && o.cellRad !== undefined) geometry = { nx: o.nx, ny: o.ny ?? o.nx, cellRad: o.cellRad };
  else {
    const g = defaultGeometry(input, { fovRad: o.fovRad, maxSize: o.quick ? 1024 : undefined, cellRad: o.cellRad });
    geometry = { nx: o.nx ?? g.nx, ny: o.ny ?? o.nx ?? g.ny, cellRad: g.cellRad };
  }
  const niter = Math.min(o.niter ?? 1000, o.quick ? 300 : Infinity);
  const gain = o.gain ?? 0.1, mgain = o.mgain ?? 0.8;
  if (!(gain > 0 && gain <= 1)) throw new UsageError(`gain ${gain} must be in (0, 1]`);
  if (!(mgain > 0 && mgain <= 1)) throw new UsageError(`mgain ${mgain} must be in (0, 1]`);
  if (!(niter >= 0)) throw new UsageError(`niter ${niter} must be ≥ 0`);
  return {
    geometry, weighting: o.weighting ?? 'briggs', robust: o.robust ?? 0, niter, gain, mgain,
    threshold: o.threshold ?? 0, maxMajor: o.maxMajor ?? 20,
    autoThreshold: o.autoThreshold === null ? undefined : (o.autoThreshold ?? 0.5),
    autoMask: o.autoMask === null ? undefined : (o.autoMask ?? 3),
    psfHalf: o.psfHalf ?? Math.max(128, Math.floor(Math.max(geometry.nx, geometry.ny) / 8)),
  };
}

/** Largest |PSF| allowed outside the default minor-cycle patch before the patch is grown (see choosePsfPatch). */
const PATCH_SIDELOBE = 0.1;

function weighted(vis: Float32Array, w: Float32Array): Float32Array {
  const y = new Float32Array(vis.length);
  for (let k = 0; k < w.length; k++) { y[2 * k] = vis[2 * k] * w[k]; y[2 * k + 1] = vis[2 * k + 1] * w[k]; }
  return y;
}

export async function imageVisibilities(input: VisInput, opts: ImagingOptions = {}, onProgress?: (p: ImagingProgress) => void): Promise<ImagingResult> {
  await initFft();
  const T0 = performance.now();
  const o = resolveOptions(input, opts);
  const wStacking = opts.wStacking ?? opts.gridder?.wStacking ?? true;
  if (wStacking && opts.slant !== false && !o.geometry.slant) {
    const s = Array.isArray(opts.slant) ? opts.slant as readonly [number, number] : chooseSlant(input, o.geometry, opts.gridder?.support, opts.gridder?.oversampling);
    if (s) o.geometry = { ...o.geometry, slant: s };
  }
  const { nx, ny, cellRad } = o.geometry;
  const gt: GridTimings = { gridding: 0, fft: 0, imageOps: 0 };
  let t = performance.now();
  const { weights: weights0, expectedNoise: noise0 } = imagingWeightsAndNoise(input, o.geometry, o.weighting, o.robust);
  let expNoise = noise0;
  const tWeight = performance.now() - t;
  t = performance.now();
  let gin: VisInput = opts.beamChunks ? { ...input, rowChunk: opts.beamChunks.rowChunk } : input, weights = weights0, nVisIn = 0;
  const bc = opts.beamChunks;
  const chunkScale = bc ? (pixels: Int32Array): Float32Array[] => beamRatios(bc.beamsAt(o.geometry, pixels)) : undefined;
  const bdaLoss = opts.bdaMaxLoss === undefined ? 0.01 : opts.bdaMaxLoss;
  if (bdaLoss !== null && bdaLoss > 0) {
    // the loss bound holds over the whole image, corners included
    const b = averageBaselineDependent(gin, weights0, bdaField(nx, ny, cellRad), bdaLoss, sab);
    gin = b.input; weights = b.weights; nVisIn = b.nIn;
  } else for (let k = 0; k < weights0.length; k++) if (weights0[k] > 0) nVisIn++;
  // the averaged data belong to us: the plan may mirror their uvw in place
  const plan: GridPlan = makeGridPlan(gin, o.geometry, { ...opts.gridder, wStacking }, sab, gin.uvw !== input.uvw);
  plan.rowChunk = gin.rowChunk;
  const nOutside = excludeOutside(plan, weights);
  let arena: WasmArena | undefined;
  if (gin.uvw === input.uvw) expNoise = expectedNoise(input, weights); // without the visibilities off the grid
  else if (gin.nChan === 1) {
    ({ input: gin, weights } = orderRowsForGridding(plan, gin, weights, sab)); // cache-friendly gridding order
    arena = GridPool.arenaFor(plan);
    precomputeTaps(plan, sab, arena, false); // the workers fill them (below)
  }
  const pool = await GridPool.create(plan, gin.vis, toShared(weights), { threads: opts.threads, arena });
  await pool.fillTaps();
  const tPlan = performance.now() - t;
  let sumW = 0;
  for (let k = 0; k < weights.length; k++) sumW += weights[k];
  if (!(sumW > 0)) { await pool.close(); throw new UsageError('no unflagged visibilities inside the uv grid to image'); }
  const inv = 1 / sumW;
  const scale = (img: Float32Array): Float32Array => { for (let i = 0; i < img.length; i++) img[i] *= inv; return img; };

  let tDecon = 0, components = 0, major = 0;
  let psf: Float32Array, dirty: Float32Array, residual: Float32Array, beam: RestoringBeam;
  const model = new Float32Array(nx * ny);
  try {
    onProgress?.({ stage: 'psf' });
    psf = scale(await pool.dirty('psf', gt));
    beam = fitBeam(psf, nx, ny, cellRad);
    const psfMinor = symmetricPsf(psf, nx, ny);
    const patch = choosePsfPatch(psfMinor, nx, ny, o.psfHalf, opts.psfHalf !== undefined ? Infinity : PATCH_SIDELOBE);
    onProgress?.({ stage: 'dirty' });
    residual = scale(await pool.dirty('data', gt));
    dirty = Float32Array.from(residual);

    let mask: Uint8Array | undefined;
    let masking = false;
    // WSClean-style auto-masking: clean to autoMask·σ everywhere, then to autoThreshold·σ only on the
    // pixels that received components. A phase ends when a minor loop is stopped by its threshold
    // (rather than by mgain), because σ itself drops as cleaning proceeds.
    const enterMaskPhase = (): boolean => {
      if (o.autoMask === undefined || masking) return false;
      masking = true;
      mask = maskFromModel(model, nx, ny, Math.max(1, Math.round((0.5 * beam.bminRad) / cellRad)));
      return true;
    };
    // σ of the residual before the last minor cycle, and whether that cycle ran down to its σ-based
    // threshold (rather than stopping at mgain or the sidelobe level).
    let lastAtSigmaThreshold = false;
    while (components < o.niter && major < o.maxMajor) {
      const td = performance.now();
      const sigma = robustSigma(residual);
      // WSClean's rule: the first time a minor cycle cleans down to the auto-mask threshold, the
      // unmasked phase ends. Going on at 3σ only takes noise peaks, which lowers σ, which lowers
      // the threshold: a runaway that absorbed noise into the model (residual σ 0.71× thermal).
      // The mask is dilated (maskFromModel) so that the pixels next to an off-centre source,
      // which had no components yet, can still be cleaned.
      if (!masking && lastAtSigmaThreshold) {
        lastAtSigmaThreshold = false;
        if (enterMaskPhase()) { tDecon += performance.now() - td; continue; }
      }
      let thr = o.threshold, sigmaThr = 0;
      if (o.autoMask !== undefined && !masking) sigmaThr = o.autoMask * sigma;
      else if (o.autoThreshold !== undefined) sigmaThr = o.autoThreshold * sigma;
      thr = Math.max(thr, sigmaThr);
      let peak0 = 0;
      for (let i = 0; i < residual.length; i++) if ((!mask || mask[i]) && Math.abs(residual[i]) > peak0) peak0 = Math.abs(residual[i]);
      if (peak0 <= thr) {
        tDecon += performance.now() - td;
        if (components > 0 && enterMaskPhase()) continue;
        break;
      }
      const stopAt = Math.max(thr, (1 - o.mgain) * peak0, patch.sidelobe * peak0);
      lastAtSigmaThreshold = sigmaThr > 0 && stopAt === sigmaThr;
      const r = clarkMinor(residual, model, psfMinor, nx, ny, { gain: o.gain, stopAt, maxIter: o.niter - components, mask, psfHalf: patch.half });
      components += r.iterations;
      tDecon += performance.now() - td;
      major++;
      onProgress?.({ stage: 'major', majorCycle: major, iterations: components, peakJy: r.peak });
      if (r.iterations === 0) break;
      // Cotton–Schwab: predict the model's visibilities, grid data − model.
      await pool.predict(model, gt, chunkScale);
      residual = scale(await pool.dirty('residual', gt));
      // No early exit or mask switch here even if the minor cycle reached its threshold: σ and the
      // peak must be re-measured on this new residual (the top of the loop does it). σ of the
      // previous residual was inflated by the sidelobes just removed, and switching to the mask on
      // it froze sources half-cleaned (30 mJy left at a 0.93 Jy source, natural weighting).
    }
  } finally {
    await pool.close();
  }
  const td = performance.now();
  const image = restore(model, residual, nx, ny, beam, cellRad);
  const tRestore = performance.now() - td;
  let peakJy = 0;
  for (let i = 0; i < image.length; i++) if (Math.abs(image[i]) > Math.abs(peakJy)) peakJy = image[i];
  return {
    geometry: o.geometry, image, residual, model, psf, dirty, beam, components, majorCycles: major,
    noiseJy: robustSigma(residual), expectedNoiseJy: expNoise, peakJy, nOutside, nPlanes: plan.nPlanes,
    gridBand: [plan.vHi - plan.vLo + 1, plan.uHi - plan.uLo + 1], simd: pool.simd,
    nGridded: gin.nRow * gin.nChan, nVisIn,
    timings: { weighting: tWeight, plan: tPlan, gridding: gt.gridding, fft: gt.fft, imageOps: gt.imageOps, deconvolution: tDecon, restore: tRestore, total: performance.now() - T0 },
  };
}

/** Per chunk, A_k/Ā with Ā the weight-averaged beam (1 where Ā is negligible or not finite). */
function beamRatios(chunks: { beam: Float32Array; weight: number }[]): Float32Array[] {
  const n = chunks[0]?.beam.length ?? 0, K = chunks.length;
  let wsum = 0;
  for (const c of chunks) wsum += c.weight;
  const wk = chunks.map((c) => c.weight / wsum), beams = chunks.map((c) => c.beam);
  const out = chunks.map(() => new Float32Array(n));
  for (let i = 0; i < n; i++) {
    let a = 0;
    for (let k = 0; k < K; k++) a += wk[k] * beams[k][i];
    if (a > 1e-4 && Number.isFinite(a)) { const inv = 1 / a; for (let k = 0; k < K; k++) out[k][i] = beams[k][i] * inv; } else for (let k = 0; k < K; k++) out[k][i] = 1;
  }
  return out;
}

/**
 * The auto-mask: model pixels ≠ 0 (the components found so far), dilated by a disc of radius
 * r pixels (half the restoring beam's minor axis) so that a source between pixel centres, whose
 * neighbouring pixels had not all received components yet, can still be cleaned fully.
 */
export function maskFromModel(model: Float32Array, nx: number, ny: number, r: number): Uint8Array {
  const m = new Uint8Array(model.length);
  for (let iy = 0; iy < ny; iy++) for (let ix = 0; ix < nx; ix++) {
    if (model[iy * nx + ix] === 0) continue;
    for (let dy = -r; dy <= r; dy++) {
      const y = iy + dy;
      if (y < 0 || y >= ny) continue;
      const dxMax = Math.floor(Math.sqrt(r * r - dy * dy));
      for (let x = Math.max(0, ix - dxMax); x <= Math.min(nx - 1, ix + dxMax); x++) m[y * nx + x] = 1;
    }
  }
  return m;
}

/** Zero the weights of visibilities that fall outside the padded grid; returns how many had weight. */
export function excludeOutside(plan: GridPlan, weights: Float32Array): number {
  const { nRow, nChan, uvw, freq, cellRad, Nu, Nv, W } = plan;
  const uLim = Nu / 2 - W / 2 - 1, vLim = Nv / 2 - W / 2 - 1;
  let n = 0;
  for (let r = 0; r < nRow; r++) for (let c = 0; c < nChan; c++) {
    const k = r * nChan + c;
    if (weights[k] === 0) continue;
    const s = freq[c] / 299792458;
    if (Math.abs(uvw[3 * r] * s * cellRad * Nu) > uLim || Math.abs(uvw[3 * r + 1] * s * cellRad * Nv) > vLim) { weights[k] = 0; n++; }
  }
  return n;
}

/** Convenience single-shot operators for a command or a test. */
export async function dirtyImage(input: VisInput, geometry: ImageGeometry, weights?: Float32Array, gopts?: GridderOptions): Promise<Float32Array> {
  await initFft();
  const plan = makeGridPlan(input, geometry, gopts);
  const w = Float32Array.from(weights ?? input.weight);
  excludeOutside(plan, w);
  let s = 0;
  for (let k = 0; k < w.length; k++) s += w[k];
  const img = gridToImage(plan, weighted(input.vis, w));
  for (let i = 0; i < img.length; i++) img[i] /= s;
  return img;
}

export async function psfImage(input: VisInput, geometry: ImageGeometry, weights?: Float32Array, gopts?: GridderOptions): Promise<Float32Array> {
  const ones = { ...input, vis: new Float32Array(input.vis.length) };
  for (let k = 0; k < input.nRow * input.nChan; k++) ones.vis[2 * k] = 1;
  return dirtyImage(ones, geometry, weights, gopts);
}

/** Model visibilities of a model image (Jy/pixel), by degridding. */
export async function predict(input: Pick<VisInput, 'nRow' | 'nChan' | 'uvw' | 'freq'>, geometry: ImageGeometry, model: Float32Array, gopts?: GridderOptions): Promise<Float32Array> {
  await initFft();
  const plan = makeGridPlan(input, geometry, gopts);
  return imageToVis(plan, model);
}
