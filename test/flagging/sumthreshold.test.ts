import { describe, expect, it } from 'vitest';
import {
  sumThreshold1D, sumThreshold2D, sumThresholdLevel, sumThresholdFreqPass, sumThresholdTimePass, windowLengths,
} from '../../src/flagging/sumthreshold.js';
import { rng } from './rfiSim.js';

describe('SumThreshold thresholds', () => {
  it('χ_M = χ₁·1.5^{log2 M}/M', () => {
    // hand values: 1.5^1/2 = 0.75, 1.5^2/4 = 0.5625, 1.5^8/256 = 25.62890625/256
    expect(sumThresholdLevel(6, 1)).toBeCloseTo(6, 12);
    expect(sumThresholdLevel(6, 2)).toBeCloseTo(4.5, 12);
    expect(sumThresholdLevel(6, 4)).toBeCloseTo(3.375, 12);
    expect(sumThresholdLevel(6, 256)).toBeCloseTo((6 * 25.62890625) / 256, 12);
  });
  it('window lengths are capped by the axis (24-step time axis → 1…16)', () => {
    expect(windowLengths(24)).toEqual([1, 2, 4, 8, 16]);
    expect(windowLengths(768)).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256]);
  });
});

describe('sumThreshold1D', () => {
  it('a window whose mean exceeds χ_M trips; exactly at or below it does not', () => {
    const v = Float32Array.from([0, 0, 1, 1, 1, 1, 0, 0]);
    const f = new Uint8Array(8);
    expect(sumThreshold1D(v, f, 4, 0.99)).toBe(4);
    expect(Array.from(f)).toEqual([0, 0, 1, 1, 1, 1, 0, 0]);
    const g = new Uint8Array(8);
    expect(sumThreshold1D(v, g, 4, 1)).toBe(0);
  });
  it('flagged samples are left out of the sum and the count (AOFlagger rule)', () => {
    // window of 4 around a flagged 100: mean of the 3 unflagged 2s is 2 (not 26.5)
    const v = Float32Array.from([2, 2, 100, 2, 0, 0, 0, 0]);
    const f = Uint8Array.from([0, 0, 1, 0, 0, 0, 0, 0]);
    sumThreshold1D(v, f, 4, 1.9);
    expect(Array.from(f)).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
    const g = Uint8Array.from([0, 0, 1, 0, 0, 0, 0, 0]);
    sumThreshold1D(v, g, 4, 2.01);
    expect(Array.from(g)).toEqual([0, 0, 1, 0, 0, 0, 0, 0]);
    // a window of only flagged samples never trips
    const h = Uint8Array.from([1, 1, 1, 1]);
    expect(sumThreshold1D(Float32Array.from([9, 9, 9, 9]), h, 2, 0.1)).toBe(0);
  });
});

