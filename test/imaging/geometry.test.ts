import { describe, expect, it } from 'vitest';
import { lmToPixel, lmToRaDec, pixelToLm, pixelToRaDec, raDecToLm, defaultGeometry } from '../../src/imaging/geometry.js';
import { makeSinWcs } from '../../src/astro/wcs.js';
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

describe('pixel ↔ sky on a slanted SIN plane (PV2_1, PV2_2)', () => {
  // astropy 6 (wcslib), CRVAL (200°, 55°), CRPIX 2049, CDELT ∓3″, PV2_1 = 0.01, PV2_2 = −0.3251998;
  // FITS pixels (1-based) → (RA, Dec) degrees
  const astropy: [number, number, number, number][] = [
    [1, 1, 202.85439090668302, 53.27462845516505],
    [4096, 4096, 196.89175637026895, 56.68484399494445],
    [1, 4096, 203.10789209732658, 56.684850689707254],
    [3000, 500, 198.6606371013603, 53.707933006864415],
    [2049, 1, 199.99957864634865, 53.30127313464677],
  ];
  const g = { nx: 4096, ny: 4096, cellRad: (3 / 3600) * DEG, slant: [0.01, -0.3251998] as const };
  it('pixelToRaDec matches astropy to 1 mas across a 3.4° field', () => {
    for (const [p1, p2, ra, dec] of astropy) {
      const s = pixelToRaDec(g, p1 - 1, p2 - 1, 200 * DEG, 55 * DEG);
      expect(Math.abs(s.ra / DEG - ra) * 3600 * Math.cos(dec * DEG)).toBeLessThan(1e-3);
      expect(Math.abs(s.dec / DEG - dec) * 3600).toBeLessThan(1e-3);
    }
  });
  it('the FITS header written for it (makeSinWcs with pv) gives the same pixels', () => {
    const wcs = makeSinWcs({ raDeg: 200, decDeg: 55, cellDeg: 3 / 3600, nx: 4096, ny: 4096, pv: g.slant });
    for (const [p1, p2, ra, dec] of astropy) {
      const [x, y] = wcs.worldToPixelDeg(ra, dec); // 0-based
      expect(Math.abs(x - (p1 - 1))).toBeLessThan(1e-6);
      expect(Math.abs(y - (p2 - 1))).toBeLessThan(1e-6);
    }
  });
  it('lmToPixel inverts pixelToLm; the slant moves the corners by ξ(1 − n), η(1 − n)', () => {
    for (const [ix, iy] of [[0, 0], [4095, 17], [2048, 2048], [1000, 3900]]) {
      const { l, m } = pixelToLm(g, ix, iy);
      const p = lmToPixel(g, l, m);
      expect(p.ix).toBeCloseTo(ix, 8); expect(p.iy).toBeCloseTo(iy, 8);
    }
    const flat = pixelToLm({ ...g, slant: undefined }, 0, 0), sl = pixelToLm(g, 0, 0);
    const d = 1 - Math.sqrt(1 - sl.l ** 2 - sl.m ** 2);
    expect(flat.l - sl.l).toBeCloseTo(0.01 * d, 12);
    expect(flat.m - sl.m).toBeCloseTo(-0.3251998 * d, 12);
    expect(Math.abs(flat.m - sl.m) / g.cellRad).toBeGreaterThan(15); // ~20 pixels at the corner
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
