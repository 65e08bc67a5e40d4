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
    expect(h.getNumber('CRPIX1')).toBe(385);
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
