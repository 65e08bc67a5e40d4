import { beforeAll, describe, expect, it } from 'vitest';
import { fft2d, goodFftSize, initFft, Fft1d } from '../../src/imaging/fft.js';

beforeAll(async () => { await initFft(); });

describe('goodFftSize', () => {
  it('returns the smallest 2^a3^b5^c multiple of 16 at or above n', () => {
    expect(goodFftSize(1)).toBe(16);
    expect(goodFftSize(1000)).toBe(1024);
    expect(goodFftSize(4097)).toBe(4320); // 4320 = 2^5·3^3·5
    expect(goodFftSize(6000)).toBe(6000); // 2^4·3·5^3
    expect(goodFftSize(8192)).toBe(8192);
  });
});

describe('fft2d', () => {
  it('matches a direct 2-D DFT (forward sign e^{-2πi…}) and round-trips', () => {
    const nx = 48, ny = 32;
    const a = new Float32Array(2 * nx * ny);
    for (let i = 0; i < a.length; i++) a[i] = Math.sin(1.7 * i) + 0.3 * Math.cos(0.37 * i * i);
    const b = Float32Array.from(a);
    fft2d(b, nx, ny, -1);
    let maxErr = 0;
    for (const [kx, ky] of [[0, 0], [3, 5], [47, 31], [17, 2]]) {
      let sr = 0, si = 0;
      for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) {
        const ph = -2 * Math.PI * (kx * x / nx + ky * y / ny);
        const re = a[2 * (y * nx + x)], im = a[2 * (y * nx + x) + 1];
        sr += re * Math.cos(ph) - im * Math.sin(ph);
        si += re * Math.sin(ph) + im * Math.cos(ph);
      }
      const k = 2 * (ky * nx + kx);
      maxErr = Math.max(maxErr, Math.abs(b[k] - sr), Math.abs(b[k + 1] - si));
    }
    expect(maxErr).toBeLessThan(1e-3);
    fft2d(b, nx, ny, 1);
    for (let i = 0; i < a.length; i += 37) expect(b[i] / (nx * ny)).toBeCloseTo(a[i], 4);
  });

  it('rejects lengths PFFFT cannot do', () => {
    expect(() => new Fft1d(40)).toThrow();
  });
});
