import { describe, it, expect } from 'vitest';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFits, FitsHeader } from '../../src/io/fits.js';
import { Wcs, makeSinWcs, icrsToGalactic, galacticToIcrs } from '../../src/astro/wcs.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED = process.env.DSA110_SHARED ?? path.resolve(repoRoot, '..', 'shared');
const FITS_DIR = path.join(SHARED, 'data', 'fits');

const D2R = Math.PI / 180;

/** On-sky separation in arcseconds between two (lon, lat) degree pairs. */
function sepArcsec(a: [number, number], b: [number, number]): number {
  const [l1, b1] = [a[0] * D2R, a[1] * D2R];
  const [l2, b2] = [b[0] * D2R, b[1] * D2R];
  const s = Math.sin((b2 - b1) / 2) ** 2 + Math.cos(b1) * Math.cos(b2) * Math.sin((l2 - l1) / 2) ** 2;
  return (2 * Math.asin(Math.sqrt(s)) * 180 * 3600) / Math.PI;
}

function header(cards: Record<string, string | number>): FitsHeader {
  const h = new FitsHeader();
  for (const [k, v] of Object.entries(cards)) h.set(k, v);
  return h;
}

/** Check pixel→world against astropy and the round trip world→pixel. */
function check(w: Wcs, cases: Array<[number, number, number, number]>, tolArcsec = 0.01): void {
  for (const [x, y, lon, lat] of cases) {
    const got = w.pixelToWorldDeg(x, y);
    expect(sepArcsec(got, [lon, lat]), `pixel (${x}, ${y})`).toBeLessThan(tolArcsec);
    const [px, py] = w.worldToPixelDeg(lon, lat);
    expect(Math.abs(px - x)).toBeLessThan(1e-6);
    expect(Math.abs(py - y)).toBeLessThan(1e-6);
  }
}

describe('WCS from real FITS headers vs astropy 5.2.1 (0-based pixels)', () => {
  // Values from astropy WCS(header).celestial.wcs_pix2world([[x, y]], 0) (Debian python3-astropy
  // 5.2.1), printed to 1e-10 deg; the first two points per file are also in shared/data/README.md.
  it('FIRST cutout (RA/DEC SIN, reference pixel outside the image)', async () => {
    const im = await readFits(path.join(FITS_DIR, 'first_cutout_J105007+304037.fits'));
    const w = Wcs.fromHeader(im.header);
    expect(w.projection).toBe('SIN');
    expect(w.frame).toBe('equatorial');
    check(w, [
      [0, 0, 162.5391375391, 30.6689342724],
      [16, 16, 162.5298183439, 30.6769188762],
      [32, 0, 162.5205356147, 30.6689028281],
    ]);
  });

  it('Parkes 1904-66: SIN referenced at the south celestial pole (LONPOLE 180, LATPOLE −90)', async () => {
    const im = await readFits(path.join(FITS_DIR, 'parkes_1904-66_SIN.fits'));
    const w = Wcs.fromHeader(im.header);
    check(w, [
      [0, 0, 268.3915069922, -73.9035355262],
      [95.5, 95.5, 284.9037692373, -66.310392342],
      [191, 191, 293.2406511333, -57.0787705997],
      [0, 191, 307.7327585087, -69.4863645882],
    ]);
  });

  it('MAGPIS: Galactic SIN', async () => {
    const im = await readFits(path.join(FITS_DIR, 'magpis_gps20cm_G10.5+0.0.fits'));
    const w = Wcs.fromHeader(im.header);
    expect(w.frame).toBe('galactic');
    expect(w.lonType).toBe('GLON');
    check(w, [
      [0, 0, 10.5829084612, -0.0830556511],
      [149.5, 149.5, 10.4998273994, 0.0],
      [299, 299, 10.4167400293, 0.0830556511],
    ]);
  });
});

