import { beforeAll, describe, expect, it } from 'vitest';
import { initFft } from '../../src/imaging/fft.js';
import { gridToImage, imageToVis, makeGridPlan } from '../../src/imaging/gridder.js';
import { dirtyImage, psfImage } from '../../src/imaging/imager.js';
import { rng } from '../../src/imaging/simulate.js';
import type { VisInput } from '../../src/imaging/types.js';
import { dsaLikeField } from './dsa-like-field.js';

const DEG = Math.PI / 180;
const C = 299792458;


/** Direct DFT of Re Σ y e^{−2πi(ul+vm+w(n−1))} at pixel (ix, iy). */
function dft(input: VisInput, y: Float32Array, nx: number, cell: number, ix: number, iy: number): number {
  const l = -(ix - nx / 2) * cell, m = (iy - nx / 2) * cell, nm1 = Math.sqrt(1 - l * l - m * m) - 1;
  let s = 0;
  for (let r = 0; r < input.nRow; r++) for (let c = 0; c < input.nChan; c++) {
    const k = r * input.nChan + c;
    if (y[2 * k] === 0 && y[2 * k + 1] === 0) continue;
    const sc = input.freq[c] / C;
    const ph = -2 * Math.PI * sc * (input.uvw[3 * r] * l + input.uvw[3 * r + 1] * m + input.uvw[3 * r + 2] * nm1);
    s += y[2 * k] * Math.cos(ph) - y[2 * k + 1] * Math.sin(ph);
  }
  return s;
}

const { input, nx, cell } = dsaLikeField();
const testPixels: [number, number][] = [];
for (const ix of [0, 1, 97, nx / 2 - 1, nx / 2, nx / 2 + 1, 600, nx - 2, nx - 1]) for (const iy of [0, 1, 255, nx / 2, nx / 2 + 7, 700, nx - 1]) testPixels.push([ix, iy]);

beforeAll(async () => { await initFft(); });

