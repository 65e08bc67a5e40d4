import { describe, expect, it } from 'vitest';
import { beamValue, pixelBeam } from '../../src/photometry/beam.js';
import {
  FLAG_BLENDED,
  forcedPhotometry,
  measureForced,
  selectSources,
} from '../../src/photometry/measure.js';
import { makeCatalog } from '../../src/photometry/catalog.js';
import { addBeamCorrelatedNoise, addGaussian, addNoise, gauss, rng, simpleWcs } from './synth.js';

const BMAJ = 5, BMIN = 3, BPA = 30; // pixels, pixels, degrees east of north

describe('beam kernel orientation (FITS: PA from north through east, east = −x)', () => {
  it('is 0.5 at half the FWHM along the major and minor axes', () => {
    const b = pixelBeam(BMAJ, BMIN, BPA);
    const pa = (BPA * Math.PI) / 180;
    // major axis direction on a RA---SIN grid: north = +y, east = −x
    const mx = -Math.sin(pa), my = Math.cos(pa);
    expect(beamValue(b, (mx * BMAJ) / 2, (my * BMAJ) / 2)).toBeCloseTo(0.5, 12);
    expect(beamValue(b, (my * BMIN) / 2, (-mx * BMIN) / 2)).toBeCloseTo(0.5, 12);
    // the mirror image (PA −30°) is not the same beam
    expect(beamValue(b, (-mx * BMAJ) / 2, (my * BMAJ) / 2)).toBeLessThan(0.3);
  });

  it('east = +x mirrors the beam; radians with a pixel scale give the same kernel', () => {
    const b = pixelBeam(BMAJ, BMIN, BPA, { eastSign: 1 });
    const pa = (BPA * Math.PI) / 180;
    expect(beamValue(b, (Math.sin(pa) * BMAJ) / 2, (Math.cos(pa) * BMAJ) / 2)).toBeCloseTo(0.5, 12);
    const scale = (3 / 3600) * (Math.PI / 180); // 3″ pixels
    const br = pixelBeam(BMAJ * scale, BMIN * scale, BPA, { pixelScaleRad: scale });
    const bp = pixelBeam(BMAJ, BMIN, BPA);
    for (const [dx, dy] of [[1.3, -0.7], [2, 2], [-3, 1]]) {
      expect(beamValue(br, dx, dy)).toBeCloseTo(beamValue(bp, dx, dy), 12);
    }
  });

  it('matches an independently written rotated Gaussian', () => {
    const nx = 41;
    const img = new Float32Array(nx * nx);
    addGaussian(img, nx, nx, 20.3, 19.6, 1, BMAJ, BMIN, BPA);
    const b = pixelBeam(BMAJ, BMIN, BPA);
    let maxd = 0;
    for (let iy = 0; iy < nx; iy++) for (let ix = 0; ix < nx; ix++) {
      maxd = Math.max(maxd, Math.abs(img[iy * nx + ix] - beamValue(b, ix - 20.3, iy - 19.6)));
    }
    expect(maxd).toBeLessThan(1e-6);
  });
});

/** One realisation: a 3×3 grid of isolated sources with the given peaks. */
function isolatedField(seed: number, peaks: number[], sigma: number, correlated: boolean) {
  const nx = 160, ny = 160;
  const u = rng(seed), g = gauss(u);
  const img = new Float32Array(nx * ny);
  const x = new Float64Array(9), y = new Float64Array(9);
  for (let k = 0; k < 9; k++) {
    x[k] = 35 + 45 * (k % 3) + u() - 0.5;
    y[k] = 35 + 45 * Math.floor(k / 3) + u() - 0.5;
    addGaussian(img, nx, ny, x[k], y[k], peaks[k], BMAJ, BMIN, BPA);
  }
  if (correlated) addBeamCorrelatedNoise(img, nx, ny, sigma, BMAJ, BMIN, BPA, g);
  else addNoise(img, sigma, g);
  return { img: { data: img, nx, ny }, x, y };
}