describe('WCS on constructed headers vs astropy 5.2.1 (values computed by hand, pasted)', () => {
  const sin55 = {
    NAXIS: 2, CTYPE1: 'RA---SIN', CTYPE2: 'DEC--SIN', CRVAL1: 202.5, CRVAL2: 55.0,
    CRPIX1: 2049.0, CRPIX2: 2049.0, CDELT1: -3 / 3600, CDELT2: 3 / 3600,
  };
  it('SIN at dec +55°, 3″ cells, 4096² (the DSA-110 image layout)', () => {
    check(Wcs.fromHeader(header(sin55)), [
      [0, 0, 205.354138879, 53.2582373187],
      [2048, 2048, 202.5, 55.0],
      [4095, 4095, 199.3940673439, 56.6681857904],
      [0, 4095, 205.6074483982, 56.6681487623],
      [1000, 3000, 204.0532819736, 55.7836600648],
    ]);
  });
  it('TAN and ARC with the same layout', () => {
    check(Wcs.fromHeader(header({ ...sin55, CTYPE1: 'RA---TAN', CTYPE2: 'DEC--TAN' })), [
      [0, 0, 205.3517127747, 53.259810745],
      [4095, 4095, 199.3969383402, 56.6667436816],
    ]);
    check(Wcs.fromHeader(header({ ...sin55, CTYPE1: 'RA---ARC', CTYPE2: 'DEC--ARC' })), [
      [0, 0, 205.3533291927, 53.2587624512],
      [4095, 4095, 199.3950255549, 56.6677044982],
    ]);
  });
  const car = {
    NAXIS: 2, CTYPE1: 'RA---CAR', CTYPE2: 'DEC--CAR', CRVAL1: 150.0, CRVAL2: 40.0,
    CRPIX1: 501.0, CRPIX2: 201.0, CDELT1: -0.01, CDELT2: 0.01,
  };
  it('CAR with CRVAL2 = 40° (oblique: native pole is not the celestial pole)', () => {
    check(Wcs.fromHeader(header(car)), [
      [0, 0, 156.3307907379, 37.8224756947],
      [500, 200, 150.0, 40.0],
      [999, 399, 143.3032742589, 41.8025870216],
      [100, 350, 155.3324736891, 41.3803664952],
    ]);
  });
  it('CAR with CRVAL2 = 0° (plate carrée)', () => {
    check(Wcs.fromHeader(header({ ...car, CRVAL2: 0.0 })), [
      [0, 0, 155.0, -2.0],
      [500, 200, 150.0, 0.0],
      [999, 399, 145.01, 1.99],
    ]);
  });
  it('CDi_j matrix form (TAN rotated by 20°, dec −30°)', () => {
    const th = 20 * D2R, s = 0.001;
    const h = header({
      NAXIS: 2, CTYPE1: 'RA---TAN', CTYPE2: 'DEC--TAN', CRVAL1: 10.0, CRVAL2: -30.0, CRPIX1: 50.5, CRPIX2: 60.5,
    });
    h.setFloat('CD1_1', -s * Math.cos(th)).setFloat('CD1_2', s * Math.sin(th)).setFloat('CD2_1', s * Math.sin(th)).setFloat('CD2_2', s * Math.cos(th));
    check(Wcs.fromHeader(h), [
      [0, 0, 10.0302344511, -30.0728382095],
      [99, 119, 9.9698099006, -29.9271548922],
    ]);
  });
  it('PC + CDELT equals the same CD; CROTA2 equals the PC rotation', () => {
    const th = 20, s = 0.001;
    const base = { NAXIS: 2, CTYPE1: 'RA---TAN', CTYPE2: 'DEC--TAN', CRVAL1: 10.0, CRVAL2: -30.0, CRPIX1: 50.5, CRPIX2: 60.5, CDELT1: -s, CDELT2: s };
    const c = Math.cos(th * D2R), si = Math.sin(th * D2R);
    const pc = header(base);
    pc.setFloat('PC1_1', c).setFloat('PC1_2', -si).setFloat('PC2_1', si).setFloat('PC2_2', c);
    // −CDELT·(−sin) = CD1_2 = +s·sin: same matrix as the CD test above.
    check(Wcs.fromHeader(pc), [[0, 0, 10.0302344511, -30.0728382095]]);
    // AIPS CROTA2 = −20° is that same matrix (RA axis has negative CDELT); astropy agrees.
    check(Wcs.fromHeader(header({ ...base, CROTA2: -th })), [[0, 0, 10.0302344511, -30.0728382095]]);
    // astropy: CROTA2 = +20° → (0, 0) = (10.0772393254, -30.0389591464) (by hand, pasted).
    check(Wcs.fromHeader(header({ ...base, CROTA2: th })), [[0, 0, 10.0772393254, -30.0389591464]]);
  });
  it('latitude-first axis order (DEC, RA) gives the same sky as the swapped image', () => {
    const w1 = Wcs.fromHeader(header(sin55));
    const w2 = Wcs.fromHeader(header({
      NAXIS: 2, CTYPE1: 'DEC--SIN', CTYPE2: 'RA---SIN', CRVAL1: 55.0, CRVAL2: 202.5,
      CRPIX1: 2049.0, CRPIX2: 2049.0, CDELT1: 3 / 3600, CDELT2: -3 / 3600,
    }));
    const a = w1.pixelToWorldDeg(1000, 3000);
    const b = w2.pixelToWorldDeg(3000, 1000);
    expect(sepArcsec(a, b)).toBeLessThan(1e-6);
    const [px, py] = w2.worldToPixelDeg(a[0], a[1]);
    expect(px).toBeCloseTo(3000, 6);
    expect(py).toBeCloseTo(1000, 6);
  });
  it('refuses unsupported projections and non-celestial headers with InputError', () => {
    expect(() => Wcs.fromHeader(header({ ...sin55, CTYPE1: 'RA---ZEA', CTYPE2: 'DEC--ZEA' }))).toThrow(/unsupported projection/);
    expect(() => Wcs.fromHeader(header({ NAXIS: 2, CTYPE1: 'X', CTYPE2: 'Y' }))).toThrow(/no celestial axes/);
  });
});

