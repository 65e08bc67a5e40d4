import { describe, expect, it } from 'vitest';
import {
  computeVariability,
  createVariabilityState,
  findEseCandidates,
  maxPairSignificance,
  updateVariability,
  variabilityMetrics,
  type LightCurves,
} from '../../src/photometry/variability.js';
import { gauss, rng } from './synth.js';

describe('variability metrics on a tiny light curve', () => {
  // f = [1.0, 1.2, 0.9, 1.5, 1.1], σ = [0.1, 0.1, 0.2, 0.3, 0.1].
  // Reference values computed by hand with numpy (float64), straight from the definitions:
  //   eta = N/(N-1)*((w*f**2).mean() - (w*f).mean()**2/w.mean()),  w = 1/σ²
  //   chi2nu = sum(w*(f - sum(w f)/sum(w))**2)/(N-1);  V = f.std(ddof=1)/f.mean()
  //   sigmaDev = max|f - mean|/std;  best pair by brute force over all 10 pairs → epochs 2, 3.
  const lc: LightCurves = {
    nSrc: 1, nEpoch: 5,
    flux: Float64Array.of(1.0, 1.2, 0.9, 1.5, 1.1),
    err: Float64Array.of(0.1, 0.1, 0.2, 0.3, 0.1),
  };
  const r = computeVariability(lc);
  it('N, mean, std, V', () => {
    expect(r.n[0]).toBe(5);
    expect(r.mean[0]).toBeCloseTo(1.14, 12);
    expect(r.std[0]).toBeCloseTo(0.23021728866442676, 12);
    expect(r.v[0]).toBeCloseTo(0.20194499005651473, 12);
  });
  it('η and χ²_ν (equal by algebra, computed by different routes)', () => {
    expect(r.eta[0]).toBeCloseTo(1.194214876033044, 10);
    expect(r.chi2nu[0]).toBeCloseTo(1.194214876033044, 10);
    expect(r.weightedMean[0]).toBeCloseTo(1.0983471074380164, 12);
  });
  it('σ-deviations and the most significant pair', () => {
    expect(r.sigmaDev[0]).toBeCloseTo(1.5637400739470502, 10);
    expect(r.sigmaDevRobust[0]).toBeCloseTo(2.6979590007843237, 10);
    expect(r.pairA[0]).toBe(2);
    expect(r.pairB[0]).toBe(3);
    expect(r.vs[0]).toBeCloseTo(1.6641005886756874, 12); // (1.5 − 0.9)/sqrt(0.2² + 0.3²)
    expect(r.m[0]).toBeCloseTo(0.5, 12); // 2·0.6/(0.9 + 1.5)
  });
  it('missing epochs (NaN flux or error) are ignored', () => {
    const lc2: LightCurves = {
      nSrc: 1, nEpoch: 7,
      flux: Float64Array.of(1.0, NaN, 1.2, 0.9, 7, 1.5, 1.1),
      err: Float64Array.of(0.1, 0.1, 0.1, 0.2, NaN, 0.3, 0.1),
    };
    const r2 = computeVariability(lc2);
    expect(r2.n[0]).toBe(5);
    expect(r2.eta[0]).toBeCloseTo(r.eta[0], 10);
    expect(r2.pairA[0]).toBe(3);
    expect(r2.pairB[0]).toBe(5);
  });
});

function brutePair(f: Float64Array, s2: Float64Array, n: number): number {
  let best = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) {
    best = Math.max(best, Math.abs(f[i] - f[j]) / Math.sqrt(s2[i] + s2[j]));
  }
  return best;
}

describe('most significant pair: exact pruned search', () => {
  it('matches brute force on varied light curves', () => {
    const u = rng(77), g = gauss(u);
    const H = new Int32Array(400), L = new Int32Array(400), out = new Float64Array(3);
    for (let t = 0; t < 300; t++) {
      const n = 2 + Math.floor(u() * 300);
      const f = new Float64Array(n), s2 = new Float64Array(n);
      const kind = t % 4;
      for (let k = 0; k < n; k++) {
        // 0: equal errors; 1: errors spread ×30; 2: few distinct flux values; 3: trend + outliers
        const s = kind === 1 ? 0.01 * Math.exp(3.4 * u()) : 0.02 * (1 + 0.5 * u());
        s2[k] = s * s;
        f[k] = kind === 2 ? Math.floor(u() * 3) : 1 + s * g() + (kind === 3 ? 0.001 * k + (u() < 0.02 ? 0.5 : 0) : 0);
      }
      maxPairSignificance(f, s2, n, H, L, out);
      const bf = brutePair(f, s2, n);
      expect(out[0]).toBeCloseTo(bf, 12);
      const i = out[1], j = out[2];
      expect(Math.abs(f[i] - f[j]) / Math.sqrt(s2[i] + s2[j])).toBeCloseTo(bf, 12);
    }
  });
});