describe('forced photometry of isolated sources', () => {
  const sigma = 1e-3;
  const snrs = [50, 60, 80, 100, 150, 200, 400, 5, 10];
  const peaks = snrs.map((s) => s * sigma);
  const beam = pixelBeam(BMAJ, BMIN, BPA);

  it('is unbiased to ≤1 % for SNR ≥ 50, with pulls of rms 0.8–1.2 (white noise)', () => {
    const ratio: number[] = [];
    const pulls: number[] = [];
    let rmsSum = 0, rmsN = 0;
    for (let r = 0; r < 60; r++) {
      const { img, x, y } = isolatedField(1000 + r, peaks, sigma, false);
      const res = forcedPhotometry(img, x, y, { beam });
      for (let k = 0; k < 9; k++) {
        pulls.push((res.flux[k] - peaks[k]) / res.fluxErr[k]);
        if (snrs[k] >= 50) ratio.push(res.flux[k] / peaks[k]);
        expect(res.flags[k]).toBe(0);
        // ~530 annulus samples: each MAD σ estimate is good to 1.17/√530 ≈ 5 %
        expect(res.rms[k]).toBeGreaterThan(0.8 * sigma);
        expect(res.rms[k]).toBeLessThan(1.2 * sigma);
        rmsSum += res.rms[k]; rmsN++;
      }
    }
    // the clipped 1.4826·MAD estimate of σ is unbiased to ~1 % (3σ clipping costs 0.3 %)
    expect(Math.abs(rmsSum / rmsN / sigma - 1)).toBeLessThan(0.015);
    const meanRatio = ratio.reduce((a, b) => a + b, 0) / ratio.length;
    expect(Math.abs(meanRatio - 1)).toBeLessThan(0.01);
    // every bright measurement individually within 5σ of the truth
    for (const p of pulls) expect(Math.abs(p)).toBeLessThan(5);
    const rms = Math.sqrt(pulls.reduce((a, b) => a + b * b, 0) / pulls.length);
    expect(rms).toBeGreaterThan(0.8);
    expect(rms).toBeLessThan(1.2);
    // the error of an isolated source is σ/sqrt(ΣK²) ≈ σ/sqrt(π σa σb) (Gaussian integral)
    const sa = BMAJ / 2.3548200450309493, sb = BMIN / 2.3548200450309493;
    const { img, x, y } = isolatedField(7, peaks, sigma, false);
    const res = forcedPhotometry(img, x, y, { beam });
    expect(res.fluxErr[0] / res.rms[0]).toBeCloseTo(1 / Math.sqrt(Math.PI * sa * sb), 3);
  });

  it('a mirrored kernel (wrong PA convention) would be biased by more than 5 %', () => {
    const wrong = pixelBeam(BMAJ, BMIN, BPA, { eastSign: 1 });
    const { img, x, y } = isolatedField(42, peaks, sigma, false);
    const res = forcedPhotometry(img, x, y, { beam: wrong });
    expect(res.flux[6] / peaks[6]).toBeLessThan(0.95);
  });

  it("beam-correlated noise: 'beam' errors give pulls of rms 0.8–1.2, 'independent' errors are too small", () => {
    const pullsBeam: number[] = [];
    const pullsInd: number[] = [];
    for (let r = 0; r < 40; r++) {
      const { img, x, y } = isolatedField(5000 + r, peaks, sigma, true);
      const rb = forcedPhotometry(img, x, y, { beam, noiseCorrelation: 'beam' });
      const ri = forcedPhotometry(img, x, y, { beam });
      for (let k = 0; k < 9; k++) {
        pullsBeam.push((rb.flux[k] - peaks[k]) / rb.fluxErr[k]);
        pullsInd.push((ri.flux[k] - peaks[k]) / ri.fluxErr[k]);
        expect(rb.flux[k]).toBe(ri.flux[k]);
      }
    }
    const rms = (a: number[]) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    expect(rms(pullsBeam)).toBeGreaterThan(0.8);
    expect(rms(pullsBeam)).toBeLessThan(1.2);
    expect(rms(pullsInd)).toBeGreaterThan(2);
  });
});

describe('blended pairs', () => {
  const sigma = 1e-3;
  const beam = pixelBeam(BMAJ, BMIN, BPA);
  for (const sepBeams of [1, 1.5, 2]) {
    it(`separates a pair ${sepBeams} beam(s) apart (joint fit) within errors`, () => {
      const pulls: number[] = [];
      let sumRatioA = 0, sumRatioB = 0, sumNaiveA = 0;
      const R = 40;
      for (let r = 0; r < R; r++) {
        const u = rng(9000 + r + 100 * sepBeams), g = gauss(u);
        const nx = 96, ny = 96;
        const data = new Float32Array(nx * ny);
        const ang = 2 * Math.PI * u();
        const sep = sepBeams * BMAJ;
        const x = Float64Array.of(48 + u() - 0.5, 0), y = Float64Array.of(48 + u() - 0.5, 0);
        x[1] = x[0] + sep * Math.cos(ang); y[1] = y[0] + sep * Math.sin(ang);
        const pa = 0.2, pbk = 0.06; // 200σ and 60σ
        addGaussian(data, nx, ny, x[0], y[0], pa, BMAJ, BMIN, BPA);
        addGaussian(data, nx, ny, x[1], y[1], pbk, BMAJ, BMIN, BPA);
        addNoise(data, sigma, g);
        const img = { data, nx, ny };
        const res = forcedPhotometry(img, x, y, { beam });
        expect(res.group[0]).toBe(res.group[1]);
        expect(res.flags[0] & FLAG_BLENDED).toBeTruthy();
        pulls.push((res.flux[0] - pa) / res.fluxErr[0], (res.flux[1] - pbk) / res.fluxErr[1]);
        sumRatioA += res.flux[0] / pa;
        sumRatioB += res.flux[1] / pbk;
        const naive = forcedPhotometry(img, x, y, { beam, clusterBeams: 0 });
        sumNaiveA += naive.flux[1] / pbk;
      }
      expect(Math.abs(sumRatioA / R - 1)).toBeLessThan(0.01);
      expect(Math.abs(sumRatioB / R - 1)).toBeLessThan(0.02);
      const rms = Math.sqrt(pulls.reduce((s, v) => s + v * v, 0) / pulls.length);
      expect(rms).toBeGreaterThan(0.8);
      expect(rms).toBeLessThan(1.2);
      // without the joint fit the faint member absorbs its bright neighbour's wings
      if (sepBeams === 1) expect(sumNaiveA / R).toBeGreaterThan(1.1);
    });
  }

  it('flags a coincident pair as degenerate instead of returning garbage', () => {
    const nx = 64;
    const data = new Float32Array(nx * nx);
    addGaussian(data, nx, nx, 32, 32, 0.1, BMAJ, BMIN, BPA);
    addNoise(data, 1e-3, gauss(rng(3)));
    const res = forcedPhotometry({ data, nx, ny: nx }, Float64Array.of(32, 32), Float64Array.of(32, 32), { beam });
    expect(Number.isNaN(res.flux[1])).toBe(true);
    expect(res.flux[0]).toBeCloseTo(0.1, 2);
  });
});

