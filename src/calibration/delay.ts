/**
 * Delay (K) solutions, per antenna and pol, referenced to refant (τ_ref = 0).
 * Convention (types.ts): K_i(ν) = exp(−2πi ν τ_i), V_ij ∝ K_i conj(K_j).
 *
 * 1. Time-averaged V·conj(M) per baseline and channel (one pass, `delaySums`).
 * 2. Coarse: FFT along frequency of the baseline to refant, zero-padded ×8 (to a power of two),
 *    peak + parabolic refinement. Antennas with no refant baseline are reached through an
 *    already-solved antenna.
 * 3. Fine: Gauss–Newton on the phases of all baselines, unknowns per antenna a phase offset and a
 *    delay, weights |xy|²/mm (∝ SNR²) — removes the FFT grid bias and uses the whole array.
 */
import { DsaError } from '../util/errors.js';
import { accumulateSums, assertHasData, createSums, type BaselineSums } from './sums.js';
import type { DelayTable, VisChunk } from './types.js';

export interface DelayOptions {
  refant: number;
  /** Zero-padding factor of the coarse FFT (default 8). */
  pad?: number;
  /** Gauss–Newton refinement iterations (default 6; 0 disables). */
  refineIterations?: number;
  /** Flag solutions below this SNR (default 3). */
  minSnr?: number;
}

export function delaySums(chunk: VisChunk, into?: BaselineSums): BaselineSums {
  const sums = into ?? createSums(chunk.nAnt, chunk.ant1, chunk.ant2, chunk.nChan, chunk.nPol);
  accumulateSums(chunk, sums);
  return sums;
}

export function solveDelays(chunk: VisChunk, opts: DelayOptions): DelayTable {
  return delaysFromSums(delaySums(chunk), chunk.freqHz, opts);
}

/** In-place radix-2 complex FFT (forward, e^{−2πi km/N}); n must be a power of two. */
export function fftRadix2(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      let t = re[i]; re[i] = re[j]; re[j] = t;
      t = im[i]; im[i] = im[j]; im[j] = t;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    const wr = Math.cos(ang), wi = Math.sin(ang);
    const half = len >> 1;
    for (let i = 0; i < n; i += len) {
      let cr = 1, ci = 0;
      for (let k = 0; k < half; k++) {
        const a = i + k, b = a + half;
        const xr = re[b] * cr - im[b] * ci;
        const xi = re[b] * ci + im[b] * cr;
        re[b] = re[a] - xr; im[b] = im[a] - xi;
        re[a] += xr; im[a] += xi;
        const t = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = t;
      }
    }
  }
}

interface Grid {
  /** Channel → index on a uniform grid. */
  slot: Int32Array;
  dnuHz: number;
  nFft: number;
}

function makeGrid(freqHz: Float64Array, pad: number): Grid {
  const nChan = freqHz.length;
  let dnu = Infinity;
  for (let c = 1; c < nChan; c++) {
    const d = freqHz[c] - freqHz[c - 1];
    if (d <= 0) throw new DsaError('delay solve: channel frequencies must be strictly ascending');
    if (d < dnu) dnu = d;
  }
  const slot = new Int32Array(nChan);
  let maxSlot = 0;
  for (let c = 0; c < nChan; c++) {
    slot[c] = Math.round((freqHz[c] - freqHz[0]) / dnu);
    if (slot[c] > maxSlot) maxSlot = slot[c];
  }
  let nFft = 1;
  while (nFft < pad * (maxSlot + 1)) nFft <<= 1;
  return { slot, dnuHz: dnu, nFft };
}

/**
 * Coarse delay (ns) and phase of the oriented spectrum O(ν) ∝ exp(+2πiντ) (channels with no
 * data are zero). Returns NaN when the spectrum is empty.
 */
function fftDelay(oRe: Float64Array, oIm: Float64Array, grid: Grid, re: Float64Array, im: Float64Array): number {
  re.fill(0);
  im.fill(0);
  let any = false;
  for (let c = 0; c < grid.slot.length; c++) {
    if (oRe[c] !== 0 || oIm[c] !== 0) any = true;
    re[grid.slot[c]] += oRe[c];
    im[grid.slot[c]] += oIm[c];
  }
  if (!any) return NaN;
  fftRadix2(re, im);
  const n = grid.nFft;
  let best = 0, bestV = -1;
  for (let m = 0; m < n; m++) {
    const v = re[m] * re[m] + im[m] * im[m];
    if (v > bestV) { bestV = v; best = m; }
  }
  const y0 = Math.sqrt(bestV);
  const ym = Math.hypot(re[(best - 1 + n) % n], im[(best - 1 + n) % n]);
  const yp = Math.hypot(re[(best + 1) % n], im[(best + 1) % n]);
  const den = ym - 2 * y0 + yp;
  const frac = den !== 0 ? (0.5 * (ym - yp)) / den : 0;
  let m = best + frac;
  if (m > n / 2) m -= n;
  // A forward DFT of exp(+2πi k Δν τ) peaks at m = τ Δν N.
  return (m / (n * grid.dnuHz)) * 1e9;
}

