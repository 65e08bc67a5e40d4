import { describe, expect, it } from 'vitest';
import { flagRfi, flagPlane, resolveRfiOptions } from '../../src/flagging/rfi.js';
import { maskedBackground, maskedResidual, boxWidths, BackgroundScratch } from '../../src/flagging/background.js';
import { flagZeros } from '../../src/flagging/modes.js';
import { simulate, score, gaussian, rng } from './rfiSim.js';
import { heraAvailable, loadHera } from './heraHelper.js';

describe('background fit', () => {
  it('follows a smooth surface with a linear time drift, edges included, ignoring masked RFI', () => {
    const nT = 24, nC = 128;
    const v = new Float32Array(nT * nC);
    const m = new Uint8Array(nT * nC);
    const truth = (t: number, c: number): number => 10 + 0.3 * t + 2 * Math.sin((2 * Math.PI * c) / 80);
    for (let t = 0; t < nT; t++) for (let c = 0; c < nC; c++) v[t * nC + c] = truth(t, c);
    for (let t = 0; t < nT; t++) { v[t * nC + 40] = 500; m[t * nC + 40] = 1; } // masked RFI channel
    const bg = new Float32Array(nT * nC);
    maskedBackground(v, m, bg, new BackgroundScratch(nT, nC));
    let worst = 0, worstEdge = 0;
    for (let t = 0; t < nT; t++) for (let c = 0; c < nC; c++) {
      const e = Math.abs(bg[t * nC + c] - truth(t, c));
      if (c < 8 || c >= nC - 8) worstEdge = Math.max(worstEdge, e); else worst = Math.max(worst, e);
    }
    // Gaussian σ² = 5 channels attenuates a period-80 sine by 1 − exp(−2π²·5/80²) ≈ 1.5 % of 2;
    // the time drift is fitted exactly (local linear), including the first and last timesteps.
    expect(worst).toBeLessThan(0.1);
    // band edges: the frequency kernel is one-sided there (zeroth order), slope 0.16/channel → ~0.3
    expect(worstEdge).toBeLessThan(0.4);
  });
});

describe('background internals', () => {
  it('three boxes for σ² = 5 are 3, 5, 5 channels (variance Σ(w² − 1)/12 = 4.67)', () => {
    expect(boxWidths(5)).toEqual([3, 5, 5]);
    const v = boxWidths(5).reduce((a, w) => a + (w * w - 1) / 12, 0);
    expect(v).toBeCloseTo(14 / 3, 12);
  });
  it('maskedResidual = values − maskedBackground', () => {
    const g = gaussian(rng(5));
    const nT = 24, nC = 100;
    const v = new Float32Array(nT * nC).map((_, i) => 5 + Math.sin(i / 37) + 0.3 * g());
    const m = new Uint8Array(nT * nC).map((_, i) => (i % 17 === 0 ? 1 : 0));
    const s = new BackgroundScratch(nT, nC);
    const bg = new Float32Array(nT * nC), res = new Float32Array(nT * nC);
    maskedBackground(v, m, bg, s);
    maskedResidual(v, m, res, s);
    for (let i = 0; i < v.length; i++) expect(res[i]).toBeCloseTo(v[i] - bg[i], 5);
  });
});

describe('flagPlane', () => {
  it('pure noise: flags < 0.5 % of a 24 × 768 plane', () => {
    const g = gaussian(rng(21));
    const nT = 24, nC = 768;
    const amp = new Float32Array(nT * nC).map(() => Math.hypot(g(), g()));
    const f = new Uint8Array(nT * nC);
    flagPlane(amp, f, nT, nC, resolveRfiOptions());
    expect(f.reduce((s, x) => s + x, 0) / f.length).toBeLessThan(0.005);
  });
});

describe('synthetic RFI (noise + sky fringes + persistent, bursty and broadband RFI, 1–100 σ)', () => {
  it('recall ≥ 95 % for RFI ≥ 5σ and ≤ 1 % of clean samples flagged', () => {
    let ge5 = 0, fprSum = 0;
    const seeds = [101, 102];
    for (const seed of seeds) {
      const { cube, rfiAmp } = simulate({ nTime: 24, nChan: 768, nAnt: 6, nPol: 2, seed, autos: true, broadband: 0.5 });
      flagRfi(cube);
      const s = score(cube, rfiAmp);
      console.log(`seed ${seed}: recall by strength ` + s.recall.map((r) => `[${r.lo},${r.hi === 1e9 ? '∞' : r.hi}) ${(100 * r.recall).toFixed(1)}% of ${r.n}`).join(', ') +
        ` | ≥5σ ${(100 * s.recallGe5).toFixed(2)}% | FPR ${(100 * s.fpr).toFixed(3)}% | flagged ${(100 * s.flaggedFraction).toFixed(2)}%`);
      expect(s.recallGe5).toBeGreaterThanOrEqual(0.95);
      expect(s.fpr).toBeLessThanOrEqual(0.01);
      // strong RFI is essentially always found
      expect(s.recall[s.recall.length - 1].recall).toBeGreaterThan(0.995);
      ge5 += s.recallGe5; fprSum += s.fpr;
    }
    console.log(`mean recall ≥5σ ${(100 * ge5 / seeds.length).toFixed(2)}%, mean FPR ${(100 * fprSum / seeds.length).toFixed(3)}%`);
  });
});

describe.skipIf(!heraAvailable)('real HERA data (hera_cal zen.2458116.61019.xx, 60 × 1024, file flags 11.5 %)', () => {
  it.each([[{}], [{ rowGain: true }]])('recovers the file\'s RFI flags on the cross-correlation (%o)', async (opts) => {
    const { cube, fileFlags } = await loadHera();
    flagZeros(cube);
    flagRfi(cube, opts);
    let tp = 0, ff = 0, extra = 0, clean = 0;
    const per = cube.nChan * cube.nPol;
    for (let i = 0; i < fileFlags.length; i++) {
      const b = Math.floor(i / per) % cube.nBl;
      if (cube.ant1[b] === cube.ant2[b]) continue;
      if (fileFlags[i]) { ff++; if (cube.flags[i]) tp++; } else { clean++; if (cube.flags[i]) extra++; }
    }
    console.log(`HERA cross-correlation: recall of file flags ${(100 * tp / ff).toFixed(1)}%, extra flags ${(100 * extra / clean).toFixed(1)}% of the file's unflagged samples`);
    expect(tp / ff).toBeGreaterThan(0.8);
  }, 60000);
});