describe('catalogue selection and primary-beam correction', () => {
  const nx = 128, ny = 128;
  const wcs = simpleWcs(150, 30, 10 / 3600, [64, 64]); // 10″ pixels
  const beam = pixelBeam(BMAJ, BMIN, BPA);

  it('skips and reports sources outside the image, below the pb limit, and faint ones', () => {
    const data = new Float32Array(nx * ny);
    const pb = new Float32Array(nx * ny);
    // pb falls linearly from 1 at x = 0 to 0 at x = 127
    for (let iy = 0; iy < ny; iy++) for (let ix = 0; ix < nx; ix++) pb[iy * nx + ix] = 1 - ix / (nx - 1);
    const pos = [[30, 64], [100, 64], [200, 64], [64, -10], [20, 20], [64, 64]];
    const ra: number[] = [], dec: number[] = [];
    for (const [px, py] of pos) { const [r, d] = wcs.pixelToWorld(px, py); ra.push(r); dec.push(d); }
    const cat = makeCatalog({
      name: ['a', 'lowpb', 'east_out', 'south_out', 'faint', 'c'],
      raDeg: ra, decDeg: dec, fluxMjy: [100, 100, 100, 100, 5, 50],
    });
    addGaussian(data, nx, ny, 30, 64, 0.1 * pb[64 * nx + 30], BMAJ, BMIN, BPA); // apparent = true·pb
    addGaussian(data, nx, ny, 64, 64, 0.05 * pb[64 * nx + 64], BMAJ, BMIN, BPA);
    addNoise(data, 1e-3, gauss(rng(11)));
    const sel = selectSources({ data, nx, ny }, cat, { wcs, pb, pbLimit: 0.3 });
    expect(Array.from(sel.index)).toEqual([0, 5]);
    expect(sel.nFaint).toBe(1);
    const why = Object.fromEntries(sel.skipped.map((s) => [s.name, s.reason]));
    expect(Object.keys(why).sort()).toEqual(['east_out', 'lowpb', 'south_out']);
    expect(why.east_out).toMatch(/outside the image/);
    expect(why.lowpb).toMatch(/primary beam 0\.21\d below limit 0\.3/);
    expect(sel.x[0]).toBeCloseTo(30, 6);
    expect(sel.y[1]).toBeCloseTo(64, 6);

    const res = measureForced({ data, nx, ny }, cat, { wcs, pb, pbLimit: 0.3, beam });
    expect(res.n).toBe(2);
    expect(Array.from(res.index)).toEqual([0, 5]);
    // pb-corrected fluxes recover the true flux (SNR ≥ 38 apparent)
    expect(Math.abs(res.flux[0] - 0.1)).toBeLessThan(4 * res.fluxErr[0]);
    expect(Math.abs(res.flux[1] - 0.05)).toBeLessThan(4 * res.fluxErr[1]);
    expect(res.fluxRaw[0] / res.flux[0]).toBeCloseTo(pb[64 * nx + 30], 6);
    expect(res.fluxErrRaw[1] / res.fluxErr[1]).toBeCloseTo(pb[64 * nx + 64], 6);
  });

  it('reports a source on a blank (NaN) pixel and measures next to blanks with a flag', () => {
    const data = new Float32Array(nx * ny);
    addNoise(data, 1e-3, gauss(rng(12)));
    for (let iy = 0; iy < ny; iy++) for (let ix = 0; ix < 20; ix++) data[iy * nx + ix] = NaN;
    const ra: number[] = [], dec: number[] = [];
    for (const [px, py] of [[10, 64], [22, 64]]) { const [r, d] = wcs.pixelToWorld(px, py); ra.push(r); dec.push(d); }
    const cat = makeCatalog({ name: ['blank', 'edge'], raDeg: ra, decDeg: dec, fluxMjy: [100, 100] });
    const res = measureForced({ data, nx, ny }, cat, { wcs, beam });
    expect(res.skipped.map((s) => s.name)).toEqual(['blank']);
    expect(res.skipped[0].reason).toMatch(/blank/);
    expect(res.n).toBe(1);
    expect(res.flags[0] & 4).toBeTruthy();
    expect(Number.isFinite(res.flux[0])).toBe(true);
  });
});