describe('w-stacking gridder vs direct DFT (3.5° field, 1.3–1.5 GHz, 2.5 km baselines)', () => {
  it('has realistic w (the w-term matters)', () => {
    let wmax = 0;
    for (let r = 0; r < input.nRow; r++) wmax = Math.max(wmax, Math.abs(input.uvw[3 * r + 2]) * 1.5e9 / C);
    const cornerNm1 = Math.sqrt(1 - 2 * (1.75 * DEG) ** 2) - 1;
    expect(wmax * Math.abs(cornerNm1)).toBeGreaterThan(1); // > 1 turn of phase at the corners
  });

  it('point-source images agree with the DFT to 1e-4 of the peak across the field incl. corners', async () => {
    // Two point sources, one near a corner: the image is then far from trivially symmetric.
    const r = rng(9);
    const y = new Float32Array(input.vis.length);
    const srcs = [{ f: 1, l: 0.3 * DEG, m: -0.2 * DEG }, { f: 0.7, l: -1.6 * DEG, m: 1.55 * DEG }];
    let peak = 0;
    for (let row = 0; row < input.nRow; row++) for (let c = 0; c < input.nChan; c++) {
      const k = row * input.nChan + c, w = input.weight[k] * (0.5 + r());
      if (w === 0) continue;
      const s = input.freq[c] / C;
      for (const src of srcs) {
        const ph = 2 * Math.PI * s * (input.uvw[3 * row] * src.l + input.uvw[3 * row + 1] * src.m + input.uvw[3 * row + 2] * (Math.sqrt(1 - src.l ** 2 - src.m ** 2) - 1));
        y[2 * k] += w * src.f * Math.cos(ph); y[2 * k + 1] += w * src.f * Math.sin(ph);
      }
      peak += w;
    }
    const plan = makeGridPlan(input, { nx, ny: nx, cellRad: cell }); // default kernel (W = 5)
    expect(plan.nPlanes).toBeGreaterThan(7);
    const img = gridToImage(plan, y);
    // also test the source pixels themselves
    const pix = [...testPixels, [Math.round(nx / 2 - srcs[1].l / cell), Math.round(nx / 2 + srcs[1].m / cell)] as [number, number]];
    let maxErr = 0;
    for (const [ix, iy] of pix) maxErr = Math.max(maxErr, Math.abs(img[iy * nx + ix] - dft(input, y, nx, cell, ix, iy)));
    expect(maxErr / peak).toBeLessThan(1e-4);
    // and without w-stacking the corner is clearly wrong (the test can fail)
    const plan2d = makeGridPlan(input, { nx, ny: nx, cellRad: cell }, { wStacking: false });
    const img2d = gridToImage(plan2d, y);
    const [cx, cy] = pix[pix.length - 1];
    expect(Math.abs(img2d[cy * nx + cx] - dft(input, y, nx, cell, cx, cy)) / peak).toBeGreaterThan(1e-2);
    // a wider kernel is more accurate still (W = 7: ~1e-7)
    const img7 = gridToImage(makeGridPlan(input, { nx, ny: nx, cellRad: cell }, { support: 7 }), y);
    let maxErr7 = 0;
    for (const [ix, iy] of pix.slice(-8)) maxErr7 = Math.max(maxErr7, Math.abs(img7[iy * nx + ix] - dft(input, y, nx, cell, ix, iy)));
    expect(maxErr7 / peak).toBeLessThan(1e-6);
  });

  it('PSF peak is 1 at the centre pixel and the dirty image of a 1 Jy source at a pixel centre peaks at 1 there', async () => {
    const g = { nx: 256, ny: 256, cellRad: cell * 3 };
    const psf = await psfImage(input, g);
    // default kernel W = 5: image-domain accuracy ~2e-5 of the peak
    expect(Math.abs(psf[128 * 256 + 128] - 1)).toBeLessThan(1e-4);
    let max = 0, arg = 0;
    for (let i = 0; i < psf.length; i++) if (psf[i] > max) { max = psf[i]; arg = i; }
    expect(arg).toBe(128 * 256 + 128);
    // 1 Jy at pixel (200, 60): l = −(200−128)·cell, m = (60−128)·cell
    const l = -(200 - 128) * g.cellRad, m = (60 - 128) * g.cellRad, nm1 = Math.sqrt(1 - l * l - m * m) - 1;
    const v = { ...input, vis: new Float32Array(input.vis.length) };
    for (let row = 0; row < input.nRow; row++) for (let c = 0; c < input.nChan; c++) {
      const ph = (2 * Math.PI * input.freq[c] / C) * (input.uvw[3 * row] * l + input.uvw[3 * row + 1] * m + input.uvw[3 * row + 2] * nm1);
      v.vis[2 * (row * input.nChan + c)] = Math.cos(ph); v.vis[2 * (row * input.nChan + c) + 1] = Math.sin(ph);
    }
    const d = await dirtyImage(v, g);
    expect(d[60 * 256 + 200]).toBeCloseTo(1, 4);
  });

  it('degridding is the adjoint of gridding: <G y, x> = <y, G* x>', () => {
    const g = { nx: 256, ny: 256, cellRad: cell * 3 };
    const plan = makeGridPlan(input, g);
    const r = rng(4);
    const y = new Float32Array(input.vis.length);
    for (let k = 0; k < input.nRow * input.nChan; k++) if (input.weight[k] > 0) { y[2 * k] = r() - 0.5; y[2 * k + 1] = r() - 0.5; }
    const x = new Float32Array(g.nx * g.ny);
    for (let i = 0; i < x.length; i++) x[i] = r() - 0.5;
    const Gy = gridToImage(plan, y);
    const Gtx = imageToVis(plan, x);
    let a = 0, b = 0, na = 0;
    for (let i = 0; i < x.length; i++) { a += Gy[i] * x[i]; na += Math.abs(Gy[i] * x[i]); }
    for (let k = 0; k < y.length; k++) b += y[k] * Gtx[k];
    expect(Math.abs(a - b) / na).toBeLessThan(1e-6);
  });

  it('predict of a single-pixel model equals the analytic visibility e^{+2πi(ul+vm+w(n−1))} (W = 7: 1e-4 per visibility)', () => {
    const g = { nx: 256, ny: 256, cellRad: cell * 3 };
    const plan = makeGridPlan(input, g, { support: 7 });
    const model = new Float32Array(256 * 256);
    const ix = 20, iy = 230;
    model[iy * 256 + ix] = 2;
    const v = imageToVis(plan, model);
    const l = -(ix - 128) * g.cellRad, m = (iy - 128) * g.cellRad, nm1 = Math.sqrt(1 - l * l - m * m) - 1;
    let maxErr = 0, n = 0;
    for (let row = 0; row < input.nRow; row += 7) for (let c = 0; c < input.nChan; c++) {
      const k = row * input.nChan + c;
      const sc = input.freq[c] / C;
      if (Math.abs(input.uvw[3 * row] * sc) > 0.4 / g.cellRad || Math.abs(input.uvw[3 * row + 1] * sc) > 0.4 / g.cellRad) continue;
      n++;
      const ph = (2 * Math.PI * input.freq[c] / C) * (input.uvw[3 * row] * l + input.uvw[3 * row + 1] * m + input.uvw[3 * row + 2] * nm1);
      maxErr = Math.max(maxErr, Math.abs(v[2 * k] - 2 * Math.cos(ph)), Math.abs(v[2 * k + 1] - 2 * Math.sin(ph)));
    }
    expect(n).toBeGreaterThan(100);
    expect(maxErr / 2).toBeLessThan(1e-4);
  });
});