export function delaysFromSums(sums: BaselineSums, freqHz: Float64Array, opts: DelayOptions): DelayTable {
  const { nAnt, nBl, nChan, nPol, ant1, ant2, xy, mm, vv, n } = sums;
  const refant = opts.refant;
  if (refant < 0 || refant >= nAnt) throw new DsaError(`delay solve: refant ${refant} out of range 0..${nAnt - 1}`);
  if (freqHz.length !== nChan || nChan < 2) throw new DsaError('delay solve needs at least 2 channels matching the sums');
  assertHasData(sums, 'delay solve');
  const grid = makeGrid(freqHz, opts.pad ?? 8);
  const fre = new Float64Array(grid.nFft);
  const fim = new Float64Array(grid.nFft);
  const oRe = new Float64Array(nChan);
  const oIm = new Float64Array(nChan);
  // Frequencies relative to the band centre, GHz (τ in ns ⇒ 2π ν' τ in radians).
  const nuMid = 0.5 * (freqHz[0] + freqHz[nChan - 1]);
  const nuG = new Float64Array(nChan);
  for (let c = 0; c < nChan; c++) nuG[c] = (freqHz[c] - nuMid) * 1e-9;

  const delayNs = new Float64Array(nAnt * nPol);
  const flag = new Uint8Array(nAnt * nPol);
  const snr = new Float32Array(nAnt * nPol);
  const minSnr = opts.minSnr ?? 3;

  // Baselines per antenna pair, for the coarse step.
  const pairBl = new Int32Array(nAnt * nAnt).fill(-1);
  for (let b = 0; b < nBl; b++) {
    if (ant1[b] === ant2[b]) continue;
    pairBl[ant1[b] * nAnt + ant2[b]] = b;
    pairBl[ant2[b] * nAnt + ant1[b]] = b;
  }

  for (let p = 0; p < nPol; p++) {
    const cellIdx = (b: number, c: number) => (b * nChan + c) * nPol + p;
    const blHasData = new Uint8Array(nBl);
    const antHasData = new Uint8Array(nAnt);
    for (let b = 0; b < nBl; b++) {
      if (ant1[b] === ant2[b]) continue;
      for (let c = 0; c < nChan; c++) {
        if (mm[cellIdx(b, c)] > 0) { blHasData[b] = 1; antHasData[ant1[b]] = 1; antHasData[ant2[b]] = 1; break; }
      }
    }
    const tau = new Float64Array(nAnt);
    const phi = new Float64Array(nAnt);
    const solved = new Uint8Array(nAnt);
    if (antHasData[refant]) solved[refant] = 1;
    // Oriented spectrum of baseline b relative to antenna k: ∝ exp(i(φ_a−φ_k)... ) see below.
    const coarseFrom = (k: number, a: number): boolean => {
      const b = pairBl[k * nAnt + a];
      if (b < 0 || !blHasData[b]) return false;
      // xy on (k,a) ∝ g_k conj(g_a) = e^{i(φ_k−φ_a)} e^{+2πiν(τ_a−τ_k)}: orient so ant1 = k.
      const sgn = ant1[b] === k ? 1 : -1;
      for (let c = 0; c < nChan; c++) {
        const s = cellIdx(b, c);
        oRe[c] = xy[2 * s];
        oIm[c] = sgn * xy[2 * s + 1];
      }
      const d = fftDelay(oRe, oIm, grid, fre, fim);
      if (!Number.isFinite(d)) return false;
      tau[a] = tau[k] + d;
      // Phase at band centre: arg Σ O e^{−2πiν'd} = φ_k − φ_a.
      let sr = 0, si = 0;
      for (let c = 0; c < nChan; c++) {
        const ph = -2 * Math.PI * nuG[c] * d;
        const cr = Math.cos(ph), ci = Math.sin(ph);
        sr += oRe[c] * cr - oIm[c] * ci;
        si += oRe[c] * ci + oIm[c] * cr;
      }
      phi[a] = phi[k] - Math.atan2(si, sr);
      solved[a] = 1;
      return true;
    };
    if (solved[refant]) {
      for (let a = 0; a < nAnt; a++) if (a !== refant && antHasData[a]) coarseFrom(refant, a);
      // Antennas without a usable refant baseline: go through any solved antenna.
      let progress = true;
      while (progress) {
        progress = false;
        for (let a = 0; a < nAnt; a++) {
          if (solved[a] || !antHasData[a]) continue;
          for (let k = 0; k < nAnt; k++) {
            if (solved[k] && coarseFrom(k, a)) { progress = true; break; }
          }
        }
      }
      refineDelays(sums, p, nuG, refant, solved, tau, phi, opts.refineIterations ?? 6);
    }

    // SNR: amplitude SNR of all data involving the antenna, noise from the scatter over time.
    let resid = 0, dof = 0;
    for (let b = 0; b < nBl; b++) {
      if (!blHasData[b]) continue;
      for (let c = 0; c < nChan; c++) {
        const s = cellIdx(b, c);
        if (!(mm[s] > 0) || n[s] < 2) continue;
        const r = vv[s] - (xy[2 * s] ** 2 + xy[2 * s + 1] ** 2) / mm[s];
        resid += r > 0 ? r : 0;
        dof += n[s] - 1;
      }
    }
    const sigma2 = dof > 0 ? resid / dof : 0;
    const power = new Float64Array(nAnt);
    for (let b = 0; b < nBl; b++) {
      if (!blHasData[b]) continue;
      let s2 = 0;
      for (let c = 0; c < nChan; c++) {
        const s = cellIdx(b, c);
        if (mm[s] > 0) s2 += (xy[2 * s] ** 2 + xy[2 * s + 1] ** 2) / mm[s];
      }
      power[ant1[b]] += s2;
      power[ant2[b]] += s2;
    }
    for (let a = 0; a < nAnt; a++) {
      const k = a * nPol + p;
      const sn = !solved[a] ? 0 : sigma2 > 0 ? Math.sqrt(power[a] / sigma2) : 1e9;
      snr[k] = Math.min(sn, 1e9);
      delayNs[k] = solved[a] ? tau[a] - tau[refant] : 0;
      flag[k] = !solved[a] || sn < minSnr || !Number.isFinite(delayNs[k]) ? 1 : 0;
      if (flag[k]) delayNs[k] = 0;
    }
  }
  return {
    type: 'K', nAnt, nPol, delayNs, flag, snr, refant,
    timeMjdSec: sums.timeCount > 0 ? sums.timeSum / sums.timeCount : NaN,
  };
}

