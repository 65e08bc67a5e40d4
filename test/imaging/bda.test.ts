import { describe, expect, it } from 'vitest';
import { averageBaselineDependent, bdaField, bdaMaxBandwidth } from '../../src/imaging/bda.js';
import { imageVisibilities } from '../../src/imaging/imager.js';
import { addPointSources, arrayUvw, channels, emptyVis, randomArray } from '../../src/imaging/simulate.js';

const DEG = Math.PI / 180;
const C = 299792458;

describe('baseline-dependent frequency averaging', () => {
  it('the chunk width keeps the worst-case decorrelation at the requested loss (sinc(φ/2), φ = 2π(b·s)Δν/c)', () => {
    // 1 Jy at the image corner s = (l_max, m_max, n−1) on a baseline (u, v, w) = (200, −150, 40) m:
    // the mean of e^{2πi (b·s) ν/c} over a chunk of the allowed width, finely sampled, must be ≈ 1 − L.
    const f = bdaField(400, 300, 30 / 3600 * DEG), L = 0.01;
    const [u, v, w] = [200, -150, 40];
    const bs = u * f.lMax - v * f.mMax - w * f.nm1Max; // the corner (l_max, −m_max) maximises |b·s|
    const bw = bdaMaxBandwidth(Math.abs(u) * f.lMax + Math.abs(v) * f.mMax + Math.abs(w) * f.nm1Max, L);
    const b = bs, theta = 1;
    let sr = 0, si = 0;
    const n = 4096;
    for (let k = 0; k < n; k++) {
      const nu = 1.4e9 + ((k + 0.5) / n) * bw;
      const ph = (2 * Math.PI * b * theta * nu) / C;
      sr += Math.cos(ph); si += Math.sin(ph);
    }
    const amp = Math.hypot(sr, si) / n;
    expect(1 - amp).toBeGreaterThan(0.0095);
    expect(1 - amp).toBeLessThan(0.0101);
    // a 400 m E-W baseline, 244 kHz channels, 4096² 3″ image (l_max = 1.71°): c·√0.24/(2π·400·0.02979) = 1.96 MHz = 8 channels
    const f4 = bdaField(4096, 4096, (3 / 3600) * DEG);
    expect(Math.floor(bdaMaxBandwidth(400 * f4.lMax, 0.01) / 244140.625)).toBe(8);
  });

  it('averages with the imaging weights at the weight-centroid frequency, dropping empty chunks', () => {
    const uvw = new Float64Array([1, 0, 0, 2000, 0, 0]); // a 1 m and a 2 km baseline (28.6 MHz channels)
    const freq = channels(8, 1.3e9, 1.5e9);
    const input = emptyVis(uvw, freq);
    for (let k = 0; k < 16; k++) { input.vis[2 * k] = k; input.vis[2 * k + 1] = -k; }
    const w = new Float32Array(16).fill(1);
    w[3] = 0; w[1] = 3;
    const r = averageBaselineDependent(input, w, bdaField(512, 512, (14 / 3600) * DEG), 0.01);
    // the short baseline collapses to one visibility; the long one stays per channel
    expect(r.input.nRow).toBe(1 + 8);
    expect(r.input.nChan).toBe(1);
    expect(r.nIn).toBe(15);
    const sw = 1 + 3 + 1 + 1 + 1 + 1 + 1; // channels 0..7 with w[1] = 3, w[3] = 0
    expect(r.weights[0]).toBeCloseTo(sw, 6);
    const vbar = (0 + 3 * 1 + 2 + 4 + 5 + 6 + 7) / sw;
    expect(r.input.vis[0]).toBeCloseTo(vbar, 5);
    expect(r.input.vis[1]).toBeCloseTo(-vbar, 5);
    const fbar = (freq[0] + 3 * freq[1] + freq[2] + freq[4] + freq[5] + freq[6] + freq[7]) / sw;
    expect(r.input.uvw[0]).toBeCloseTo(fbar / C, 9); // wavelengths at ν̄
    expect(r.input.uvw[3 * 1]).toBeCloseTo((2000 * freq[0]) / C, 9);
    expect(r.input.freq[0]).toBe(C);
  });

  it('the averaged data give the same image within 1 % of the peak, incl. a source at the field edge', async () => {
    // a 400 m × 300 m array, 64 DSA-110 channels of 244 kHz, 3.4° field
    const enu = randomArray(24, 400, 300, 5);
    const uvw = arrayUvw(enu, 37 * DEG, 55 * DEG, [-0.3, 0, 0.3].map((x) => x * DEG));
    const input = emptyVis(uvw, channels(64, 1.311e9, 1.311e9 + 63 * 244140.625), 1);
    const nx = 256, cell = (3.4 * DEG) / nx;
    const edge: [number, number] = [nx / 2 + 118, nx / 2 - 110]; // ~2.2° from the centre
    addPointSources(input, [
      { flux: 1, l: 0, m: 0 },
      { flux: 1, l: -(edge[0] - nx / 2) * cell, m: (edge[1] - nx / 2) * cell },
    ]);
    const opts = { nx, cellRad: cell, niter: 0, weighting: 'natural' as const, threads: 1 };
    const on = await imageVisibilities(input, { ...opts });
    const off = await imageVisibilities(input, { ...opts, bdaMaxLoss: null });
    expect(on.nGridded).toBeLessThan(off.nGridded / 3); // the averaging did happen
    expect(off.nGridded).toBe(input.nRow * input.nChan);
    const pe = edge[1] * nx + edge[0];
    expect(off.image[pe]).toBeGreaterThan(0.9);
    expect(Math.abs(on.image[pe] / off.image[pe] - 1)).toBeLessThan(0.01);
    let maxDiff = 0;
    for (let i = 0; i < nx * nx; i++) maxDiff = Math.max(maxDiff, Math.abs(on.image[i] - off.image[i]));
    expect(maxDiff).toBeLessThan(0.01);
  });
});
