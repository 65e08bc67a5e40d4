/**
 * End to end: a simulated 60-epoch campaign (images → forced photometry → normalisation →
 * variability → ESE candidates). 100 stable sources + 1 source with a 30 % four-week dip,
 * a per-epoch calibration gain drift of ±5 %, white noise of 2 mJy/beam.
 */
import { describe, expect, it } from 'vitest';
import { pixelBeam } from '../../src/photometry/beam.js';
import { makeCatalog } from '../../src/photometry/catalog.js';
import { measureForced } from '../../src/photometry/measure.js';
import { normalizeField } from '../../src/photometry/normalize.js';
import { computeVariability, findEseCandidates } from '../../src/photometry/variability.js';
import { addGaussian, addNoise, gauss, rng, simpleWcs } from './synth.js';

describe('60-epoch campaign with calibration drift and one ESE-like dip', () => {
  const NX = 320, NY = 320, E = 60, CADENCE_D = 3;
  const BMAJ = 4, BMIN = 3, BPA = 20, SIGMA = 2e-3;
  const wcs = simpleWcs(150, 40, 10 / 3600, [160, 160]);
  const u = rng(2024), g = gauss(u);

  // catalogue: 100 stable sources on a grid + the dipping source between grid points
  const names: string[] = [], ra: number[] = [], dec: number[] = [], mjy: number[] = [], snr: number[] = [];
  const px: number[] = [], py: number[] = [];
  for (let k = 0; k < 100; k++) {
    const x = 34 + 28 * (k % 10) + (u() - 0.5), y = 34 + 28 * Math.floor(k / 10) + (u() - 0.5);
    px.push(x); py.push(y);
    const s = 60 + 440 * u(); // 60–500 mJy: forced-photometry SNR ≈ 85–700
    names.push(`S${k}`); mjy.push(s); snr.push(s / 1e3 / SIGMA);
  }
  const DIP = 100;
  px.push(48.2); py.push(131.7); names.push('ESE'); mjy.push(450); snr.push(900); // bright: a reference candidate
  for (let k = 0; k < px.length; k++) { const [r, d] = wcs.pixelToWorld(px[k], py[k]); ra.push(r); dec.push(d); }
  const cat = makeCatalog({ name: names, raDeg: ra, decDeg: dec, fluxMjy: mjy, snr, resolved: new Array(px.length).fill(0) });
  const S = px.length;

  // true light curves: the dip spans 28 days (epochs 25..34 at a 3-day cadence), 30 % deep,
  // with 5 % caustic brightenings on the epochs either side
  const dipStart = 25, dipEnd = 25 + Math.ceil(28 / CADENCE_D) - 1;
  const truth = (s: number, e: number): number => {
    const f = mjy[s] / 1e3;
    if (s !== DIP) return f;
    if (e >= dipStart && e <= dipEnd) return 0.7 * f;
    if (e === dipStart - 1 || e === dipEnd + 1) return 1.05 * f;
    return f;
  };
  const gain = new Float64Array(E);
  for (let e = 0; e < E; e++) gain[e] = 1 + 0.05 * (2 * u() - 1);

  const beam = pixelBeam(BMAJ, BMIN, BPA);
  const flux = new Float64Array(S * E).fill(NaN), err = new Float64Array(S * E).fill(NaN);
  for (let e = 0; e < E; e++) {
    const data = new Float32Array(NX * NY);
    for (let s = 0; s < S; s++) addGaussian(data, NX, NY, px[s], py[s], gain[e] * truth(s, e), BMAJ, BMIN, BPA);
    addNoise(data, SIGMA, g);
    const res = measureForced({ data, nx: NX, ny: NY }, cat, { wcs, beam });
    if (res.n !== S || res.skipped.length) throw new Error('campaign: sources lost');
    for (let k = 0; k < res.n; k++) {
      flux[res.index[k] * E + e] = res.flux[k];
      err[res.index[k] * E + e] = res.fluxErr[k];
    }
  }

  const norm = normalizeField(cat, 150, 40, flux, err, E);
  const refs = norm.refs, corr = norm.corrections;
  const lc = { nSrc: S, nEpoch: E, flux: norm.flux, err: norm.err };
  const met = computeVariability(lc);
  const cand = findEseCandidates(met, lc, { preset: 'moderate' });

  const fracRms = (f: Float64Array, s: number): number => {
    let m = 0, q = 0;
    for (let e = 0; e < E; e++) m += f[s * E + e];
    m /= E;
    for (let e = 0; e < E; e++) q += (f[s * E + e] - m) ** 2;
    return Math.sqrt(q / (E - 1)) / m;
  };

  it('picks 20 references and rejects the varying one', () => {
    expect(refs.length).toBe(20);
    const k = Array.from(refs).indexOf(DIP);
    expect(k).toBeGreaterThanOrEqual(0); // brightest-SNR sources, so the dipper is offered…
    expect(corr.refKept[k]).toBe(0); // …and dropped for χ²_ν > 2
    expect(corr.refChi2nu[k]).toBeGreaterThan(10);
    let kept = 0;
    for (let j = 0; j < refs.length; j++) kept += corr.refKept[j];
    expect(kept).toBeGreaterThanOrEqual(17);
    for (let e = 0; e < E; e++) expect(corr.flag[e]).toBe(0);
  });

  it('correction factors track the injected gain drift', () => {
    // factors are relative to the median gain over the first 10 epochs
    const ratio = new Float64Array(E);
    for (let e = 0; e < E; e++) ratio[e] = corr.factor[e] / gain[e];
    const mean = ratio.reduce((a, b) => a + b, 0) / E;
    let q = 0;
    for (let e = 0; e < E; e++) q += (ratio[e] / mean - 1) ** 2;
    expect(Math.sqrt(q / E)).toBeLessThan(0.003);
    // the factor uncertainty is a fair description of the residuals
    let pulls = 0;
    for (let e = 0; e < E; e++) pulls += ((ratio[e] / mean - 1) * gain[e] / corr.factorErr[e]) ** 2;
    const pr = Math.sqrt(pulls / E);
    expect(pr).toBeGreaterThan(0.5);
    expect(pr).toBeLessThan(2);
  });

  it('stable sources scatter ≤ 2 % rms after normalisation (> 2.5 % before)', () => {
    let worstAfter = 0, sumBefore = 0;
    for (let s = 0; s < 100; s++) {
      worstAfter = Math.max(worstAfter, fracRms(norm.flux, s));
      sumBefore += fracRms(flux, s);
    }
    expect(worstAfter).toBeLessThanOrEqual(0.02);
    expect(sumBefore / 100).toBeGreaterThan(0.025);
  });

  it('the dipping source is the only ESE candidate under the moderate preset, with its window', () => {
    expect(Array.from(cand.source)).toEqual([DIP]);
    expect(cand.windowStart[0]).toBe(dipStart);
    expect(cand.windowEnd[0]).toBe(dipEnd);
    expect(cand.depth[0]).toBeGreaterThan(0.25);
    expect(cand.depth[0]).toBeLessThan(0.35);
    // stable sources are consistent with their errors after normalisation
    const chi = Array.from(met.chi2nu.subarray(0, 100)).sort((a, b) => a - b);
    expect(chi[50]).toBeGreaterThan(0.7);
    expect(chi[50]).toBeLessThan(1.4);
    expect(chi[99]).toBeLessThan(2.5);
  });

  it('the plain (mean/std) σ-deviation would miss this dip: a 10-of-60-epoch dip inflates the std', () => {
    // box dip over a fraction p of epochs: σ-dev ≈ sqrt((1 − p)/p) = 2.24 for p = 1/6
    expect(met.sigmaDev[DIP]).toBeLessThan(3.5);
    expect(findEseCandidates(met, lc, { preset: 'moderate', sigmaDev: 'std' }).source.length).toBe(0);
  });
});
