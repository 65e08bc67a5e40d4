import { describe, expect, it } from 'vitest';
import { hogbom } from '../../src/imaging/deconvolve.js';
import { gaussian, rng } from '../../src/imaging/simulate.js';

/** Brute-force Högbom: global |peak| search over the (masked) image every iteration. */
function naive(res: Float32Array, model: Float32Array, psf: Float32Array, nx: number, ny: number, gain: number, stopAt: number, maxIter: number, ph: number, mask?: Uint8Array): number {
  let it = 0;
  for (; it < maxIter; it++) {
    let best = -1, arg = -1;
    for (let i = 0; i < res.length; i++) if ((!mask || mask[i]) && Math.abs(res[i]) > best) { best = Math.abs(res[i]); arg = i; }
    if (best < stopAt) break;
    const by = Math.floor(arg / nx), bx = arg % nx, f = gain * res[arg];
    model[arg] += f;
    for (let iy = Math.max(0, by - ph, by - ny / 2); iy <= Math.min(ny - 1, by + ph - 1, by + ny / 2 - 1); iy++)
      for (let ix = Math.max(0, bx - ph, bx - nx / 2); ix <= Math.min(nx - 1, bx + ph - 1, bx + nx / 2 - 1); ix++)
        res[iy * nx + ix] -= f * psf[(iy - by + ny / 2) * nx + ix - bx + nx / 2];
  }
  return it;
}

describe('Högbom minor cycle (block-maximum bookkeeping)', () => {
  for (const masked of [false, true]) it(`matches a brute-force global peak search${masked ? ' with a mask' : ''}`, () => {
    const nx = 300, ny = 200; // not multiples of the 128-pixel block
    const g = gaussian(rng(3));
    const psf = new Float32Array(nx * ny);
    for (let iy = 0; iy < ny; iy++) for (let ix = 0; ix < nx; ix++) {
      const x = ix - nx / 2, y = iy - ny / 2;
      psf[iy * nx + ix] = Math.exp(-(x * x + 0.5 * y * y) / 8) + 0.05 * Math.cos(x / 3) * Math.exp(-(x * x + y * y) / 4000);
    }
    const res = new Float32Array(nx * ny);
    for (let i = 0; i < res.length; i++) res[i] = 0.01 * g();
    for (const [x, y, f] of [[20, 30, 1], [280, 190, -0.7], [150, 100, 0.5], [140, 5, 0.3]]) res[y * nx + x] += f;
    const mask = masked ? new Uint8Array(nx * ny).map((_, i) => (i % nx > 100 ? 1 : 0)) : undefined;
    const r1 = Float32Array.from(res), m1 = new Float32Array(nx * ny);
    const r2 = Float32Array.from(res), m2 = new Float32Array(nx * ny);
    const out = hogbom(r1, m1, psf, nx, ny, { gain: 0.1, stopAt: 0.02, maxIter: 400, mask, psfHalf: 60 });
    const it2 = naive(r2, m2, psf, nx, ny, 0.1, 0.02, 400, 60, mask);
    expect(out.iterations).toBe(it2);
    expect(out.iterations).toBeGreaterThan(20);
    let bad = 0;
    for (let i = 0; i < nx * ny; i++) if (m1[i] !== m2[i] || r1[i] !== r2[i]) bad++;
    expect(bad).toBe(0);
  });
});
