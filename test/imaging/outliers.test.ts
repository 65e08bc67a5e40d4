/**
 * Bright catalogue sources outside the image (outliers.ts): which are chosen, and that the
 * subtraction removes exactly what the calibration model (calibration/model.ts, which it calls one
 * integration at a time) predicts for the whole group: the time slicing, the per-integration
 * pointing, the catalogue spectrum and the visibility layout.
 */
import { describe, expect, it } from 'vitest';
import { parseCalibratorCsv } from '../../src/calibration/catalog.js';
import { predictPointSources } from '../../src/calibration/model.js';
import { findOutliers, subtractOutliers } from '../../src/imaging/outliers.js';
import { arrayUvw, channels, emptyVis, randomArray } from '../../src/imaging/simulate.js';

const DEG = Math.PI / 180;

describe('outlier subtraction', () => {
  // 20 antennas, 6 integrations drifting over 1.5° of hour angle at dec 55°; the pointing follows
  // the meridian (RA grows with time), the phase centre is the mid-group meridian.
  const nT = 6, ra0 = 200 * DEG, dec0 = 55 * DEG;
  const has = Array.from({ length: nT }, (_, t) => (t - (nT - 1) / 2) * 0.25 * DEG);
  const uvw = arrayUvw(randomArray(20, 1200, 800, 4), 37 * DEG, dec0, has);
  const freq = channels(16, 1.311e9, 1.499e9);
  const pRa = Float64Array.from(has, (h) => ra0 + h), pDec = new Float64Array(nT).fill(dec0);
  const geometry = { nx: 512, ny: 512, cellRad: (3.5 * DEG) / 512 }; // 3.5° field
  // A: 15 Jy, 2.3° east of centre (outside, in the main lobe); B: 10 Jy inside the image;
  // C: 20 Jy 6° away (beyond the main lobe); D: 0.05 Jy outside (too faint)
  const cat = parseCalibratorCsv([
    'name,ra_deg,dec_deg,flux_jy',
    `A,${200 + 2.3 / Math.cos(dec0)},55.1,15`,
    `B,${200 + 0.5 / Math.cos(dec0)},55.3,10`,
    `C,200,61,20`,
    `D,${200 - 2.1 / Math.cos(dec0)},54.5,0.05`,
  ].join('\n'));
  const q = { geometry, ra0, dec0, pointingRa: pRa, pointingDec: pDec, freqHz: freq, minApparentJy: 0.5 };

  it('takes the bright source outside the image within the main lobe only', () => {
    const o = findOutliers(cat, q);
    expect(o.map((s) => s.name)).toEqual(['A']);
    expect(o[0]!.offsetDeg).toBeGreaterThan(2.2);
    expect(o[0]!.apparentJy).toBeGreaterThan(0.5);
    expect(o[0]!.apparentJy).toBeLessThan(15 * 0.5);
  });

  it('removes exactly the calibration model of that source from the visibilities', () => {
    const input = emptyVis(uvw, freq, 1);
    const nBl = input.nRow / nT;
    const i = 0; // catalogue row of A
    const model = predictPointSources(
      { nTime: nT, nBl, nPol: 1, freqHz: freq, uvw, phaseCentreRaRad: ra0, phaseCentreDecRad: dec0, pointingRaRad: pRa, pointingDecRad: pDec },
      { raRad: Float64Array.of(cat.raRad[i]!), decRad: Float64Array.of(cat.decRad[i]!), fluxJy: new Float64Array(freq.length).fill(15) },
    );
    input.vis.set(model);
    let before = 0;
    for (const v of input.vis) before = Math.max(before, Math.abs(v));
    expect(before).toBeGreaterThan(0.5);
    subtractOutliers(input, findOutliers(cat, q), ra0, dec0, pRa, pDec);
    let after = 0;
    for (const v of input.vis) after = Math.max(after, Math.abs(v));
    expect(after / before).toBeLessThan(1e-5);
  });

  it('leaves flagged samples alone', () => {
    const input = emptyVis(uvw, freq, 1);
    input.weight.fill(0, 0, 100);
    subtractOutliers(input, findOutliers(cat, q), ra0, dec0, pRa, pDec);
    for (let k = 0; k < 200; k++) expect(input.vis[k]).toBe(0);
    expect(Math.abs(input.vis[200]!)).toBeGreaterThan(0);
  });
});
