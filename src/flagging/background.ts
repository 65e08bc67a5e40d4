/**
 * Smooth background of a [nTime][nChan] amplitude plane, ignoring flagged samples: AOFlagger's
 * default "high-pass" step (masked downsample in time, Gaussian low-pass, upsample), except that
 * along time the fit is locally linear (see step 3) and along frequency the Gaussian is
 * approximated by three running boxes (see step 2: O(1) per sample instead of O(kernel)).
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

/**
 * Widths of three centred running boxes whose cascade approximates a Gaussian of variance
 * sigmaSq (a box of odd width w has variance (w² − 1)/12; the standard split into n boxes of
 * widths w and w + 2). σ² = 5 → 3, 5, 5 (σ² 4.67, support ±5 channels).
 */
export function boxWidths(sigmaSq: number, n = 3): number[] {
  if (!(sigmaSq > 0)) return [];
  const ideal = Math.sqrt((12 * sigmaSq) / n + 1);
  let wl = Math.floor(ideal);
  if (wl % 2 === 0) wl--;
  if (wl < 1) wl = 1;
  const wu = wl + 2;
  const m = Math.round((12 * sigmaSq - n * wl * wl - 4 * n * wl - 3 * n) / (-4 * wl - 4));
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(i < m ? wl : wu);
  return out;
}