describe('incremental updates', () => {
  it('give the same metrics as a from-scratch computation', () => {
    const u = rng(5), g = gauss(u);
    const S = 40, E = 60;
    const flux = new Float64Array(S * E), err = new Float64Array(S * E);
    for (let s = 0; s < S; s++) for (let e = 0; e < E; e++) {
      const sg = 0.01 * (1 + u());
      err[s * E + e] = sg;
      flux[s * E + e] = u() < 0.05 ? NaN : 100 + s + sg * g() * (1 + (s % 3));
    }
    const full = computeVariability({ nSrc: S, nEpoch: E, flux, err });
    const st = createVariabilityState(S);
    // grow the light curves epoch block by epoch block (re-laid out each time)
    for (const upto of [30, 31, 33, 34, 50, 60]) {
      const f2 = new Float64Array(S * upto), e2 = new Float64Array(S * upto);
      for (let s = 0; s < S; s++) for (let e = 0; e < upto; e++) {
        f2[s * upto + e] = flux[s * E + e]; e2[s * upto + e] = err[s * E + e];
      }
      updateVariability(st, { nSrc: S, nEpoch: upto, flux: f2, err: e2 });
    }
    const inc = variabilityMetrics(st, { nSrc: S, nEpoch: E, flux, err });
    for (const k of ['mean', 'std', 'v', 'eta', 'chi2nu', 'sigmaDev', 'sigmaDevRobust', 'vs', 'm'] as const) {
      for (let s = 0; s < S; s++) expect(inc[k][s]).toBeCloseTo(full[k][s], 8);
    }
    expect(Array.from(inc.pairA)).toEqual(Array.from(full.pairA));
    expect(Array.from(inc.pairB)).toEqual(Array.from(full.pairB));
    // η is large-offset safe: the running sums are shifted by the first flux (100 + s Jy here)
    for (let s = 0; s < S; s++) expect(inc.eta[s]).toBeCloseTo(inc.chi2nu[s], 6);
  });
});

describe('σ-deviation and dip windows', () => {
  it('plain σ-deviation of a noiseless box dip is sqrt((1 − p)/p)', () => {
    for (const [N, k] of [[60, 3], [60, 10], [100, 30]]) {
      const flux = new Float64Array(N).fill(1), err = new Float64Array(N).fill(0.01);
      for (let e = 20; e < 20 + k; e++) flux[e] = 0.7;
      const r = computeVariability({ nSrc: 1, nEpoch: N, flux, err });
      const p = k / N;
      // sample std uses N − 1: σ-dev = (1 − p)·D / (D·sqrt(p(1 − p)·N/(N − 1)))
      expect(r.sigmaDev[0]).toBeCloseTo(Math.sqrt((1 - p) / p) * Math.sqrt((N - 1) / N), 10);
    }
  });

  it('finds a dip and its window; a flat noisy source is not a candidate', () => {
    const u = rng(9), g = gauss(u);
    const E = 80;
    const flux = new Float64Array(2 * E), err = new Float64Array(2 * E).fill(0.01);
    for (let e = 0; e < E; e++) {
      flux[e] = 1 + 0.01 * g() - (e >= 30 && e < 42 ? 0.3 : 0) + (e === 29 || e === 42 ? 0.1 : 0);
      flux[E + e] = 1 + 0.01 * g();
    }
    const lc = { nSrc: 2, nEpoch: E, flux, err };
    const m = computeVariability(lc);
    const c = findEseCandidates(m, lc, { preset: 'conservative' });
    expect(Array.from(c.source)).toEqual([0]);
    expect(c.windowStart[0]).toBe(30);
    expect(c.windowEnd[0]).toBe(41);
    expect(c.depth[0]).toBeCloseTo(0.3, 1);
    // plain σ-deviation (p = 12/80) cannot pass the conservative 5σ
    expect(m.sigmaDev[0]).toBeLessThan(5);
    expect(findEseCandidates(m, lc, { preset: 'conservative', sigmaDev: 'std' }).source.length).toBe(0);
  });
});
