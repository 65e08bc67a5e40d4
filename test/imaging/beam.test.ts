import { describe, expect, it } from 'vitest';
import { fitBeam, restore, gaussianImage } from '../../src/imaging/deconvolve.js';

const AS = Math.PI / 180 / 3600;

/** Gaussian PSF built independently of the library: x east = −(ix−cx), y north = iy−cy, PA from north through east. */
function gaussPsf(nx: number, cell: number, bmaj: number, bmin: number, bpaDeg: number, sidelobe = 0): Float32Array {
  const out = new Float32Array(nx * nx);
  const pa = (bpaDeg * Math.PI) / 180;
  const sMaj = bmaj / (2 * Math.sqrt(2 * Math.LN2)), sMin = bmin / (2 * Math.sqrt(2 * Math.LN2));
  for (let iy = 0; iy < nx; iy++) for (let ix = 0; ix < nx; ix++) {
    const x = -(ix - nx / 2) * cell, y = (iy - nx / 2) * cell;
    const a = x * Math.sin(pa) + y * Math.cos(pa), b = x * Math.cos(pa) - y * Math.sin(pa);
    const r = Math.hypot(x, y) / bmaj;
    out[iy * nx + ix] = Math.exp(-0.5 * ((a / sMaj) ** 2 + (b / sMin) ** 2)) + (r > 2 ? sidelobe * Math.cos(3 * r) : 0);
  }
  return out;
}

describe('restoring beam fit', () => {
  for (const [bmaj, bmin, bpa] of [[40, 20, 30], [33, 18, -55], [25, 25, 0], [50, 15, 89]] as const) {
    it(`recovers bmaj ${bmaj}″, bmin ${bmin}″, bpa ${bpa}° (east of north)`, () => {
      const cell = 4 * AS;
      const psf = gaussPsf(128, cell, bmaj * AS, bmin * AS, bpa, 0.2);
      const b = fitBeam(psf, 128, 128, cell);
      expect(b.bmajRad / AS).toBeCloseTo(bmaj, 2);
      expect(b.bminRad / AS).toBeCloseTo(bmin, 2);
      if (bmaj !== bmin) {
        let d = b.bpaDeg - bpa;
        while (d > 90) d -= 180; while (d <= -90) d += 180;
        expect(Math.abs(d)).toBeLessThan(0.01);
      }
    });
  }

  it('BPA +30° means the beam extends towards north-east, i.e. towards smaller ix and larger iy', () => {
    const cell = 4 * AS;
    const psf = gaussPsf(128, cell, 60 * AS, 15 * AS, 30);
    const b = fitBeam(psf, 128, 128, cell);
    expect(b.bpaDeg).toBeCloseTo(30, 2);
    // NE along 30°: east offset = r·sin30 → ix = 64 − 5, north = r·cos30 → iy = 64 + 8.66 ≈ 9
    expect(psf[(64 + 9) * 128 + (64 - 5)]).toBeGreaterThan(psf[(64 + 9) * 128 + (64 + 5)] * 5);
  });

  it('restoring a 2 Jy component gives a 2 Jy/beam peak with the beam shape', () => {
    const cell = 4 * AS, n = 64;
    const beam = { bmajRad: 30 * AS, bminRad: 20 * AS, bpaDeg: 20 };
    const model = new Float32Array(n * n);
    model[40 * n + 25] = 2;
    const img = restore(model, new Float32Array(n * n), n, n, beam, cell);
    expect(img[40 * n + 25]).toBeCloseTo(2, 6);
    const g = gaussianImage(beam, n, n, cell);
    const ref = gaussPsf(n, cell, 30 * AS, 20 * AS, 20);
    for (const k of [0, 100, 32 * n + 30, 35 * n + 33]) expect(g[k]).toBeCloseTo(ref[k], 5);
    expect(img[(40 + 3) * n + 25 - 2]).toBeCloseTo(2 * ref[(32 + 3) * n + 32 - 2], 5);
  });
});
