/**
 * Forced photometry on a plate-carrée (CAR) mosaic grid: the RA pixel of such a grid is cos δ
 * narrower on the sky than CDELT1, differently at every δ. Sources drawn as the restoring beam
 * on the sky (through the exact world coordinates of every pixel) must come back at their flux.
 */
import { describe, expect, it } from 'vitest';
import { Wcs } from '../../src/astro/wcs.js';
import { pixelBeam, pixelBeamFromJacobian } from '../../src/photometry/beam.js';
import { forcedPhotometry } from '../../src/photometry/measure.js';
import { skyJacobian } from '../../src/photometry/pipeline.js';

const D2R = Math.PI / 180, AS = D2R / 3600;

describe('forced photometry on a CAR strip at dec +55°', () => {
  const cell = 10 / 3600, nx = 500, ny = 500;
  const wcs = new Wcs({ ctype: ['RA---CAR', 'DEC--CAR'], crpix: [nx / 2 + 1, 1 - 55 / cell + ny / 2], crval: [150, 0], cdelt: [-cell / Math.cos(55 * D2R), cell], pc: [1, 0, 0, 1] });
  const bmaj = 45 * AS, bmin = 25 * AS, bpa = 30;
  const pa = bpa * D2R, sM = bmaj / 2.3548, sm = bmin / 2.3548;
  const srcs = [
    { x: 250.3, y: 250.2, f: 1.0 }, { x: 100.7, y: 60.4, f: 0.5 }, { x: 410.2, y: 440.6, f: 0.8 }, { x: 60.5, y: 420.1, f: 0.3 },
  ].map((s) => { const w = wcs.pixelToWorld(s.x, s.y); return { ...s, ra: w.lon, dec: w.lat }; });
  // the image: each source is the beam evaluated at the pixels' true sky offsets (direction cosines about the source)
  const data = new Float32Array(nx * ny);
  for (let iy = 0; iy < ny; iy++) for (let ix = 0; ix < nx; ix++) {
    const p = wcs.pixelToWorld(ix, iy);
    let v = 0;
    for (const s of srcs) {
      const da = p.lon - s.ra;
      const e = Math.cos(p.lat) * Math.sin(da), n = Math.sin(p.lat) * Math.cos(s.dec) - Math.cos(p.lat) * Math.sin(s.dec) * Math.cos(da);
      const u = e * Math.sin(pa) + n * Math.cos(pa), w = e * Math.cos(pa) - n * Math.sin(pa);
      v += s.f * Math.exp(-0.5 * ((u / sM) ** 2 + (w / sm) ** 2));
    }
    data[iy * nx + ix] = v;
  }
  const img = { data, nx, ny };
  const xs = Float64Array.from(srcs, (s) => s.x), ys = Float64Array.from(srcs, (s) => s.y);
  const [cx, cy] = wcs.cellDeg;
  const refBeam = pixelBeam(bmaj, bmin, bpa, { pixelScaleRad: [cx * D2R, cy * D2R], eastSign: -1 });

  it('with the local beam (skyJacobian) every flux is within 0.5 %', () => {
    const r = forcedPhotometry(img, xs, ys, { beam: refBeam, beamAt: (x, y) => pixelBeamFromJacobian(bmaj, bmin, bpa, skyJacobian(wcs, x, y)) });
    srcs.forEach((s, i) => expect(Math.abs(r.flux[i]! / s.f - 1), `source ${i}`).toBeLessThan(0.005));
  });

  it('with the reference pixel scale (CDELT) the fluxes were > 10 % high', () => {
    const r = forcedPhotometry(img, xs, ys, { beam: refBeam });
    srcs.forEach((s, i) => expect(r.flux[i]! / s.f, `source ${i}`).toBeGreaterThan(1.1));
  });

  it('the Jacobian of a SIN image at its centre is (−cell, 0, 0, cell): the reference beam', () => {
    const sin = new Wcs({ ctype: ['RA---SIN', 'DEC--SIN'], crpix: [101, 101], crval: [150, 55], cdelt: [-cell, cell], pc: [1, 0, 0, 1] });
    const J = skyJacobian(sin, 100, 100);
    expect(J[0] / (cell * D2R)).toBeCloseTo(-1, 9); expect(J[3] / (cell * D2R)).toBeCloseTo(1, 9);
    expect(Math.abs(J[1]) + Math.abs(J[2])).toBeLessThan(1e-12);
    const a = pixelBeamFromJacobian(bmaj, bmin, bpa, J), b = pixelBeam(bmaj, bmin, bpa, { pixelScaleRad: cell * D2R });
    expect(a.a).toBeCloseTo(b.a, 9); expect(a.b).toBeCloseTo(b.b, 9); expect(a.c).toBeCloseTo(b.c, 9);
  });
});
