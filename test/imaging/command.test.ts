/**
 * `dsa110 image` end to end on a simulated, converted group: source positions and fluxes in the
 * restored and pb-corrected images against the simulator's truth, residual noise against the
 * thermal noise, FITS headers, and bad input.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import path from 'node:path';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { meridianIcrs } from '../../src/astro/frames.js';
import { isoToJd } from '../../src/astro/time.js';
import { DEG } from '../../src/astro/constants.js';
import { readFits } from '../../src/io/fits.js';
import { Wcs } from '../../src/astro/wcs.js';
import { forcedPhotometry } from '../../src/photometry/measure.js';
import { pixelBeam } from '../../src/photometry/beam.js';
import { dsa110 } from '../helpers/cli.js';
import { imagedGroup, START, type ImagedGroup } from './image-fixture.js';

let NOISE = 0;
let ms: string;
let work: string;
let truth: ImagedGroup['truth'];
let image: Record<string, number | string>;

beforeAll(async () => {
  const g = await imagedGroup();
  ({ work, ms, truth, image } = g);
  NOISE = g.noise;
  expect(NOISE).toBeGreaterThan(2); // realistic DSA-110 noise: SEFD 5800 Jy → σ ≈ 2.3 Jy
}, 300_000);

describe('dsa110 image', () => {
  it('writes all products with the right world coordinates and beam keywords', async () => {
    const stem = String(image.path).replace(/-image\.fits$/, '');
    for (const s of ['-image.fits', '-image-pb.fits', '-residual.fits', '-model.fits', '-psf.fits', '-pb.fits', '-image.png']) expect(existsSync(stem + s), s).toBe(true);
    const img = await readFits(String(image.path));
    const h = img.header;
    expect(h.getString('CTYPE1')).toBe('RA---SIN');
    expect(h.getString('CTYPE2')).toBe('DEC--SIN');
    expect(h.getString('CTYPE3')).toBe('FREQ');
    expect(h.getString('CTYPE4')).toBe('STOKES');
    expect(h.getString('BUNIT')).toBe('JY/BEAM');
    expect(h.getString('RADESYS')).toBe('ICRS');
    expect(h.getNumber('CDELT1')).toBeCloseTo(-5 / 3600, 10);
    expect(h.getNumber('CDELT2')).toBeCloseTo(5 / 3600, 10);
    expect(h.getNumber('CRPIX1')).toBe(1025);
    // 2.8° at dec 55°, 17.8° from the zenith: imaged on the slanted plane of the (horizontal)
    // array, PV2_2 ≈ −tan 17.8° (the acceptance below finds the sources through these keywords)
    expect(Math.abs(h.getNumber('PV2_1')!)).toBeLessThan(0.01);
    expect(Math.abs(h.getNumber('PV2_2')! + Math.tan(17.77 * DEG))).toBeLessThan(0.01);
    expect(h.getNumber('BMAJ')! * 3600).toBeCloseTo(Number(image.bmaj_arcsec), 6);
    expect(h.getNumber('BMIN')! * 3600).toBeCloseTo(Number(image.bmin_arcsec), 6);
    expect(h.getNumber('BPA')).toBeCloseTo(Number(image.bpa_deg), 6);
    expect(h.getNumber('BMAJ')!).toBeGreaterThanOrEqual(h.getNumber('BMIN')!);
    expect(h.getNumber('MJD-OBS')).toBeGreaterThan(60900);
    // CRVAL = the MS phase centre = ICRS meridian at mid-time.
    const [ra0, dec0] = meridianIcrs(isoToJd(START) + (24 * 12.884901888) / 2 / 86400, 55 * DEG);
    expect(Math.abs(h.getNumber('CRVAL1')! - ra0 / DEG) * 3600 * Math.cos(dec0)).toBeLessThan(0.5);
    expect(Math.abs(h.getNumber('CRVAL2')! - dec0 / DEG) * 3600).toBeLessThan(0.5);
    const psf = await readFits(stem + '-psf.fits');
    const nx = psf.shape[0]!, ny = psf.shape[1]!;
    expect(psf.data[(ny / 2) * nx + nx / 2]).toBeCloseTo(1, 3);
    let max = -Infinity;
    for (const v of psf.data) max = Math.max(max, v);
    expect(max).toBeCloseTo(1, 3);
  });

  it('refuses all-flagged data and impossible sizes without leaving products', () => {
    const out = path.join(work, 'bad');
    const f = dsa110(['--db', path.join(work, 'db'), 'flag', '--channels', '0~31', ms]);
    expect(f.code, f.stderr).toBe(0);
    const r = dsa110(['--db', path.join(work, 'db'), 'image', '-o', out, '--quick', ms]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/all data are flagged/);
    expect(existsSync(out) ? readdirSync(out).filter((n) => n.endsWith('.fits')) : []).toEqual([]);
    const s = dsa110(['--db', path.join(work, 'db'), 'image', '-o', out, '--size', '5', ms]);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/--size/);
    const nf = dsa110(['--db', path.join(work, 'db'), 'image', '-o', out, path.join(work, 'nope.ms.zarr')]);
    expect(nf.code).toBe(1);
    expect(nf.stderr).toContain('nope.ms.zarr');
  });
});

// Acceptance of issue 7, on the same imaged group (one fixture per file: building it is the slow part).
describe('dsa110 image acceptance', () => {
  it('recovers every source within 0.1 beam and 3 % (apparent) / 5 % (intrinsic, pb-corrected)', async () => {
    const img = await readFits(String(image.path));
    const pbImg = await readFits(String(image.path).replace(/-image\.fits$/, '-pb.fits'));
    const wcs = Wcs.fromHeader(img.header, String(image.path));
    const nx = img.shape[0]!, ny = img.shape[1]!;
    const cell = Math.abs(img.header.getNumber('CDELT2')!);
    const beam = pixelBeam(img.header.getNumber('BMAJ')! / cell, img.header.getNumber('BMIN')! / cell, img.header.getNumber('BPA')!);
    const noise = Number(image.noise_jy);
    const srcs = truth.sources;
    const xs = new Float64Array(srcs.length), ys = new Float64Array(srcs.length);
    srcs.forEach((s, i) => { const [x, y] = wcs.worldToPixelDeg(s.raDeg, s.decDeg); xs[i] = x; ys[i] = y; });
    const phot = forcedPhotometry({ data: img.data, nx, ny }, xs, ys, { beam, noiseCorrelation: 'beam' });
    const bmajPix = img.header.getNumber('BMAJ')! / cell;
    let checked = 0;
    srcs.forEach((s, i) => {
      const apparent = truth.groups[0]!.apparentFluxJy[s.name]!;
      if (apparent < 10 * noise) return;
      checked++;
      // Position: the brightest pixel near the true position, refined by a parabola.
      const x0 = Math.round(xs[i]!), y0 = Math.round(ys[i]!);
      let bx = x0, by = y0, bv = -Infinity;
      for (let y = y0 - 3; y <= y0 + 3; y++) for (let x = x0 - 3; x <= x0 + 3; x++) { const v = img.data[y * nx + x]!; if (v > bv) { bv = v; bx = x; by = y; } }
      const at = (x: number, y: number) => img.data[y * nx + x]!;
      const px = bx + (at(bx - 1, by) - at(bx + 1, by)) / (2 * (at(bx - 1, by) - 2 * bv + at(bx + 1, by)));
      const py = by + (at(bx, by - 1) - at(bx, by + 1)) / (2 * (at(bx, by - 1) - 2 * bv + at(bx, by + 1)));
      expect(Math.hypot(px - xs[i]!, py - ys[i]!) / bmajPix, `${s.name} position`).toBeLessThan(0.1);
      expect(Math.abs(phot.flux[i]! / apparent - 1), `${s.name} flux ${phot.flux[i]} vs ${apparent}`).toBeLessThan(0.03);
      const pb = pbImg.data[Math.round(ys[i]!) * nx + Math.round(xs[i]!)]!;
      if (pb >= 0.5) expect(Math.abs(phot.flux[i]! / pb / s.fluxJy - 1), `${s.name} intrinsic`).toBeLessThan(0.05);
    });
    expect(checked).toBeGreaterThanOrEqual(5);
  });

  it('reaches the thermal noise from the visibility weights (within 25 %)', () => {
    // WEIGHT_SPECTRUM holds nsamples (= 1): the reported expected noise is for σ = 1 Jy per
    // visibility, so the thermal noise of this simulation is that × NOISE.
    const thermal = Number(image.expected_noise_jy) * NOISE;
    expect(Number(image.noise_jy) / thermal).toBeGreaterThan(0.75);
    expect(Number(image.noise_jy) / thermal).toBeLessThan(1.25);
  });

});
