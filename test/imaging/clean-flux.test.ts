/**
 * Regression for CLEAN losing flux / diverging on a sparse snapshot array (DSA-110-like: far
 * sidelobes ~0.3–0.4 hundreds of pixels out). Noise-free point sources, one at the phase centre
 * and one 0.3° off; natural, uniform and Briggs 0. Truth is the simulated flux itself.
 */
import { describe, expect, it } from 'vitest';
import { imageVisibilities, predict } from '../../src/imaging/imager.js';
import { addPointSources, arrayUvw, channels, emptyVis, randomArray } from '../../src/imaging/simulate.js';
import type { Weighting } from '../../src/imaging/weighting.js';

const DEG = Math.PI / 180;
const C = 299792458;
const enu = randomArray(20, 2000, 1000, 5);
const uvw = arrayUvw(enu, 37.23 * DEG, 55 * DEG, [-0.6, -0.3, 0, 0.3, 0.6].map((x) => x * DEG));
const freq = channels(4, 1.40e9, 1.48e9);
const nx = 384, cell = (7 / 3600) * DEG;
// pixel offsets: centre and ~0.3° off (154 px ≈ 0.3°)
const truth: [number, number, number][] = [[nx / 2, nx / 2, 1.5], [nx / 2 + 110, nx / 2 - 108, 0.8]];
const lm = (ix: number, iy: number): [number, number] => [-(ix - nx / 2) * cell, (iy - nx / 2) * cell];

describe('predict of a 1 Jy delta matches the analytic visibilities', () => {
  it.each(truth.map(([ix, iy]) => [ix, iy]))('pixel (%i, %i)', async (ix, iy) => {
    const input = emptyVis(uvw, freq, 1);
    const model = new Float32Array(nx * nx);
    model[iy * nx + ix] = 1;
    const V = await predict(input, { nx, ny: nx, cellRad: cell }, model);
    const [l, m] = lm(ix, iy);
    const n1 = Math.sqrt(1 - l * l - m * m) - 1;
    let maxErr = 0;
    for (let r = 0; r < input.nRow; r++) for (let c = 0; c < input.nChan; c++) {
      const s = freq[c] / C, u = uvw[3 * r] * s, v = uvw[3 * r + 1] * s, w = uvw[3 * r + 2] * s;
      const ph = 2 * Math.PI * (u * l + v * m + w * n1), k = r * input.nChan + c;
      maxErr = Math.max(maxErr, Math.hypot(V[2 * k] - Math.cos(ph), V[2 * k + 1] - Math.sin(ph)));
    }
    expect(maxErr).toBeLessThan(1e-3);
  });
});

describe('CLEAN recovers the flux of noise-free point sources on a sparse array', () => {
  it.each(['natural', 'uniform', 'briggs'] as Weighting[])('%s', async (weighting) => {
    const input = emptyVis(uvw, freq, 1);
    addPointSources(input, truth.map(([ix, iy, flux]) => { const [l, m] = lm(ix, iy); return { flux, l, m }; }));
    const res = await imageVisibilities(input, { nx, cellRad: cell, niter: 3000, weighting, robust: 0, threshold: 1e-4, autoMask: null, autoThreshold: null, bdaMaxLoss: null, threads: 1 });
    let total = 0;
    for (let i = 0; i < res.model.length; i++) total += res.model[i];
    for (const [ix, iy, flux] of truth) {
      let s = 0;
      for (let y = iy - 3; y <= iy + 3; y++) for (let x = ix - 3; x <= ix + 3; x++) s += res.model[y * nx + x];
      expect(Math.abs(s / flux - 1), `${weighting} model near (${ix}, ${iy}) = ${s}`).toBeLessThan(0.01);
    }
    expect(Math.abs(total / 2.3 - 1), `${weighting} total model ${total}`).toBeLessThan(0.01);
    let rpk = 0;
    for (const v of res.residual) rpk = Math.max(rpk, Math.abs(v));
    expect(rpk, `${weighting} residual peak`).toBeLessThan(0.005 * 1.5);
  }, 60_000);
});
