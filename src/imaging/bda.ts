/**
 * Baseline-dependent averaging (BDA) in frequency before gridding.
 *
 * Averaging the visibilities of channels [c0, c1) of one row (baseline-time) multiplies the
 * response to a source at s = (l, m, n−1) by the mean of e^{2πi (b·s) ν/c} over the chunk. For a
 * box of total width Δν the phase span is φ = 2π (b·s) Δν/c and the amplitude sinc(φ/2) ≈ 1 − φ²/24.
 * Over an image |l| ≤ l_max, |m| ≤ m_max (n−1 ≥ nm1_min at the corners), b·s is at most
 * P = |u| l_max + |v| m_max + |w| |nm1_min| (metres), so a loss ≤ L everywhere in the image holds for
 *
 *     Δν ≤ c · √(24 L) / (2π P)
 *
 * With L = 1 % on a 4096² 3″ image (l_max = m_max = 1.7°) this is 5–7 channels of 244 kHz on a
 * 400 m baseline, ~30 at 100 m, 1 on the 2.5 km outrigger baselines; on a DSA-110 group it cuts the
 * visibility count ~3×. Averaging uses the imaging weights: V̄ = Σ w V / Σ w, weight Σ w, placed at the
 * weight centroid frequency ν̄ = Σ w ν / Σ w (so flagged channels do not shift the point).
 *
 * The output is a flat VisInput with nChan = 1 and freq = [c]: its "uvw" are then wavelengths
 * (uvw_m · ν̄ / c), which every imaging routine (weights, plan, gridder) handles unchanged.
 */
import { C_LIGHT } from '../astro/constants.js';
import type { VisInput } from './types.js';

export interface BdaResult {
  /** Averaged visibilities: nChan = 1, freq = [c], uvw in wavelengths. */
  input: VisInput;
  /** Averaged imaging weights (Σ of the input imaging weights of each chunk). */
  weights: Float32Array;
  /** Visibilities with non-zero weight before / after averaging. */
  nIn: number; nOut: number;
}

/** Largest chunk bandwidth (Hz) given P = max over the image of |b·s| (metres): see the module comment. */
export function bdaMaxBandwidth(projM: number, maxLoss: number): number {
  if (!(projM > 0)) return Infinity;
  return (C_LIGHT * Math.sqrt(24 * maxLoss)) / (2 * Math.PI * projM);
}

/** Image extent for BDA: half-widths in l and m, and |n − 1| at the corners (radians). */
export interface BdaField { lMax: number; mMax: number; nm1Max: number }

export function bdaField(nx: number, ny: number, cellRad: number): BdaField {
  const lMax = (nx / 2) * cellRad, mMax = (ny / 2) * cellRad;
  return { lMax, mMax, nm1Max: 1 - Math.sqrt(Math.max(0, 1 - lMax * lMax - mMax * mMax)) };
}

/**
 * Average each row's channels in chunks as wide as bdaMaxBandwidth allows (chunks of equal
 * channel count per row; the last may be shorter). Chunks with zero total weight are dropped.
 * alloc lets the caller put the outputs in shared memory (for the gridding workers).
 */
export function averageBaselineDependent(
  input: VisInput, weights: Float32Array, field: BdaField, maxLoss = 0.01,
  alloc: (bytes: number) => ArrayBufferLike = (b) => new ArrayBuffer(b),
): BdaResult {
  const { nRow, nChan, uvw, freq, vis, weight } = input;
  const chanWidth = nChan > 1 ? Math.abs(freq[nChan - 1] - freq[0]) / (nChan - 1) : 0;
  const fRow = new Int32Array(nRow);
  // Pass 1: chunk size per row and the number of non-empty chunks.
  let nOut = 0, nIn = 0;
  for (let r = 0; r < nRow; r++) {
    const P = Math.abs(uvw[3 * r]) * field.lMax + Math.abs(uvw[3 * r + 1]) * field.mMax + Math.abs(uvw[3 * r + 2]) * field.nm1Max;
    const bw = bdaMaxBandwidth(P, maxLoss);
    // the chunk spans F channels of width chanWidth (each channel is itself a box)
    const F = chanWidth > 0 ? Math.max(1, Math.min(nChan, Math.floor(bw / chanWidth))) : nChan;
    fRow[r] = F;
    const base = r * nChan;
    for (let c0 = 0; c0 < nChan; c0 += F) {
      const c1 = Math.min(nChan, c0 + F);
      let any = false;
      for (let c = c0; c < c1; c++) if (weights[base + c] > 0) { nIn++; any = true; }
      if (any) nOut++;
    }
  }
  const oUvw = new Float64Array(alloc(24 * nOut)), oVis = new Float32Array(alloc(8 * nOut));
  const oW = new Float32Array(alloc(4 * nOut)), oNat = new Float32Array(alloc(4 * nOut));
  const oChunk = input.rowChunk ? new Uint8Array(alloc(Math.max(1, nOut))) : undefined;
  let k = 0;
  for (let r = 0; r < nRow; r++) {
    const F = fRow[r], base = r * nChan;
    const u = uvw[3 * r] / C_LIGHT, v = uvw[3 * r + 1] / C_LIGHT, w = uvw[3 * r + 2] / C_LIGHT;
    for (let c0 = 0; c0 < nChan; c0 += F) {
      const c1 = Math.min(nChan, c0 + F);
      let sw = 0, sf = 0, sr = 0, si = 0, sn = 0;
      for (let c = c0; c < c1; c++) {
        const i = base + c, wt = weights[i];
        if (!(wt > 0)) continue;
        sw += wt; sf += wt * freq[c];
        sr += wt * vis[2 * i]; si += wt * vis[2 * i + 1];
        sn += weight[i];
      }
      if (!(sw > 0)) continue;
      const f = sf / sw;
      oUvw[3 * k] = u * f; oUvw[3 * k + 1] = v * f; oUvw[3 * k + 2] = w * f;
      oVis[2 * k] = sr / sw; oVis[2 * k + 1] = si / sw;
      oW[k] = sw; oNat[k] = sn;
      if (oChunk) oChunk[k] = input.rowChunk![r];
      k++;
    }
  }
  const freqOut = new Float64Array(alloc(8));
  freqOut[0] = C_LIGHT;
  return { input: { nRow: nOut, nChan: 1, uvw: oUvw, freq: freqOut, vis: oVis, weight: oNat, rowChunk: oChunk }, weights: oW, nIn, nOut };
}
