import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { predictPointSources } from '../../src/calibration/model.js';
import { findTransitingCalibrators, selectTransitCalibrator } from '../../src/calibration/transit.js';
import { calibratorIndex, loadCalibratorCatalog } from '../../src/calibration/catalog.js';
import { airyHalfPowerRadius } from '../../src/astro/beam.js';
import { sourceHaDec, icrsToApparent } from '../../src/astro/frames.js';
import { isoToJd } from '../../src/astro/time.js';
import { DsaError } from '../../src/util/errors.js';
import { rng } from './synth.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED = process.env.DSA110_SHARED ?? path.resolve(repoRoot, '..', 'shared');
const VLA_LIST = path.join(SHARED, 'data', 'catalogs', 'vlacalibrators.txt');
const C = 299792458;
const DEG = Math.PI / 180;

describe('point-source model', () => {
  const nTime = 3, nBl = 40, nPol = 2;
  const r = rng(5);
  const uvw = new Float64Array(3 * nTime * nBl);
  for (let k = 0; k < uvw.length; k++) uvw[k] = (r() - 0.5) * 2400;
  const ra0 = 3.5, dec0 = 0.53;
  const sky = { raRad: Float64Array.of(ra0 + 0.01, ra0 - 0.02), decRad: Float64Array.of(dec0 - 0.005, dec0 + 0.015) };

  function direct(freq: Float64Array, flux: Float64Array): Float64Array {
    // Independent evaluation: l = cosδ sinΔα, m = sinδ cosδ0 − cosδ sinδ0 cosΔα.
    const out = new Float64Array(2 * nTime * nBl * freq.length);
    for (let t = 0; t < nTime; t++) for (let b = 0; b < nBl; b++) for (let c = 0; c < freq.length; c++) {
      let re = 0, im = 0;
      for (let s = 0; s < 2; s++) {
        const da = sky.raRad[s] - ra0, d = sky.decRad[s];
        const l = Math.cos(d) * Math.sin(da);
        const m = Math.sin(d) * Math.cos(dec0) - Math.cos(d) * Math.sin(dec0) * Math.cos(da);
        const n = Math.sqrt(1 - l * l - m * m);
        const o = 3 * (t * nBl + b);
        const ph = 2 * Math.PI * freq[c] / C * (uvw[o] * l + uvw[o + 1] * m + uvw[o + 2] * (n - 1));
        re += flux[s * freq.length + c] * Math.cos(ph);
        im += flux[s * freq.length + c] * Math.sin(ph);
      }
      const k = (t * nBl + b) * freq.length + c;
      out[2 * k] = re; out[2 * k + 1] = im;
    }
    return out;
  }

  for (const uniform of [true, false]) {
    it(`matches the direct formula (${uniform ? 'uniform channels, recurrence' : 'irregular channels'})`, () => {
      const nChan = 768;
      const freq = new Float64Array(nChan);
      for (let c = 0; c < nChan; c++) freq[c] = 1311e6 + c * 244140.625 + (uniform ? 0 : (c % 3) * 5e4);
      const flux = new Float64Array(2 * nChan);
      for (let c = 0; c < nChan; c++) { flux[c] = 15 * (freq[c] / 1.4e9) ** -0.6; flux[nChan + c] = 2; }
      const model = predictPointSources({ nTime, nBl, nPol, freqHz: freq, uvw, phaseCentreRaRad: ra0, phaseCentreDecRad: dec0 }, { ...sky, fluxJy: flux });
      const ref = direct(freq, flux);
      let maxErr = 0;
      for (let k = 0; k < nTime * nBl * nChan; k++) {
        for (let p = 0; p < nPol; p++) {
          maxErr = Math.max(maxErr, Math.abs(model[2 * (k * nPol + p)] - ref[2 * k]), Math.abs(model[2 * (k * nPol + p) + 1] - ref[2 * k + 1]));
        }
      }
      expect(maxErr).toBeLessThan(2e-5 * 17);
    });
  }

  it('primary beam: 1 on the pointing, 1/2 at the half-power radius (per time)', () => {
    const freq = Float64Array.of(1.4e9, 1.45e9);
    const hp = airyHalfPowerRadius(1.4e9);
    const one = { raRad: Float64Array.of(ra0), decRad: Float64Array.of(dec0), fluxJy: Float64Array.of(10, 10) };
    const model = predictPointSources({
      nTime, nBl, nPol, freqHz: freq, uvw, phaseCentreRaRad: ra0, phaseCentreDecRad: dec0,
      // Integration 0 points at the source, 1 is offset in dec by the half-power radius.
      pointingRaRad: Float64Array.of(ra0, ra0, ra0), pointingDecRad: Float64Array.of(dec0, dec0 + hp, dec0 - 2 * hp),
    }, one);
    const at = (t: number, c: number) => model[2 * ((t * nBl + 3) * 2 + c) * nPol];
    expect(at(0, 0)).toBeCloseTo(10, 5);
    expect(at(1, 0)).toBeCloseTo(5, 4);
    expect(at(1, 1)).toBeLessThan(5); // narrower beam at higher frequency
    expect(at(2, 0)).toBeLessThan(0.5);
  });
});