/** Scratch buffers for one plane shape. */
export class BackgroundScratch {
  readonly nTime: number;
  readonly nChan: number;
  readonly dec: number;
  readonly nTd: number;
  readonly kt: Float64Array;
  /** Half-widths of the running boxes along frequency (see smoothFrequency). */
  readonly boxes: Int32Array;
  readonly tmpV: Float64Array;
  readonly tmpW: Float64Array;
  readonly sumV: Float64Array;
  readonly sumW: Float64Array;
  readonly tV: Float64Array;
  readonly tW: Float64Array;
  readonly bg: Float64Array;
  readonly slope: Float64Array;
  readonly valid: Uint8Array;
  /**
   * The time fit's taps, per output block td: entries [tapStart[td], tapStart[td + 1]) give the
   * source block (tapSrc) and the weights g, g·x, g·x² (x = source centre − td centre). They
   * depend only on the plane shape, so they are computed once.
   */
  readonly tapStart: Int32Array;
  readonly tapSrc: Int32Array;
  readonly tapG0: Float64Array;
  readonly tapG1: Float64Array;
  readonly tapG2: Float64Array;
  /** One channel's block sums of weights / values (length nTd). */
  readonly colW: Float64Array;
  readonly colV: Float64Array;
  /**
   * Unmasked channels: the smoothed weights of a plane without flags ([c][td], refW) are
   * cnt(td)·K(c) (K: the box cascade's sum over the band, < its full value only at the band
   * edges), so the fit is a fixed linear map of the values: bg(td) = Σ_q cleanA[q]·v(src q)/K(c),
   * slope(td) = Σ_q cleanB[q]·v(src q)/K(c). fitTime takes this path for every channel whose
   * weights equal refW exactly (they are sums of integers, so the comparison is exact).
   */
  readonly refW: Float64Array;
  readonly invK: Float64Array;
  readonly cleanA: Float64Array;
  readonly cleanB: Float64Array;
  constructor(nTime: number, nChan: number, opts: BackgroundOptions = {}) {
    this.nTime = nTime;
    this.nChan = nChan;
    this.dec = Math.max(1, Math.min(nTime, Math.round(opts.timeDecimation ?? 3)));
    this.nTd = Math.ceil(nTime / this.dec);
    this.kt = gaussianKernel(opts.timeSigmaSq ?? 2.5);
    this.boxes = Int32Array.from(boxWidths(opts.freqSigmaSq ?? 5), (w) => (w - 1) >> 1);
    const n = this.nTd * nChan;
    this.tmpV = new Float64Array(nChan + 1);
    this.tmpW = new Float64Array(nChan + 1);
    this.sumV = new Float64Array(n);
    this.sumW = new Float64Array(n);
    this.tV = new Float64Array(n);
    this.tW = new Float64Array(n);
    this.bg = new Float64Array(n);
    this.slope = new Float64Array(n);
    this.valid = new Uint8Array(n);
    const nTd = this.nTd;
    const rt = (this.kt.length - 1) >> 1;
    this.tapStart = new Int32Array(nTd + 1);
    const cap = nTd * (2 * rt + 1);
    this.tapSrc = new Int32Array(cap);
    this.tapG0 = new Float64Array(cap);
    this.tapG1 = new Float64Array(cap);
    this.tapG2 = new Float64Array(cap);
    let q = 0;
    for (let td = 0; td < nTd; td++) {
      this.tapStart[td] = q;
      const x0 = blockCentre(td, this.dec, nTime);
      for (let j = Math.max(-rt, -td); j <= Math.min(rt, nTd - 1 - td); j++) {
        const g = this.kt[j + rt];
        const x = blockCentre(td + j, this.dec, nTime) - x0;
        this.tapSrc[q] = td + j;
        this.tapG0[q] = g;
        this.tapG1[q] = g * x;
        this.tapG2[q] = g * x * x;
        q++;
      }
    }
    this.tapStart[nTd] = q;
    this.colW = new Float64Array(nTd);
    this.colV = new Float64Array(nTd);
    // the weights of an unmasked plane, through the same code as real data
    this.sumW.fill(0);
    for (let t = 0; t < nTime; t++) {
      const drow = Math.floor(t / this.dec) * nChan;
      for (let c = 0; c < nChan; c++) this.sumW[drow + c] += 1;
    }
    this.sumV.fill(0);
    smoothFrequency(this);
    this.refW = new Float64Array(nChan * nTd);
    this.invK = new Float64Array(nChan);
    const cnt0 = this.sumW[0];
    for (let c = 0; c < nChan; c++) {
      for (let td = 0; td < nTd; td++) this.refW[c * nTd + td] = this.tW[td * nChan + c];
      this.invK[c] = cnt0 / this.tW[c];
    }
    this.cleanA = new Float64Array(cap);
    this.cleanB = new Float64Array(cap);
    for (let td = 0; td < nTd; td++) {
      let s0 = 0, s1 = 0, s2 = 0;
      const e = this.tapStart[td + 1];
      for (let q = this.tapStart[td]; q < e; q++) {
        const w = this.sumW[this.tapSrc[q] * nChan];
        s0 += this.tapG0[q] * w; s1 += this.tapG1[q] * w; s2 += this.tapG2[q] * w;
      }
      const det = s0 * s2 - s1 * s1;
      const mu = s1 / s0;
      const linear = det > 1e-6 * s0 * s2 && s2 > 0 && mu * mu <= 2.25 * (s2 / s0 - mu * mu);
      for (let q = this.tapStart[td]; q < e; q++) {
        if (linear) {
          this.cleanA[q] = (s2 * this.tapG0[q] - s1 * this.tapG1[q]) / det;
          this.cleanB[q] = (s0 * this.tapG1[q] - s1 * this.tapG0[q]) / det;
        } else {
          this.cleanA[q] = this.tapG0[q] / s0;
          this.cleanB[q] = 0;
        }
      }
    }
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
  fitBlocks(values, mask, s);
  upsample(out, s);
}

/** The block-level background shared by maskedBackground and maskedResidual. */
function fitBlocks(values: Float32Array, mask: Uint8Array, s: BackgroundScratch): void {
  downsample(values, mask, s);
  smoothFrequency(s);
  // 3. along time: Gaussian-weighted local *linear* fit at each block centre (intercept in bg,
  //    slope per sample in slope). A plain normalised convolution is biased at the ends of a
  //    24-sample axis when the sky amplitude drifts; the linear term removes that bias.
  const nInvalid = fitTime(s);
  if (nInvalid > 0) fillInvalid(s);
}

/** As maskedBackground, but writes values − background into `out` (one pass less). */
export function maskedResidual(
  values: Float32Array, mask: Uint8Array, out: Float32Array, s: BackgroundScratch,
): void {
  fitBlocks(values, mask, s);
  residual(values, out, s);
}

// The steps are separate top-level functions so that each is optimised on its own (one large
// function with many loops is slow to optimise and easily deoptimised as a whole).

/** 1. masked downsample in time: per block, Σ values and Σ weights. */
function downsample(values: Float32Array, mask: Uint8Array, s: BackgroundScratch): void {
  const { nTime, nChan, dec, sumV, sumW } = s;
  sumV.fill(0);
  sumW.fill(0);
  for (let t = 0; t < nTime; t++) {
    const row = t * nChan;
    const drow = ((t / dec) | 0) * nChan;
    for (let c = 0; c < nChan; c++) {
      if (mask[row + c] === 0) { sumV[drow + c] += values[row + c]; sumW[drow + c] += 1; }
    }
  }
}

/**
 * 2. Low-pass along frequency of the block sums (values and weights alike): three running boxes
 *    (widths from boxWidths), which approximate AOFlagger's Gaussian to a few per cent of its
 *    width at O(1) cost per sample instead of O(kernel). Boxes are truncated at the band edges
 *    (zero padding of both sums), which the normalisation by the smoothed weights renormalises.
 */
function smoothFrequency(s: BackgroundScratch): void {
  const { nChan, nTd, boxes, sumV, sumW, tV, tW, tmpV, tmpW } = s;
  if (boxes.length === 0) { tV.set(sumV); tW.set(sumW); return; }
  tV.set(sumV);
  tW.set(sumW);
  for (let td = 0; td < nTd; td++) {
    const row = td * nChan;
    for (let q = 0; q < boxes.length; q++) boxRow(tV, tW, row, nChan, boxes[q], tmpV, tmpW);
  }
}

/** In place: x[row + c] ← Σ_{|k|≤h} x[row + c + k] (zero outside the row), for V and W. */
function boxRow(v: Float64Array, w: Float64Array, row: number, n: number, h: number, pv: Float64Array, pw: Float64Array): void {
  // prefix sums, then differences: exact enough in doubles for ≤ 768 summands of counts/amplitudes
  let a = 0, b = 0;
  pv[0] = 0;
  pw[0] = 0;
  for (let c = 0; c < n; c++) { a += v[row + c]; b += w[row + c]; pv[c + 1] = a; pw[c + 1] = b; }
  for (let c = 0; c < n; c++) {
    const lo = c - h > 0 ? c - h : 0;
    const hi = c + h + 1 < n ? c + h + 1 : n;
    v[row + c] = pv[hi] - pv[lo];
    w[row + c] = pw[hi] - pw[lo];
  }
}

/**
 * 3. The local linear fit along time, channel by channel with the accumulators in registers.
 *    Returns the number of blocks with no unflagged sample within reach.
 */
function fitTime(s: BackgroundScratch): number {
  const { nChan, nTd, tV, tW, bg, slope, valid, tapStart, tapSrc, tapG0, tapG1, tapG2, colW, colV } = s;
  const { refW, invK, cleanA, cleanB } = s;
  let nInvalid = 0;
  for (let c = 0; c < nChan; c++) {
    let clean = true;
    for (let i = 0, k = c; i < nTd; i++, k += nChan) {
      colW[i] = tW[k];
      colV[i] = tV[k];
      if (tW[k] !== refW[c * nTd + i]) clean = false;
    }
    if (clean) {
      // no flag within reach: the fit is a fixed linear map (see BackgroundScratch)
      const ik = invK[c];
      for (let td = 0, o = c; td < nTd; td++, o += nChan) {
        let a = 0, b = 0;
        const q0 = tapStart[td];
        for (let q = q0, i = tapSrc[q0], e = tapStart[td + 1]; q < e; q++, i++) {
          const v = colV[i];
          a += cleanA[q] * v;
          b += cleanB[q] * v;
        }
        valid[o] = 1;
        bg[o] = a * ik;
        slope[o] = b * ik;
      }
      continue;
    }
    for (let td = 0, o = c; td < nTd; td++, o += nChan) {
      let s0 = 0, s1 = 0, s2 = 0, t0 = 0, t1 = 0;
      // a block's taps read consecutive source blocks from tapSrc[first tap] on
      const q0 = tapStart[td];
      for (let q = q0, i = tapSrc[q0], e = tapStart[td + 1]; q < e; q++, i++) {
        const w = colW[i];
        const v = colV[i];
        const g0 = tapG0[q], g1 = tapG1[q];
        s0 += g0 * w; s1 += g1 * w; s2 += tapG2[q] * w;
        t0 += g0 * v; t1 += g1 * v;
      }
      if (s0 <= 1e-12) { valid[o] = 0; bg[o] = 0; slope[o] = 0; nInvalid++; continue; }
      valid[o] = 1;
      const det = s0 * s2 - s1 * s1;
      // need weight on at least two distinct blocks for a slope; otherwise the weighted mean.
      // Nor extrapolate: when the data's weighted centre lies more than 1.5 weighted spreads
      // from this block (a masked stretch of timesteps, e.g. after a strong broadband burst) the
      // slope of a few noisy samples per channel, carried several blocks away, puts more noise
      // into the residual than the drift it removes — enough to keep the stretch flagged in
      // every later pass. The plane edges (centre ≈ 1 spread away) keep the linear fit.
      const mu = s1 / s0;
      if (det > 1e-6 * s0 * s2 && s2 > 0 && mu * mu <= 2.25 * (s2 / s0 - mu * mu)) {
        bg[o] = (s2 * t0 - s1 * t1) / det;
        slope[o] = (s0 * t1 - s1 * t0) / det;
      } else {
        bg[o] = t0 / s0;
        slope[o] = 0;
      }
    }
  }
  return nInvalid;
}

/**
 * Fills invalid blocks (no unflagged sample within reach) from the nearest valid channel of the
 * same time block, else from the nearest valid time block: never 0, which would turn a masked
 * region's residual into the raw amplitude and keep it flagged in every later pass.
 */
function fillInvalid(s: BackgroundScratch): void {
  fillInvalidBlocks(s.nChan, s.nTd, s.bg, s.slope, s.valid);
}

/** fillInvalid on explicit [nTd][nChan] arrays (also used by the wasm kernels, see wasm.ts). */
export function fillInvalidBlocks(nChan: number, nTd: number, bg: Float64Array, slope: Float64Array, valid: Uint8Array): void {
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
}

/** 4. each sample: the linear fit of its own block. */
function upsample(out: Float32Array, s: BackgroundScratch): void {
  const { nTime, nChan, dec, bg, slope } = s;
  for (let t = 0; t < nTime; t++) {
    const orow = t * nChan;
    const td = (t / dec) | 0;
    const dx = t - blockCentre(td, dec, nTime);
    const brow = td * nChan;
    for (let c = 0; c < nChan; c++) out[orow + c] = bg[brow + c] + dx * slope[brow + c];
  }
}

/** 4'. values − the linear fit of each sample's block. */
function residual(values: Float32Array, out: Float32Array, s: BackgroundScratch): void {
  const { nTime, nChan, dec, bg, slope } = s;
  for (let t = 0; t < nTime; t++) {
    const orow = t * nChan;
    const td = (t / dec) | 0;
    const dx = t - blockCentre(td, dec, nTime);
    const brow = td * nChan;
    for (let c = 0; c < nChan; c++) out[orow + c] = values[orow + c] - (bg[brow + c] + dx * slope[brow + c]);
  }
}

/** Centre (in samples) of time block b: blocks are [b·dec, min(nTime, (b+1)·dec)). */
function blockCentre(b: number, dec: number, nTime: number): number {
  const start = b * dec;
  const end = Math.min(nTime, start + dec);
  return 0.5 * (start + end - 1);
}
