import { describe, expect, it } from 'vitest';
import { lmToRaDec, pixelToLm, pixelToRaDec, raDecToLm, defaultGeometry } from '../../src/imaging/geometry.js';
import { primaryBeamImage, angularSeparation } from '../../src/imaging/primaryBeam.js';
import { airyPower } from '../../src/astro/beam.js';
import { arrayUvw, channels, emptyVis, randomArray } from '../../src/imaging/simulate.js';

const DEG = Math.PI / 180;

describe('pixel ↔ sky (SIN, ix grows westward)', () => {
  const g = { nx: 200, ny: 100, cellRad: 0.01 * DEG };
  it('centre pixel is the phase centre; smaller ix is east (larger RA); larger iy is north', () => {
    const ra0 = 1.0, dec0 = 55 * DEG;
    const c = pixelToRaDec(g, 100, 50, ra0, dec0);
    expect(c.ra).toBeCloseTo(ra0, 12); expect(c.dec).toBeCloseTo(dec0, 12);
    expect(pixelToRaDec(g, 90, 50, ra0, dec0).ra).toBeGreaterThan(ra0);
    expect(pixelToRaDec(g, 100, 60, ra0, dec0).dec).toBeGreaterThan(dec0);
    expect(pixelToLm(g, 90, 50).l).toBeCloseTo(10 * 0.01 * DEG, 15);
  });
  it('on the central meridian, m = sin(Δdec) exactly', () => {
    const p = lmToRaDec(0, Math.sin(1 * DEG), 0.5, 55 * DEG);
    expect(p.dec / DEG).toBeCloseTo(56, 10);
    expect(p.ra).toBeCloseTo(0.5, 12);
  });
  it('raDecToLm inverts lmToRaDec far off centre', () => {
    const ra0 = 3.0, dec0 = 55 * DEG;
    for (const [l, m] of [[0.03, -0.02], [-0.05, 0.04], [0.1, 0.1]]) {
      const s = lmToRaDec(l, m, ra0, dec0);
      const b = raDecToLm(s.ra, s.dec, ra0, dec0);
      expect(b.l).toBeCloseTo(l, 12); expect(b.m).toBeCloseTo(m, 12);
    }
  });
  it('default geometry: cell = λmin/Bmax/5 and a 3.5° field', () => {
    const inp = emptyVis(arrayUvw(randomArray(10, 2000, 1000, 2), 37 * DEG, 55 * DEG, [0]), channels(4, 1.311e9, 1.499e9));
    const g2 = defaultGeometry(inp);
    let b = 0;
    for (let r = 0; r < inp.nRow; r++) b = Math.max(b, Math.hypot(inp.uvw[3 * r], inp.uvw[3 * r + 1]));
    expect(g2.cellRad).toBeCloseTo(299792458 / 1.499e9 / b / 5, 12);
    expect(g2.nx * g2.cellRad).toBeGreaterThanOrEqual(3.5 * DEG);
    expect(g2.nx % 16).toBe(0);
    const q = defaultGeometry(inp, { maxSize: 1024 });
    expect(q.nx).toBeLessThanOrEqual(1024);
  });
});

describe('primary beam of a drift group', () => {
  it('one meridian pointing at the phase centre: pb = Airy power of the pixel offset', () => {
    const g = { nx: 64, ny: 64, cellRad: 0.05 * DEG };
    const ra0 = 2, dec0 = 55 * DEG;
    const pb = primaryBeamImage(g, ra0, dec0, [ra0], [dec0], 1.4e9);
    expect(pb[32 * 64 + 32]).toBeCloseTo(1, 6);
    const s = pixelToRaDec(g, 10, 50, ra0, dec0);
    expect(pb[50 * 64 + 10]).toBeCloseTo(airyPower(angularSeparation(s.ra, s.dec, ra0, dec0), 1.4e9, 4.65), 6);
  });
  it('averaging over a drift widens the beam along RA only', () => {
    const g = { nx: 64, ny: 64, cellRad: 0.05 * DEG };
    const ra0 = 2, dec0 = 55 * DEG;
    const ras = [-2, -1, 0, 1, 2].map((k) => ra0 + k * 0.3 * DEG);
    const pb = primaryBeamImage(g, ra0, dec0, ras, ras.map(() => dec0), 1.4e9);
    const single = primaryBeamImage(g, ra0, dec0, [ra0], [dec0], 1.4e9);
    expect(pb[32 * 64 + 32]).toBeLessThan(1);
    // 1° west vs 1° north: equal for one pointing, the drift favours the RA direction
    expect(single[32 * 64 + 32 + 20]).toBeCloseTo(single[(32 + 20) * 64 + 32], 3);
    expect(pb[32 * 64 + 32 + 20]).toBeGreaterThan(pb[(32 + 20) * 64 + 32] * 1.001);
    // symmetric east/west
    expect(pb[32 * 64 + 32 + 10]).toBeCloseTo(pb[32 * 64 + 32 - 10], 3);
  });
});