describe('transit matching', () => {
  const cat = loadCalibratorCatalog(VLA_LIST);
  const i286 = calibratorIndex(cat, '3C286');

  // Find the 2026-03-20 transit of 3C286 at OVRO (HA = 0) by bisection on the astro module's HA.
  let lo = isoToJd('2026-03-20T06:00:00'), hi = isoToJd('2026-03-20T12:00:00');
  const ha = (jd: number) => sourceHaDec(cat.raRad[i286], cat.decRad[i286], jd)[0];
  expect(ha(lo) * ha(hi)).toBeLessThan(0);
  for (let k = 0; k < 60; k++) { const mid = 0.5 * (lo + hi); if (ha(lo) * ha(mid) <= 0) hi = mid; else lo = mid; }
  const transit = 0.5 * (lo + hi);
  const decApp = icrsToApparent(cat.raRad[i286], cat.decRad[i286], transit)[1];

  it('finds 3C286 transiting a group pointed 0.3° away, at the right time and separation', () => {
    const half = 154.5 / 86400;
    const m = findTransitingCalibrators(cat, { decAppRad: decApp + 0.3 * DEG, startJdUtc: transit - half, endJdUtc: transit + half });
    expect(m.length).toBeGreaterThan(0);
    expect(m[0].name).toBe('1331+305');
    expect(m[0].standardModel).toBe('3C286');
    expect(m[0].separationRad / DEG).toBeCloseTo(0.3, 2);
    expect(Math.abs(m[0].transitJdUtc - transit) * 86400).toBeLessThan(2);
    expect(m[0].fluxJy).toBeCloseTo(15.057, 2);
    expect(m[0].beam).toBeGreaterThan(0.5);
    for (const x of m) expect(x.separationRad).toBeLessThanOrEqual(DEG);
    for (let k = 1; k < m.length; k++) expect(m[k].beamWeightedFluxJy).toBeLessThanOrEqual(m[k - 1].beamWeightedFluxJy);
  });

  it('a group 20 min before transit does not match (source out of the radius in RA)', () => {
    const start = transit - 25 / 1440, end = transit - 20 / 1440;
    const m = findTransitingCalibrators(cat, { decAppRad: decApp, startJdUtc: start, endJdUtc: end });
    expect(m.find((x) => x.index === i286)).toBeUndefined();
  });

  it('no calibrator within the radius → clear error', () => {
    // A 1-minute group pointed at dec −80° (the list has nothing transiting there at that time
    // within 0.1°).
    const q = { decAppRad: -80 * DEG, startJdUtc: transit, endJdUtc: transit + 60 / 86400, radiusRad: 0.1 * DEG };
    expect(findTransitingCalibrators(cat, q)).toEqual([]);
    expect(() => selectTransitCalibrator(cat, q)).toThrow(DsaError);
    expect(() => selectTransitCalibrator(cat, q)).toThrow(/no calibrator .* within 0\.10°/);
  });
});