describe('sumThreshold2D', () => {
  it('the 1.5^log2M/M scaling: a run of 4 at 0.6·χ₁ trips only at M = 4; 0.55·χ₁ never', () => {
    // χ₂ = 0.75χ₁ > 0.6χ₁ > χ₄ = 0.5625χ₁; windows of 8 hold ≤ 4 of the run: mean ≤ 0.3χ₁ < χ₈ = 0.421875χ₁
    const chi1 = 10;
    const run = (level: number): number[] => {
      const v = new Float32Array(64);
      for (let i = 20; i < 24; i++) v[i] = level * chi1;
      const f = new Uint8Array(64);
      sumThreshold2D(v, f, 1, 64, chi1, { timeDirection: false });
      return Array.from(f.keys()).filter((i) => f[i]);
    };
    expect(run(0.6)).toEqual([20, 21, 22, 23]);
    expect(run(0.55)).toEqual([]);
    // a single sample needs χ₁
    const v = new Float32Array(64);
    v[5] = 10.01;
    const f = new Uint8Array(64);
    sumThreshold2D(v, f, 1, 64, chi1, { timeDirection: false });
    expect(Array.from(f.keys()).filter((i) => f[i])).toEqual([5]);
  });
  it('works along time as along frequency (transposed input gives transposed flags)', () => {
    const nT = 24, nC = 40;
    const r = rng(3);
    const v = new Float32Array(nT * nC).map(() => r() - 0.5);
    for (let t = 4; t < 12; t++) v[t * nC + 7] += 0.9; // weak 8-long run in time at channel 7
    const f = new Uint8Array(nT * nC);
    sumThreshold2D(v, f, nT, nC, 2, { frequencyDirection: false });
    const vt = new Float32Array(nT * nC);
    for (let t = 0; t < nT; t++) for (let c = 0; c < nC; c++) vt[c * nT + t] = v[t * nC + c];
    const ft = new Uint8Array(nT * nC);
    sumThreshold2D(vt, ft, nC, nT, 2, { timeDirection: false });
    for (let t = 0; t < nT; t++) for (let c = 0; c < nC; c++) expect(ft[c * nT + t]).toBe(f[t * nC + c]);
    for (let t = 4; t < 12; t++) expect(f[t * nC + 7]).toBe(1);
  });
  it('the fast (prefix-sum, pruned) implementation equals the reference passes on random planes', () => {
    const r = rng(11);
    for (let trial = 0; trial < 20; trial++) {
      const nT = 24, nC = 96 + Math.floor(r() * 200);
      const v = new Float32Array(nT * nC);
      for (let i = 0; i < v.length; i++) v[i] = (r() - 0.5) * 2 + (r() < 0.01 ? 10 * r() : 0);
      for (let k = 0; k < 3; k++) { const c = Math.floor(r() * nC); for (let t = 0; t < nT; t++) v[t * nC + c] += 0.8 * r(); }
      const mask = new Uint8Array(nT * nC).map(() => (r() < 0.05 ? 1 : 0));
      const chi1 = 1.5 + 3 * r();
      const fast = Uint8Array.from(mask);
      sumThreshold2D(v, fast, nT, nC, chi1);
      const ref = Uint8Array.from(mask);
      const out = new Uint8Array(nT * nC);
      const sum = new Float64Array(nC), cnt = new Int32Array(nC), me = new Int32Array(nC);
      for (let m = 1; m <= 256 && m <= nC; m *= 2) {
        if (m <= nT) { out.set(ref); sumThresholdTimePass(v, ref, out, nT, nC, m, sumThresholdLevel(chi1, m), sum, cnt, me); ref.set(out); }
        out.set(ref); sumThresholdFreqPass(v, ref, out, nT, nC, m, sumThresholdLevel(chi1, m)); ref.set(out);
      }
      expect(Array.from(fast)).toEqual(Array.from(ref));
    }
  });
  it('the pruned implementation equals the reference with separate χ₁ in time, one direction only, odd sizes', () => {
    const r = rng(23);
    const sum = new Float64Array(400), cnt = new Int32Array(400), me = new Int32Array(400);
    for (let trial = 0; trial < 30; trial++) {
      const nT = 5 + Math.floor(r() * 30), nC = 3 + Math.floor(r() * 300);
      const v = new Float32Array(nT * nC);
      for (let i = 0; i < v.length; i++) v[i] = (r() - 0.5) * 2 + (r() < 0.02 ? 8 * (r() - 0.3) : 0);
      const mask = new Uint8Array(nT * nC).map(() => (r() < 0.1 ? 1 : 0));
      const chi1 = 1 + 3 * r();
      const chi1Time = trial % 3 === 0 ? chi1 : 1 + 3 * r();
      const doTime = trial % 5 !== 1, doFreq = trial % 5 !== 2;
      const maxWindow = trial % 4 === 3 ? 32 : 256;
      const fast = Uint8Array.from(mask);
      sumThreshold2D(v, fast, nT, nC, chi1, { chi1Time, timeDirection: doTime, frequencyDirection: doFreq, maxWindow });
      const ref = Uint8Array.from(mask);
      const out = new Uint8Array(nT * nC);
      for (let m = 1; m <= maxWindow && m <= Math.max(nT, nC); m *= 2) {
        if (doTime && m <= nT) { out.set(ref); sumThresholdTimePass(v, ref, out, nT, nC, m, sumThresholdLevel(chi1Time, m), sum, cnt, me); ref.set(out); }
        if (doFreq && m <= nC) { out.set(ref); sumThresholdFreqPass(v, ref, out, nT, nC, m, sumThresholdLevel(chi1, m)); ref.set(out); }
      }
      expect(Array.from(fast)).toEqual(Array.from(ref));
    }
  });
});
