/**
 * Smooth background of a [nTime][nChan] amplitude plane, ignoring flagged samples: AOFlagger's
 * default "high-pass" step (masked downsample in time, Gaussian low-pass, upsample), except that
 * along time the fit is locally linear (see step 3).
 *
 * Flagged samples get weight 0, so the fit is conv(Σ values)/conv(Σ weights) — a normalised
 * (masked) convolution that also behaves at the plane edges, which matters for the 24-sample
 * time axis of a DSA-110 group: the time kernel is simply truncated there and renormalised.
 */

export interface BackgroundOptions {
  /** Time decimation factor before filtering (default 3). */
  timeDecimation?: number;
  /** Gaussian σ² in decimated time samples (default 2.5) and in channels (default 5). */
  timeSigmaSq?: number;
  freqSigmaSq?: number;
}

function gaussianKernel(sigmaSq: number): Float64Array {
  if (!(sigmaSq > 0)) return Float64Array.of(1);
  const r = Math.max(1, Math.ceil(3 * Math.sqrt(sigmaSq)));
  const k = new Float64Array(2 * r + 1);
  for (let i = -r; i <= r; i++) k[i + r] = Math.exp((-0.5 * i * i) / sigmaSq);
  return k;
}

/** Scratch buffers for one plane shape. */
export class BackgroundScratch {
  readonly nTime: number;
  readonly nChan: number;
  readonly dec: number;
  readonly nTd: number;
  readonly kt: Float64Array;
  readonly kf: Float64Array;
  readonly sumV: Float64Array;
  readonly sumW: Float64Array;
  readonly tV: Float64Array;
  readonly tW: Float64Array;
  readonly bg: Float64Array;
  readonly slope: Float64Array;
  readonly valid: Uint8Array;
  /** Per-channel accumulators of the time fit (Σw, Σwx, Σwx², Σv, Σvx). */
  readonly a0: Float64Array;
  readonly a1: Float64Array;
  readonly a2: Float64Array;
  readonly b0: Float64Array;
  readonly b1: Float64Array;
  constructor(nTime: number, nChan: number, opts: BackgroundOptions = {}) {
    this.nTime = nTime;
    this.nChan = nChan;
    this.dec = Math.max(1, Math.min(nTime, Math.round(opts.timeDecimation ?? 3)));
    this.nTd = Math.ceil(nTime / this.dec);
    this.kt = gaussianKernel(opts.timeSigmaSq ?? 2.5);
    this.kf = gaussianKernel(opts.freqSigmaSq ?? 5);
    const n = this.nTd * nChan;
    this.sumV = new Float64Array(n);
    this.sumW = new Float64Array(n);
    this.tV = new Float64Array(n);
    this.tW = new Float64Array(n);
    this.bg = new Float64Array(n);
    this.slope = new Float64Array(n);
    this.valid = new Uint8Array(n);
    this.a0 = new Float64Array(nChan);
    this.a1 = new Float64Array(nChan);
    this.a2 = new Float64Array(nChan);
    this.b0 = new Float64Array(nChan);
    this.b1 = new Float64Array(nChan);
  }
}

/**
 * Writes the background of `values` (unflagged samples only) into `out` (length nTime·nChan).
 * Where no unflagged sample lies within reach, the nearest valid background in time is used
 * (or 0 when a channel has none); such samples are flagged anyway, so their residual is unused.
 */
