/**
 * The slanted image plane (slant.ts): the fitted w-plane against geometry, the w-planes it
 * saves, and the gridder on it against a direct Fourier transform at the pixels' true directions.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initFft } from '../../src/imaging/fft.js';
import { gridToImage, makeGridPlan } from '../../src/imaging/gridder.js';
import { pixelToLm } from '../../src/imaging/geometry.js';
import { chooseSlant, fitWPlane, wPlaneCount } from '../../src/imaging/slant.js';
import { arrayUvw, channels, emptyVis, randomArray } from '../../src/imaging/simulate.js';
import { dsaLikeField } from './dsa-like-field.js';

const DEG = Math.PI / 180, C = 299792458;

beforeAll(async () => { await initFft(); });

describe('best-fit w-plane', () => {
  it('east–west array: NCP, (ξ, η) = (0, cot δ)', () => {
    const enu = new Float64Array([0, 0, 0, 300, 0, 0, 1100, 0, 0, 2500, 0, 0]);
    const uvw = arrayUvw(enu, 37 * DEG, 30 * DEG, [-0.5, 0.1, 0.7].map((x) => x * DEG));
    const [xi, eta] = fitWPlane(emptyVis(uvw, channels(2, 1.3e9, 1.5e9)));
    expect(Math.abs(xi)).toBeLessThan(1e-9);
    expect(eta).toBeCloseTo(1 / Math.tan(30 * DEG), 9);
  });
  it('2-D horizontal array: the plane of the horizon, (ξ, η) = (0, tan(φ − δ)) on the meridian', () => {
    const enu = randomArray(40, 2500, 1500, 5);
    for (const flat of [false, true]) {
      if (flat) for (let a = 0; a < 40; a++) enu[3 * a + 2] = 0; // else ±2 m of terrain: the fit is approximate
      for (const dec of [-20, 10, 55, 80]) {
        const uvw = arrayUvw(enu, 37 * DEG, dec * DEG, [0]);
        const [xi, eta] = fitWPlane(emptyVis(uvw, channels(1, 1.4e9, 1.4e9)));
        const tol = flat ? 1e-9 : 3e-3 / Math.cos((37 - dec) * DEG) ** 2;
        expect(Math.abs(xi)).toBeLessThan(tol);
        expect(Math.abs(eta - Math.tan((37 - dec) * DEG))).toBeLessThan(tol);
      }
    }
  });
});

describe('gridding on the slanted plane', () => {
  // DSA-110-like: 2.5 km × 1.5 km, lat 37°, dec 55°, 4 integrations over 1.2° of hour angle.
  const { input, nx, cell } = dsaLikeField();
  const { uvw, freq } = input;
  const flat = { nx, ny: nx, cellRad: cell };
  const slant = chooseSlant(input, flat);
  const geom = { ...flat, slant };

  it('is chosen, and needs fewer w-planes', () => {
    expect(slant).toBeDefined();
    expect(wPlaneCount(input, geom)).toBeLessThan(wPlaneCount(input, flat));
    expect(makeGridPlan(input, geom).nPlanes).toBe(wPlaneCount(input, geom));
    expect(makeGridPlan(input, flat).nPlanes).toBe(wPlaneCount(input, flat));
  });

  it('agrees with the direct transform at the true directions of its pixels to 1e-4 of the peak, corners included', () => {
    const srcs = [{ f: 1, l: 0.3 * DEG, m: -0.2 * DEG }, { f: 0.7, l: -1.6 * DEG, m: 1.55 * DEG }];
    const y = new Float32Array(input.vis.length);
    let peak = 0;
    for (let r = 0; r < input.nRow; r++) for (let c = 0; c < input.nChan; c++) {
      const k = r * input.nChan + c, w = input.weight[k];
      if (w === 0) continue;
      const s = freq[c] / C;
      for (const src of srcs) {
        const ph = 2 * Math.PI * s * (uvw[3 * r] * src.l + uvw[3 * r + 1] * src.m + uvw[3 * r + 2] * (Math.sqrt(1 - src.l ** 2 - src.m ** 2) - 1));
        y[2 * k] += w * src.f * Math.cos(ph); y[2 * k + 1] += w * src.f * Math.sin(ph);
      }
      peak += w;
    }
    const img = gridToImage(makeGridPlan(input, geom), y);
    let maxErr = 0;
    for (const ix of [0, 1, 97, nx / 2, nx / 2 + 1, 600, nx - 1]) for (const iy of [0, 255, nx / 2, 700, nx - 1]) {
      const { l, m } = pixelToLm(geom, ix, iy);
      const nm1 = Math.sqrt(1 - l * l - m * m) - 1;
      let d = 0;
      for (let r = 0; r < input.nRow; r++) for (let c = 0; c < input.nChan; c++) {
        const k = r * input.nChan + c;
        if (y[2 * k] === 0 && y[2 * k + 1] === 0) continue;
        const ph = -2 * Math.PI * (freq[c] / C) * (uvw[3 * r] * l + uvw[3 * r + 1] * m + uvw[3 * r + 2] * nm1);
        d += y[2 * k] * Math.cos(ph) - y[2 * k + 1] * Math.sin(ph);
      }
      maxErr = Math.max(maxErr, Math.abs(img[iy * nx + ix] - d) / peak);
    }
    expect(maxErr).toBeLessThan(1e-4);
  });
});

describe('narrow w ranges (every visibility at the same kernel offset in w)', () => {
  it('stay within 1e-4 of the direct transform (the w axis is oversampled more)', () => {
    const nx = 256, cell = (3.5 * DEG) / nx, nRow = 200;
    const uvw = new Float64Array(3 * nRow);
    for (let r = 0; r < nRow; r++) { uvw[3 * r] = (r % 13) * 0.9; uvw[3 * r + 1] = (r % 7) * 1.5; uvw[3 * r + 2] = 30 + 0.001 * r; }
    const input = { nRow, nChan: 1, uvw, freq: new Float64Array([1e9]) };
    const y = new Float32Array(2 * nRow);
    for (let r = 0; r < nRow; r++) y[2 * r] = 1;
    const img = gridToImage(makeGridPlan(input, { nx, ny: nx, cellRad: cell }), y);
    let maxErr = 0;
    for (const [ix, iy] of [[128, 128], [0, 0], [200, 50], [255, 255]]) {
      const l = -(ix - nx / 2) * cell, m = (iy - nx / 2) * cell, nm1 = Math.sqrt(1 - l * l - m * m) - 1;
      let s = 0;
      for (let r = 0; r < nRow; r++) s += Math.cos(-2 * Math.PI * (uvw[3 * r] * l + uvw[3 * r + 1] * m + uvw[3 * r + 2] * nm1) * 1e9 / C);
      maxErr = Math.max(maxErr, Math.abs(img[iy * nx + ix] - s) / nRow);
    }
    expect(maxErr).toBeLessThan(1e-4); // 3.4e-4 with w sampled as finely as u and v
  });
});
