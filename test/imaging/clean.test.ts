import { describe, expect, it } from 'vitest';
import { imageVisibilities } from '../../src/imaging/imager.js';
import { addNoise, addPointSources, arrayUvw, channels, emptyVis, randomArray } from '../../src/imaging/simulate.js';
import { pixelToLm } from '../../src/imaging/geometry.js';
import { chooseSlant } from '../../src/imaging/slant.js';

const DEG = Math.PI / 180;

/**
 * A compact 30-antenna array (500 m × 300 m, lat 37°, dec 55°, 5 integrations, 6 channels),
 * imaged over 4.3° at 30″ so that sources 1.5–2° off centre are inside; w(n−1) is still ~0.4 turn
 * at those distances, so the w-correction is exercised. Sources sit on pixel centres.
 */
describe('CLEAN of point sources with noise', async () => {
  const enu = randomArray(30, 500, 300, 11);
  const uvw = arrayUvw(enu, 37 * DEG, 55 * DEG, [-0.6, -0.3, 0, 0.3, 0.6].map((x) => x * DEG));
  const input = emptyVis(uvw, channels(6, 1.311e9, 1.499e9), 1 / 0.25 ** 2);
  const nx = 512, cell = (30 / 3600) * DEG;
  const truth: [number, number, number][] = [[256, 256, 1.0], [256 + 220, 256 + 60, 0.5], [256 - 170, 256 - 180, 0.3], [256 + 40, 256 - 235, 0.2]];
  // The imager images on the array's slanted plane here (dec 55° is 18° from the zenith): the
  // sources are put where that plane's pixel centres are.
  const slant = chooseSlant(input, { nx, ny: nx, cellRad: cell });
  const geom = { nx, ny: nx, cellRad: cell, slant };
  addPointSources(input, truth.map(([ix, iy, flux]) => ({ flux, ...pixelToLm(geom, ix, iy) })));
  addNoise(input, 3);
  const res = await imageVisibilities(input, { nx, cellRad: cell, niter: 600, autoMask: 3, autoThreshold: 0.5, weighting: 'briggs', robust: 0 });

  it('imaged on the slanted plane of the best-fit w-plane: the horizontal plane, (ξ, η) = (0, −tan 18°)', () => {
    // the plane's normal is the zenith, at m/n = tan(φ − δ) from the phase centre: w = −(ξu + ηv)
    expect(res.geometry.slant).toEqual(slant);
    expect(Math.abs(slant![0])).toBeLessThan(0.005);
    expect(Math.abs(slant![1] + Math.tan(18 * DEG))).toBeLessThan(0.005);
  });

  it('the test sources are 1.5–2.1° off centre', () => {
    const off = truth.slice(1).map(([ix, iy]) => Math.hypot(ix - nx / 2, iy - nx / 2) * cell / DEG);
    expect(Math.min(...off)).toBeGreaterThan(1.5);
  });

  it('restored fluxes within 3 % and positions within 0.1 beam', () => {
    const beamPix = res.beam.bminRad / cell;
    for (const [ix, iy, flux] of truth) {
      // peak by 3×3 quadratic interpolation around the brightest pixel near the truth
      let bx = ix, by = iy;
      for (let y = iy - 3; y <= iy + 3; y++) for (let x = ix - 3; x <= ix + 3; x++) if (res.image[y * nx + x] > res.image[by * nx + bx]) { bx = x; by = y; }
      const f = (x: number, y: number): number => res.image[y * nx + x];
      const dx = 0.5 * (f(bx - 1, by) - f(bx + 1, by)) / (f(bx - 1, by) - 2 * f(bx, by) + f(bx + 1, by));
      const dy = 0.5 * (f(bx, by - 1) - f(bx, by + 1)) / (f(bx, by - 1) - 2 * f(bx, by) + f(bx, by + 1));
      expect(Math.abs(f(bx, by) / flux - 1)).toBeLessThan(0.03);
      expect(Math.hypot(bx + dx - ix, by + dy - iy) / beamPix).toBeLessThan(0.1);
    }
  });

  it('residual noise within 25 % of the thermal noise expected from the weights', () => {
    expect(res.noiseJy / res.expectedNoiseJy).toBeGreaterThan(0.75);
    expect(res.noiseJy / res.expectedNoiseJy).toBeLessThan(1.25);
  });

  it('ran Cotton–Schwab major cycles and fitted a sensible beam', () => {
    expect(res.majorCycles).toBeGreaterThanOrEqual(2);
    expect(res.components).toBeGreaterThan(20);
    expect(res.components).toBeLessThanOrEqual(600);
    // λ/B ~ 0.21 m / 500 m ≈ 87″: the beam is a few cells wide
    expect(res.beam.bmajRad / DEG * 3600).toBeGreaterThan(50);
    expect(res.beam.bmajRad / DEG * 3600).toBeLessThan(300);
    expect(Math.abs(res.psf[256 * nx + 256] - 1)).toBeLessThan(1e-4);
    // the residual at the brightest source is small compared with the source
    expect(Math.abs(res.residual[256 * nx + 256])).toBeLessThan(0.02);
  });
});