/**
 * Gauss–Newton on all baselines: model phase ψ_ij(ν) = (φ_i − φ_j) − 2πν'(τ_i − τ_j),
 * residual r = arg(xy·e^{−iψ}), weights |xy|²/mm. Refant fixed (φ = τ = 0).
 */
function refineDelays(
  sums: BaselineSums, p: number, nuG: Float64Array, refant: number, solved: Uint8Array,
  tau: Float64Array, phi: Float64Array, iterations: number,
): void {
  const { nAnt, nBl, nChan, nPol, ant1, ant2, xy, mm } = sums;
  const pidx = new Int32Array(nAnt).fill(-1);
  let np = 0;
  for (let a = 0; a < nAnt; a++) if (solved[a] && a !== refant) pidx[a] = np++;
  if (np === 0) return;
  const dim = 2 * np;
  const A = new Float64Array(dim * dim);
  const rhs = new Float64Array(dim);
  const TWO_PI = 2 * Math.PI;
  // Weights |xy|²/mm (∝ SNR²) per [bl, chan], computed once.
  const wts = new Float64Array(nBl * nChan);
  for (let b = 0; b < nBl; b++) {
    if (ant1[b] === ant2[b] || !solved[ant1[b]] || !solved[ant2[b]]) continue;
    for (let c = 0; c < nChan; c++) {
      const s = (b * nChan + c) * nPol + p;
      const m = mm[s];
      if (m > 0) wts[b * nChan + c] = (xy[2 * s] * xy[2 * s] + xy[2 * s + 1] * xy[2 * s + 1]) / m;
    }
  }
  // Channels equally spaced → the model phasor e^{−iψ} follows a recurrence across channels.
  let uniform = nChan > 1;
  const dnu = nChan > 1 ? nuG[1] - nuG[0] : 0;
  for (let c = 2; c < nChan && uniform; c++) if (Math.abs(nuG[c] - nuG[c - 1] - dnu) > 1e-9 * Math.abs(dnu)) uniform = false;
  for (let it = 0; it < iterations; it++) {
    A.fill(0);
    rhs.fill(0);
    for (let b = 0; b < nBl; b++) {
      const i = ant1[b], j = ant2[b];
      if (i === j || !solved[i] || !solved[j]) continue;
      const dphi = phi[i] - phi[j];
      const dtau = tau[i] - tau[j];
      let W0 = 0, W1 = 0, W2 = 0, R0 = 0, R1 = 0;
      // e^{−iψ_c}, ψ_c = dphi − 2π ν'_c dtau
      const psi0 = dphi - TWO_PI * nuG[0] * dtau;
      let cr = Math.cos(psi0), ci = -Math.sin(psi0);
      const st = TWO_PI * dnu * dtau; // e^{−iψ} advances by e^{+i·2πΔν'τ}
      const sr = Math.cos(st), si = Math.sin(st);
      const wRow = b * nChan;
      for (let c = 0; c < nChan; c++) {
        if (!uniform && c > 0) {
          const psi = dphi - TWO_PI * nuG[c] * dtau;
          cr = Math.cos(psi); ci = -Math.sin(psi);
        }
        const w = wts[wRow + c];
        if (w > 0) {
          const s = (b * nChan + c) * nPol + p;
          const xr = xy[2 * s], xi = xy[2 * s + 1];
          const r = Math.atan2(xr * ci + xi * cr, xr * cr - xi * ci);
          const d = -TWO_PI * nuG[c]; // ∂ψ/∂τ_i
          W0 += w; W1 += w * d; W2 += w * d * d; R0 += w * r; R1 += w * r * d;
        }
        if (uniform) {
          const t = cr * sr - ci * si;
          ci = cr * si + ci * sr;
          cr = t;
        }
      }
      if (W0 === 0) continue;
      const pi = pidx[i], pj = pidx[j];
      // J row for antenna i: [1, d]; for j: −[1, d].
      if (pi >= 0) {
        const o = 2 * pi;
        A[o * dim + o] += W0; A[o * dim + o + 1] += W1; A[(o + 1) * dim + o] += W1; A[(o + 1) * dim + o + 1] += W2;
        rhs[o] += R0; rhs[o + 1] += R1;
      }
      if (pj >= 0) {
        const o = 2 * pj;
        A[o * dim + o] += W0; A[o * dim + o + 1] += W1; A[(o + 1) * dim + o] += W1; A[(o + 1) * dim + o + 1] += W2;
        rhs[o] -= R0; rhs[o + 1] -= R1;
      }
      if (pi >= 0 && pj >= 0) {
        const oi = 2 * pi, oj = 2 * pj;
        A[oi * dim + oj] -= W0; A[oi * dim + oj + 1] -= W1; A[(oi + 1) * dim + oj] -= W1; A[(oi + 1) * dim + oj + 1] -= W2;
        A[oj * dim + oi] -= W0; A[oj * dim + oi + 1] -= W1; A[(oj + 1) * dim + oi] -= W1; A[(oj + 1) * dim + oi + 1] -= W2;
      }
    }
    const step = choleskySolve(A, rhs, dim);
    if (!step) return;
    let maxDt = 0;
    for (let a = 0; a < nAnt; a++) {
      const k = pidx[a];
      if (k < 0) continue;
      phi[a] += step[2 * k];
      tau[a] += step[2 * k + 1];
      maxDt = Math.max(maxDt, Math.abs(step[2 * k + 1]));
    }
    // 1e-4 ns is far below any useful delay precision.
    if (maxDt < 1e-4) break;
  }
}

/** Solve A x = b for symmetric positive (semi)definite A with a tiny ridge; null if singular. */
function choleskySolve(A: Float64Array, b: Float64Array, n: number): Float64Array | null {
  const L = new Float64Array(n * n);
  let maxDiag = 0;
  for (let i = 0; i < n; i++) maxDiag = Math.max(maxDiag, A[i * n + i]);
  const ridge = maxDiag * 1e-12;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j] + (i === j ? ridge : 0);
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        if (!(s > 0)) return null;
        L[i * n + i] = Math.sqrt(s);
      } else {
        L[i * n + j] = s / L[j * n + j];
      }
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * y[k];
    y[i] = s / L[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
  return x;
}
