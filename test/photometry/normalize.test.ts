import { describe, expect, it } from 'vitest';
import { makeCatalog } from '../../src/photometry/catalog.js';
import {
  CORR_FLAG_TOO_FEW_REFS,
  applyCorrections,
  computeCorrections,
  selectReferences,
  separationDeg,
} from '../../src/photometry/normalize.js';

describe('reference selection', () => {
  it('keeps unresolved SNR ≥ 50 sources within 1.5° of the centre, highest SNR first, at most 20', () => {
    const n = 40;
    const name: string[] = [], ra: number[] = [], dec: number[] = [], snr: number[] = [], res: number[] = [];
    for (let i = 0; i < n; i++) {
      name.push(`S${i}`);
      ra.push(100 + (i % 2 === 0 ? 0.5 : 0)); // odd rows at the centre RA
      dec.push(i < 4 ? 62 : 60); // rows 0–3 are 2° away
      snr.push(i === 5 ? 49.9 : 60 + i);
      res.push(i === 7 ? 1 : 0);
    }
    const cat = makeCatalog({ name, raDeg: ra, decDeg: dec, fluxMjy: new Array(n).fill(100), snr, resolved: res });
    const refs = Array.from(selectReferences(cat, 100, 60));
    expect(refs.length).toBe(20);
    expect(refs[0]).toBe(39);
    for (let k = 1; k < refs.length; k++) expect(snr[refs[k]]).toBeLessThan(snr[refs[k - 1]]);
    for (const bad of [0, 1, 2, 3, 5, 7]) expect(refs).not.toContain(bad);
    // 0.5° of RA at dec 60 is 0.25° on the sky
    expect(separationDeg(100, 60, 100.5, 60)).toBeCloseTo(0.2499, 3);
  });
});

describe('correction factors', () => {
  it('recover a known gain pattern and propagate its uncertainty', () => {
    const R = 8, E = 20;
    const flux = new Float64Array(R * E), err = new Float64Array(R * E).fill(0.001);
    const gain = Array.from({ length: E }, (_, e) => 1 + 0.04 * Math.sin(e));
    // noiseless references with different fluxes: every ratio equals gain / median(gain[0..9])
    for (let r = 0; r < R; r++) for (let e = 0; e < E; e++) flux[r * E + e] = (0.1 + 0.05 * r) * gain[e];
    const refs = Int32Array.from({ length: R }, (_, r) => r);
    const c = computeCorrections(flux, err, R, E, refs);
    const g0 = [...gain.slice(0, 10)].sort((a, b) => a - b);
    const gmed = 0.5 * (g0[4] + g0[5]);
    for (let e = 0; e < E; e++) {
      expect(c.factor[e]).toBeCloseTo(gain[e] / gmed, 12);
      expect(c.factorErr[e]).toBeCloseTo(0, 12);
      expect(c.nUsed[e]).toBe(R);
    }
    // σ_n² = (σ/c)² + (f σ_c / c²)² with a hand-set factor error
    const corr = { ...c, factor: new Float64Array(E).fill(2), factorErr: new Float64Array(E).fill(0.1) };
    const out = applyCorrections(Float64Array.of(...new Array(E).fill(4)), new Float64Array(E).fill(0.2), 1, E, corr);
    expect(out.flux[3]).toBe(2);
    expect(out.err[3]).toBeCloseTo(Math.hypot(0.1, (2 * 0.1) / 2), 12);
  });

  it('clips an outlying reference per epoch and drops a varying one', () => {
    const R = 10, E = 30;
    const flux = new Float64Array(R * E), err = new Float64Array(R * E).fill(0.0005);
    let s = 3;
    const u = () => ((s = (s * 16807) % 2147483647) / 2147483647);
    for (let r = 0; r < R; r++) for (let e = 0; e < E; e++) flux[r * E + e] = 0.2 * (1 + 0.002 * (u() - 0.5));
    for (let e = 15; e < 25; e++) flux[9 * E + e] *= 0.6; // reference 9 dips by 40 %
    const c = computeCorrections(flux, err, R, E, Int32Array.from({ length: R }, (_, r) => r));
    expect(c.refKept[9]).toBe(0);
    for (let r = 0; r < 9; r++) expect(c.refKept[r]).toBe(1);
    for (let e = 0; e < E; e++) expect(Math.abs(c.factor[e] - 1)).toBeLessThan(0.002);
  });

  it('flags epochs with fewer than 3 references and leaves them uncorrected', () => {
    const R = 3, E = 12;
    const flux = new Float64Array(R * E).fill(1), err = new Float64Array(R * E).fill(0.01);
    for (let e = 0; e < E; e++) flux[e] = e >= 10 ? NaN : 1.1; // ref 0 missing in epochs 10, 11
    flux[2 * E + 11] = NaN;
    const c = computeCorrections(flux, err, R, E, Int32Array.of(0, 1, 2));
    expect(c.flag[11]).toBe(CORR_FLAG_TOO_FEW_REFS);
    expect(c.factor[11]).toBe(1);
    expect(c.flag[10]).toBe(CORR_FLAG_TOO_FEW_REFS);
    expect(c.flag[0]).toBe(0);
  });
});