export function maskedBackground(
  values: Float32Array, mask: Uint8Array, out: Float32Array, s: BackgroundScratch,
): void {
  const { nTime, nChan, dec, nTd, kt, kf, sumV, sumW, tV, tW, bg, slope, valid } = s;
  // 1. masked downsample in time: per block, Σ values and Σ weights
  sumV.fill(0);
  sumW.fill(0);
  for (let t = 0; t < nTime; t++) {
    const row = t * nChan;
    const drow = Math.floor(t / dec) * nChan;
    for (let c = 0; c < nChan; c++) {
      if (mask[row + c] === 0) { sumV[drow + c] += values[row + c]; sumW[drow + c] += 1; }
    }
  }
  // 2. Gaussian along frequency of the block sums (values and weights alike). Loops run tap-outer,
  //    channel-inner over contiguous memory (same summation order per channel as a direct sum).
  const rf = (kf.length - 1) >> 1;
  tV.fill(0);
  tW.fill(0);
  for (let td = 0; td < nTd; td++) {
    const row = td * nChan;
    for (let k = -rf; k <= rf; k++) {
      const g = kf[k + rf];
      const cLo = k < 0 ? -k : 0;
      const cHi = k > 0 ? nChan - k : nChan;
      for (let c = cLo; c < cHi; c++) {
        tV[row + c] += g * sumV[row + c + k];
        tW[row + c] += g * sumW[row + c + k];
      }
    }
  }
  // 3. along time: Gaussian-weighted local *linear* fit at each block centre (intercept in bg,
  //    slope per sample in slope). A plain normalised convolution is biased at the ends of a
  //    24-sample axis when the sky amplitude drifts; the linear term removes that bias.
  const rt = (kt.length - 1) >> 1;
  const { a0, a1, a2, b0, b1 } = s;
  for (let td = 0; td < nTd; td++) {
    const orow = td * nChan;
    const x0 = blockCentre(td, dec, nTime);
    const jmin = Math.max(-rt, -td);
    const jmax = Math.min(rt, nTd - 1 - td);
    a0.fill(0); a1.fill(0); a2.fill(0); b0.fill(0); b1.fill(0);
    for (let j = jmin; j <= jmax; j++) {
      const g = kt[j + rt];
      const x = blockCentre(td + j, dec, nTime) - x0;
      const i0 = (td + j) * nChan;
      for (let c = 0; c < nChan; c++) {
        const w = g * tW[i0 + c];
        const v = g * tV[i0 + c];
        a0[c] += w; a1[c] += w * x; a2[c] += w * x * x;
        b0[c] += v; b1[c] += v * x;
      }
    }
    for (let c = 0; c < nChan; c++) {
      const s0 = a0[c], s1 = a1[c], s2 = a2[c], t0 = b0[c], t1 = b1[c];
      if (s0 <= 1e-12) { valid[orow + c] = 0; bg[orow + c] = 0; slope[orow + c] = 0; continue; }
      valid[orow + c] = 1;
      const det = s0 * s2 - s1 * s1;
      // need weight on at least two distinct blocks for a slope; otherwise the weighted mean.
      // Nor extrapolate: when the data's weighted centre lies more than 1.5 weighted spreads
      // from this block (a masked stretch of timesteps, e.g. after a strong broadband burst) the
      // slope of a few noisy samples per channel, carried several blocks away, puts more noise
      // into the residual than the drift it removes — enough to keep the stretch flagged in
      // every later pass. The plane edges (centre ≈ 1 spread away) keep the linear fit.
      const mu = s1 / s0;
      if (det > 1e-6 * s0 * s2 && s2 > 0 && mu * mu <= 2.25 * (s2 / s0 - mu * mu)) {
        bg[orow + c] = (s2 * t0 - s1 * t1) / det;
        slope[orow + c] = (s0 * t1 - s1 * t0) / det;
      } else {
        bg[orow + c] = t0 / s0;
        slope[orow + c] = 0;
      }
    }
  }
  // fill invalid blocks (no unflagged sample within reach) from the nearest valid channel of the
  // same time block, else from the nearest valid time block: never 0, which would turn a masked
  // region's residual into the raw amplitude and keep it flagged in every later pass
  for (let td = 0; td < nTd; td++) {
    const row = td * nChan;
    let last = -1;
    for (let c = 0; c < nChan; c++) {
      if (valid[row + c]) { last = c; continue; }
      let next = -1;
      for (let u = c + 1; u < nChan; u++) if (valid[row + u]) { next = u; break; }
      const src = last < 0 ? next : next < 0 ? last : (c - last <= next - c ? last : next);
      if (src >= 0) { bg[row + c] = bg[row + src]; slope[row + c] = slope[row + src]; }
      else { valid[row + c] = 2; } // whole block row empty: fill from time below
    }
  }
  for (let td = 0; td < nTd; td++) {
    if (valid[td * nChan] !== 2) continue;
    let src = -1;
    for (let d = 1; d < nTd && src < 0; d++) {
      if (td - d >= 0 && valid[(td - d) * nChan] !== 2) src = td - d;
      else if (td + d < nTd && valid[(td + d) * nChan] !== 2) src = td + d;
    }
    for (let c = 0; c < nChan; c++) {
      bg[td * nChan + c] = src < 0 ? 0 : bg[src * nChan + c];
      slope[td * nChan + c] = 0;
    }
  }
  // 4. each sample: the linear fit of its own block
  for (let t = 0; t < nTime; t++) {
    const orow = t * nChan;
    const td = Math.floor(t / dec);
    const dx = t - blockCentre(td, dec, nTime);
    const brow = td * nChan;
    for (let c = 0; c < nChan; c++) out[orow + c] = bg[brow + c] + dx * slope[brow + c];
  }
}

/** Centre (in samples) of time block b: blocks are [b·dec, min(nTime, (b+1)·dec)). */
function blockCentre(b: number, dec: number, nTime: number): number {
  const start = b * dec;
  const end = Math.min(nTime, start + dec);
  return 0.5 * (start + end - 1);
}