describe('WCS round trips and builder', () => {
  it('world→pixel→world round trip over a whole SIN image (< 1e-6″)', () => {
    const w = makeSinWcs({ raDeg: 202.5, decDeg: 55, cellDeg: 3 / 3600, nx: 4096, ny: 4096, freqHz: 1.405e9 });
    const n = 64 * 64;
    const xs = new Float64Array(n), ys = new Float64Array(n);
    for (let j = 0; j < 64; j++) for (let i = 0; i < 64; i++) { xs[j * 64 + i] = i * 65; ys[j * 64 + i] = j * 65; }
    const lon = new Float64Array(n), lat = new Float64Array(n), bx = new Float64Array(n), by = new Float64Array(n);
    w.pixelsToWorld(xs, ys, lon, lat);
    w.worldsToPixel(lon, lat, bx, by);
    let maxErr = 0;
    for (let i = 0; i < n; i++) maxErr = Math.max(maxErr, Math.abs(bx[i] - xs[i]), Math.abs(by[i] - ys[i]));
    expect(maxErr).toBeLessThan(1e-7);
    // Vectorised equals scalar.
    const s = w.pixelToWorld(xs[777], ys[777]);
    expect(s.lon).toBe(lon[777]);
    expect(s.lat).toBe(lat[777]);
  });

  it('makeSinWcs puts the centre at 0-based (nx/2, ny/2) = CRPIX (nx/2+1, ny/2+1), RA increasing left', () => {
    const w = makeSinWcs({ raDeg: -10, decDeg: 55, cellDeg: 3 / 3600, nx: 4096, ny: 2048 });
    expect(w.params.crpix).toEqual([2049, 1025]);
    expect(w.params.crval[0]).toBe(350);
    const c = w.pixelToWorldDeg(2048, 1024);
    expect(sepArcsec(c, [350, 55])).toBeLessThan(1e-9);
    const left = w.pixelToWorldDeg(2047, 1024);
    expect(left[0]).toBeGreaterThan(350); // east is left
    // One pixel east at dec 55 is 3″ on the sky (SIN is exact at the reference point).
    expect(sepArcsec(left, [350, 55])).toBeCloseTo(3, 6);
    // Same as the explicit SIN55 header at the corner (astropy value above, shifted layout).
    const w2 = makeSinWcs({ raDeg: 202.5, decDeg: 55, cellDeg: 3 / 3600, nx: 4096, ny: 4096 });
    expect(sepArcsec(w2.pixelToWorldDeg(0, 0), [205.354138879, 53.2582373187])).toBeLessThan(0.01);
  });

  it('off-image / unprojectable points are NaN, not garbage', () => {
    const w = makeSinWcs({ raDeg: 0, decDeg: 0, cellDeg: 1, nx: 10, ny: 10 });
    const far = w.pixelToWorld(5 + 100, 5); // 100° from the centre on a SIN plane: off the sphere
    expect(Number.isNaN(far.lon)).toBe(true);
    const back = w.worldToPixelDeg(180, 0); // the antipode is behind the SIN plane
    expect(Number.isNaN(back[0])).toBe(true);
  });

  it('NCP (AIPS) equals SIN with PV2_2 = cot(dec0)', () => {
    const base = { NAXIS: 2, CRVAL1: 30, CRVAL2: 40, CRPIX1: 100, CRPIX2: 100, CDELT1: -0.01, CDELT2: 0.01 };
    const ncp = Wcs.fromHeader(header({ ...base, CTYPE1: 'RA---NCP', CTYPE2: 'DEC--NCP' }));
    const sinH = header({ ...base, CTYPE1: 'RA---SIN', CTYPE2: 'DEC--SIN' });
    sinH.setFloat('PV2_1', 0).setFloat('PV2_2', 1 / Math.tan(40 * D2R));
    const sin = Wcs.fromHeader(sinH);
    const a = ncp.pixelToWorldDeg(10, 180), b = sin.pixelToWorldDeg(10, 180);
    expect(sepArcsec(a, b)).toBeLessThan(1e-9);
    // Slant SIN inverse matches forward.
    const [px, py] = sin.worldToPixelDeg(b[0], b[1]);
    expect(px).toBeCloseTo(10, 7);
    expect(py).toBeCloseTo(180, 7);
    // NCP: points on the reference meridian keep x = CRPIX (lines of RA are radial from the NCP).
    const m = ncp.worldToPixelDeg(30, 45);
    expect(m[0]).toBeCloseTo(99, 9);
  });

  it('ICRS ↔ Galactic agrees with astropy (202.5°, 55°) → (111.4096953644°, 61.2572049972°)', () => {
    const [l, b] = icrsToGalactic(202.5 * D2R, 55 * D2R);
    expect(sepArcsec([l / D2R, b / D2R], [111.4096953644, 61.2572049972])).toBeLessThan(0.02);
    const [ra, dec] = galacticToIcrs(l, b);
    expect(sepArcsec([ra / D2R, dec / D2R], [202.5, 55])).toBeLessThan(1e-7);
  });
});
