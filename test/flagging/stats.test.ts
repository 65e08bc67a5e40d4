import { describe, expect, it } from 'vitest';
import { MAD_TO_SIGMA, medianInPlace, medianMad, rayleighScale, robustSigma, selectKth } from '../../src/flagging/stats.js';
import { gaussian, rng } from './rfiSim.js';

describe('robust statistics', () => {
  it('median and MAD of a small set by hand', () => {
    // [1,2,3,4,100]: median 3, |dev| = [2,1,0,1,97] → MAD 1
    const r = medianMad(Float32Array.from([4, 100, 1, 3, 2]));
    expect(r.median).toBe(3);
    expect(r.mad).toBe(1);
    expect(robustSigma(Float32Array.from([4, 100, 1, 3, 2]))).toBeCloseTo(1.482602218505602, 12);
    expect(MAD_TO_SIGMA).toBeCloseTo(1 / 0.6744897501960817, 12);
  });
  it('even count: mean of the middle two; mask and NaN are ignored', () => {
    expect(medianInPlace(Float64Array.from([5, 1, 4, 2]), 4)).toBe(3);
    const v = Float32Array.from([1, 2, NaN, 1000, 3]);
    const m = Uint8Array.from([0, 0, 0, 1, 0]);
    expect(medianMad(v, m).median).toBe(2);
    expect(medianMad(v, m).n).toBe(3);
  });
  it('selectKth agrees with sorting', () => {
    const r = rng(5);
    for (let trial = 0; trial < 50; trial++) {
      const n = 1 + Math.floor(r() * 200);
      const a = new Float64Array(n).map(() => Math.floor(r() * 20)); // many ties
      const sorted = Float64Array.from(a).sort();
      const k = Math.floor(r() * n);
      expect(selectKth(Float64Array.from(a), n, k)).toBe(sorted[k]);
    }
  });
  it('robust σ of Gaussian noise with 10 % outliers stays within 3 % of σ', () => {
    const g = gaussian(rng(9));
    const v = new Float32Array(20000).map((_, i) => (i % 10 === 0 ? 1000 : 2.5 * g()));
    // 10 % contamination biases the MAD slightly upward: expect ≈ 2.5·1.08 at most
    const s = robustSigma(v);
    expect(s).toBeGreaterThan(2.5 * 0.97);
    expect(s).toBeLessThan(2.5 * 1.15);
  });
  it('Rayleigh scale of |complex Gaussian| recovers σ per component', () => {
    const g = gaussian(rng(13));
    const a = new Float32Array(40000).map(() => Math.hypot(3 * g(), 3 * g()));
    expect(rayleighScale(a)).toBeCloseTo(3, 1);
  });
});
