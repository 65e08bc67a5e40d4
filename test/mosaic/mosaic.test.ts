import { describe, it, expect } from 'vitest';
import { Wcs, makeSinWcs, galacticToIcrs } from '../../src/astro/wcs.js';
import {
  reproject, planMosaicGrid, LinearMosaic, buildLinearMosaic, pbResponse, estimateNoise, CoarseMap, ExactMapper, footprintBox,
} from '../../src/mosaic/index.js';
import { localNoiseMap, estimateNoiseInBeam } from '../../src/mosaic/linear.js';

const D2R = Math.PI / 180;

/** Analytic sky: Gaussians defined on the sphere (true angular separation), in ICRS. */
const SOURCES: Array<[number, number, number, number]> = [
  // ra deg, dec deg, peak, sigma arcsec
  [150.0, 55.0, 1.0, 60],
  [150.25, 55.1, 0.7, 45],
  [149.8, 54.85, 0.4, 80],
  [150.1, 54.75, 0.9, 50],
];
function sky(raRad: number, decRad: number): number {
  let v = 0;
  for (const [ra, dec, a, sig] of SOURCES) {
    const r0 = ra * D2R, d0 = dec * D2R;
    const c = Math.sin(decRad) * Math.sin(d0) + Math.cos(decRad) * Math.cos(d0) * Math.cos(raRad - r0);
    const sep = Math.acos(Math.min(1, c)) / D2R * 3600;
    v += a * Math.exp(-0.5 * (sep / sig) ** 2);
  }
  return v;
}
function render(wcs: Wcs, nx: number, ny: number): Float32Array {
  const out = new Float32Array(nx * ny);
  for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) {
    const p = wcs.pixelToWorld(x, y);
    out[y * nx + x] = sky(p.lon, p.lat);
  }
  return out;
}

// Source image: SIN at (150, 55), 20″ cells, 160² (0.9°): Gaussians are 2.2–4 pixels σ.
const SRC_N = 160;
const srcWcs = makeSinWcs({ raDeg: 150, decDeg: 55, cellDeg: 20 / 3600, nx: SRC_N, ny: SRC_N });
const srcData = render(srcWcs, SRC_N, SRC_N);

function compare(dstWcs: Wcs, nx: number, ny: number, interp: 'bilinear' | 'cubic'): { maxErr: number; inside: number; nanOk: boolean } {
  const r = reproject({ data: srcData, nx: SRC_N, ny: SRC_N, wcs: srcWcs }, { nx, ny, wcs: dstWcs }, interp);
  const mapper = new ExactMapper(srcWcs, dstWcs);
  const one = (a: number): Float64Array => Float64Array.of(a);
  let maxErr = 0, inside = 0, nanOk = true;
  for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) {
    const ox = new Float64Array(1), oy = new Float64Array(1);
    mapper.map(one(x), one(y), ox, oy);
    const v = r.data[y * nx + x];
    const isInside = ox[0] >= 0 && ox[0] <= SRC_N - 1 && oy[0] >= 0 && oy[0] <= SRC_N - 1;
    // Pixels within 1e-3 px of the edge may go either way (mapping tolerance).
    const nearEdge = Math.min(Math.abs(ox[0]), Math.abs(oy[0]), Math.abs(ox[0] - SRC_N + 1), Math.abs(oy[0] - SRC_N + 1)) < 2e-3;
    if (!nearEdge && isInside !== Number.isFinite(v)) nanOk = false;
    if (!isInside || !Number.isFinite(v)) continue;
    // Interior only for cubic (edge clamping), 2 px margin.
    if (interp === 'cubic' && (ox[0] < 2 || oy[0] < 2 || ox[0] > SRC_N - 3 || oy[0] > SRC_N - 3)) continue;
    inside++;
    const p = dstWcs.pixelToWorld(x, y);
    // Galactic grids: back to ICRS (conversion checked against astropy in wcs.test.ts).
    const [ra, dec] = dstWcs.frame === 'galactic' ? galacticToIcrs(p.lon, p.lat) : [p.lon, p.lat];
    maxErr = Math.max(maxErr, Math.abs(v - sky(ra, dec)));
  }
  return { maxErr, inside, nanOk };
}

describe('reproject against an analytic sky evaluated directly on the output grid', () => {
  // Output grids: rotated TAN (CD matrix) at another centre and finer cell; CAR; Galactic SIN.
  const tan = new Wcs({ ctype: ['RA---TAN', 'DEC--TAN'], crpix: [60.5, 50.5], crval: [150.05, 54.95], cdelt: [1, 1],
    pc: [-15 / 3600 * Math.cos(0.5), 15 / 3600 * Math.sin(0.5), 15 / 3600 * Math.sin(0.5), 15 / 3600 * Math.cos(0.5)] });
  const car = new Wcs({ ctype: ['RA---CAR', 'DEC--CAR'], crpix: [70, -7859], crval: [150, 0], cdelt: [-25 / 3600 / Math.cos(55 * D2R), 25 / 3600], pc: [1, 0, 0, 1] });
  // (150°, 55°) ICRS is (l, b) = (158.9154°, 48.3925°) (astropy); centred only approximately.
  const gal = new Wcs({ ctype: ['GLON-SIN', 'GLAT-SIN'], crpix: [70, 70], crval: [158.9, 48.4], cdelt: [-20 / 3600, 20 / 3600], pc: [1, 0, 0, 1] });
  const grids: Array<[string, Wcs, number, number]> = [['rotated TAN', tan, 130, 110], ['CAR', car, 140, 120], ['Galactic SIN', gal, 140, 140]];
  for (const [name, w, nx, ny] of grids) {
    it(`${name}: bilinear error < 4 % of peak, cubic < 0.5 %, NaN exactly outside the source`, () => {
      const b = compare(w, nx, ny, 'bilinear');
      const c = compare(w, nx, ny, 'cubic');
      if (process.env.MOSAIC_TEST_VERBOSE) console.log(name, b, c);
      expect(b.inside).toBeGreaterThan(1000);
      expect(c.inside).toBeGreaterThan(1000);
      // Bilinear interpolation of a Gaussian of σ ≥ 2.2 px: error ≲ h²|f''|/8 per axis ≈ 2.6 %, ×2 in 2-D.
      expect(b.maxErr).toBeLessThan(0.04);
      expect(c.maxErr).toBeLessThan(0.005);
      expect(c.maxErr).toBeLessThan(b.maxErr);
      expect(b.nanOk).toBe(true);
    });
  }
  it('the identity grid reproduces the input (to float32 rounding)', () => {
    const r = reproject({ data: srcData, nx: SRC_N, ny: SRC_N, wcs: srcWcs }, { nx: SRC_N, ny: SRC_N, wcs: srcWcs }, 'cubic');
    let m = 0;
    for (let i = 0; i < srcData.length; i++) m = Math.max(m, Math.abs(r.data[i] - srcData[i]));
    expect(m).toBeLessThan(1e-5);
  });
  it('a grid that misses the source is all NaN', () => {
    const far = makeSinWcs({ raDeg: 10, decDeg: -30, cellDeg: 20 / 3600, nx: 20, ny: 20 });
    const r = reproject({ data: srcData, nx: SRC_N, ny: SRC_N, wcs: srcWcs }, { nx: 20, ny: 20, wcs: far });
    expect(r.data.every((v) => Number.isNaN(v))).toBe(true);
  });
});

describe('coarse pixel mapping accuracy (DSA-110 scale)', () => {
  it('4096² SIN at dec 55° → CAR strip: interpolated mapping within 1e-3 px of exact', () => {
    const inp = { wcs: makeSinWcs({ raDeg: 200, decDeg: 55, cellDeg: 3 / 3600, nx: 4096, ny: 4096 }), nx: 4096, ny: 4096 };
    const other = { wcs: makeSinWcs({ raDeg: 215, decDeg: 55, cellDeg: 3 / 3600, nx: 4096, ny: 4096 }), nx: 4096, ny: 4096 };
    const grid = planMosaicGrid([inp, other]);
    expect(grid.projection).toBe('CAR');
    const box = footprintBox(inp, grid)!;
    const m = new CoarseMap(inp.wcs, grid.wcs, box);
    expect(m.maxError).toBeLessThan(1e-3);
    expect(m.step).toBeGreaterThanOrEqual(8); // it is a coarse grid, not per-pixel
    // Independent check on every 97th row, every pixel that lands inside the source.
    const ex = new ExactMapper(inp.wcs, grid.wcs);
    const rx = new Float64Array(box.w), ry = new Float64Array(box.w);
    const xs = new Float64Array(box.w), ys = new Float64Array(box.w), ox = new Float64Array(box.w), oy = new Float64Array(box.w);
    let maxE = 0;
    for (let y = box.y0; y < box.y0 + box.h; y += 97) {
      m.row(y, rx, ry);
      for (let i = 0; i < box.w; i++) { xs[i] = box.x0 + i; ys[i] = y; }
      ex.map(xs, ys, ox, oy);
      for (let i = 0; i < box.w; i++) {
        if (ox[i] >= 0 && ox[i] <= 4095 && oy[i] >= 0 && oy[i] <= 4095) maxE = Math.max(maxE, Math.abs(ox[i] - rx[i]), Math.abs(oy[i] - ry[i]));
      }
    }
    expect(maxE).toBeLessThan(1e-3);
  });
});

describe('linear mosaic math', () => {
  const n = 8;
  const w = makeSinWcs({ raDeg: 30, decDeg: 20, cellDeg: 0.01, nx: n, ny: n });
  const grid = { nx: n, ny: n, wcs: w };
  const fill = (v: number): Float32Array => new Float32Array(n * n).fill(v);

  it('I = Σ wAI / Σ wA², σ = (Σ wA²)^−½ with known weights', () => {
    // Input 1: I=3, A=0.5, σ=1 (w=1). Input 2: I=1, A=1, σ=2 (w=0.25).
    // num = 1·0.5·3 + 0.25·1·1 = 1.75; den = 1·0.25 + 0.25·1 = 0.5 → I = 3.5, σ = √2.
    const m = new LinearMosaic(grid);
    m.add({ data: fill(3), nx: n, ny: n, wcs: w, pb: fill(0.5), sigma: 1 });
    m.add({ data: fill(1), nx: n, ny: n, wcs: w, pb: fill(1), sigma: 2 });
    const p = m.finish();
    for (let i = 0; i < n * n; i++) {
      expect(p.image[i]).toBeCloseTo(3.5, 5);
      expect(p.noise[i]).toBeCloseTo(Math.SQRT2, 5);
      expect(p.weight[i]).toBeCloseTo(0.5, 6);
    }
  });
  it('recovers the true sky from apparent (beam-attenuated) images and blanks below minPb × peak', () => {
    // True sky S = 2 everywhere; two pointings with beams varying across the grid in x.
    const S = 2;
    const a1 = new Float32Array(n * n), a2 = new Float32Array(n * n);
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) {
      a1[y * n + x] = 1 - x / n; // 1 … 0.125
      a2[y * n + x] = y === 0 ? 0 : 0.05; // tiny extra coverage, none in row 0
    }
    const i1 = a1.map((a) => a * S), i2 = a2.map((a) => a * S);
    const m = new LinearMosaic(grid);
    m.add({ data: i1, nx: n, ny: n, wcs: w, pb: a1, sigma: 1e-3 });
    m.add({ data: i2, nx: n, ny: n, wcs: w, pb: a2, sigma: 1e-3 });
    const p = m.finish({ minPb: 0.2 });
    const peak = 1e6 * (1 + 0.05 ** 2);
    expect(p.peakWeight).toBeCloseTo(peak, -1);
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) {
      const den = 1e6 * (a1[y * n + x] ** 2 + a2[y * n + x] ** 2);
      const v = p.image[y * n + x];
      if (den < 0.2 * peak) expect(Number.isNaN(v)).toBe(true);
      else {
        expect(v).toBeCloseTo(S, 5);
        expect(p.noise[y * n + x]).toBeCloseTo(1 / Math.sqrt(den), 8);
      }
    }
    // x ≤ 4 kept (A1 ≥ 0.5 → A² ≥ 0.25 > 0.2), x ≥ 5 blanked (A1 ≤ 0.375 → 0.14 < 0.2).
    expect(Number.isNaN(p.image[3 * n + 4])).toBe(false);
    expect(Number.isNaN(p.image[3 * n + 5])).toBe(true);
  });
  it('local noise maps: σ = (Σ w²A²s²)^½ / Σ wA², and (Σ wA²)^−½ again when s = σ', () => {
    // Input 1: A=0.5, σ=1, local s=3 (noisier than its σ says); input 2 (no map): A=1, σ=2.
    // Σ w²A²s² = 1·0.25·9 + 0.0625·1·4 = 2.5; Σ wA² = 0.5 → σ = √2.5 / 0.5.
    const m = new LinearMosaic(grid);
    m.add({ data: fill(3), nx: n, ny: n, wcs: w, pb: fill(0.5), sigma: 1, sigmaMap: fill(3) });
    m.add({ data: fill(1), nx: n, ny: n, wcs: w, pb: fill(1), sigma: 2 });
    const p = m.finish();
    // Same inputs, the map seen second and equal to σ: the flat-noise formula.
    const m2 = new LinearMosaic(grid);
    m2.add({ data: fill(1), nx: n, ny: n, wcs: w, pb: fill(1), sigma: 2 });
    m2.add({ data: fill(3), nx: n, ny: n, wcs: w, pb: fill(0.5), sigma: 1, sigmaMap: fill(1) });
    const p2 = m2.finish();
    for (let i = 0; i < n * n; i++) {
      expect(p.image[i]).toBeCloseTo(3.5, 5); // the image does not depend on the maps
      expect(p.noise[i]).toBeCloseTo(Math.sqrt(2.5) / 0.5, 5);
      expect(p2.noise[i]).toBeCloseTo(Math.SQRT2, 5);
    }
  });
  it('localNoiseMap follows a step in the noise; estimateNoiseInBeam measures inside the beam only', () => {
    // 256² Gaussian noise, σ = 1 on the left half and 3 on the right (Box–Muller, fixed LCG seed).
    const N = 256;
    let seed = 12345;
    const u = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) + 1) / 2147483649;
    const d = new Float32Array(N * N), pb = new Float32Array(N * N);
    for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) {
      const g = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
      d[y * N + x] = g * (x < N / 2 ? 1 : 3);
      pb[y * N + x] = x >= N / 2 ? 1 : 0.1;
    }
    const map = localNoiseMap(d, N, N, 48, NaN);
    // Away from the step (one box), the map is the local σ to the MAD's precision (~2300 pixels: ±2 % rms).
    for (const [x, s] of [[20, 1], [60, 1], [200, 3], [240, 3]] as const) {
      for (const y of [20, 128, 240]) expect(Math.abs(map[y * N + x] / s - 1), `(${x},${y})`).toBeLessThan(0.08);
    }
    expect(Math.abs(estimateNoiseInBeam(d, pb) / 3 - 1)).toBeLessThan(0.03);
    expect(estimateNoise(d)).toBeGreaterThan(1.2); // the image-wide value mixes both halves
    expect(estimateNoise(d)).toBeLessThan(2.8);
  });
  it('NaN input pixels contribute nothing; non-positive σ is an input error', () => {
    const d = fill(5);
    d[10] = NaN;
    const m = new LinearMosaic(grid);
    m.add({ data: d, nx: n, ny: n, wcs: w, pb: fill(1), sigma: 1 });
    m.add({ data: fill(1), nx: n, ny: n, wcs: w, pb: fill(1), sigma: 1 });
    const p = m.finish({ minPb: 0 });
    expect(p.image[10]).toBeCloseTo(1, 6);
    expect(p.image[11]).toBeCloseTo(3, 6);
    expect(() => new LinearMosaic(grid).add({ data: d, nx: n, ny: n, wcs: w, pb: fill(1), sigma: 0, name: 'x.fits' })).toThrow(/x.fits|σ/);
  });
  it('PB models: half power at FWHM/2; Airy first null at 1.185·FWHM', () => {
    const fw = 3.2;
    expect(pbResponse({ kind: 'gaussian', fwhmDeg: fw }, (fw / 2) * D2R)).toBeCloseTo(0.5, 12);
    expect(pbResponse({ kind: 'airy', fwhmDeg: fw }, (fw / 2) * D2R)).toBeCloseTo(0.5, 6);
    // First zero of J1 at 3.8317: sep = 3.8317 / (2 · 1.6163399) · FWHM.
    expect(pbResponse({ kind: 'airy', fwhmDeg: fw }, ((3.8317 / (2 * 1.6163399)) * fw) * D2R)).toBeLessThan(1e-8);
    expect(pbResponse({ kind: 'airy', fwhmDeg: fw }, 0)).toBe(1);
  });
  it('mosaic of two overlapping pointings of an analytic sky with a Gaussian PB model recovers the sky', async () => {
    const fwhm = 0.6;
    const mk = (ra: number) => makeSinWcs({ raDeg: ra, decDeg: 55, cellDeg: 20 / 3600, nx: 120, ny: 120 });
    const p1 = mk(149.8), p2 = mk(150.2);
    const grid2 = planMosaicGrid([{ wcs: p1, nx: 120, ny: 120 }, { wcs: p2, nx: 120, ny: 120 }]);
    expect(grid2.projection).toBe('SIN');
    const apparent = (wc: Wcs): Float32Array => {
      const out = render(wc, 120, 120);
      const c = wc.refLonLat;
      for (let y = 0; y < 120; y++) for (let x = 0; x < 120; x++) {
        const p = wc.pixelToWorld(x, y);
        const sep = Math.acos(Math.sin(p.lat) * Math.sin(c[1]) + Math.cos(p.lat) * Math.cos(c[1]) * Math.cos(p.lon - c[0]));
        out[y * 120 + x] *= pbResponse({ kind: 'gaussian', fwhmDeg: fwhm }, sep);
      }
      return out;
    };
    const loads = [p1, p2].map((wc) => async () => ({ data: apparent(wc), nx: 120, ny: 120, wcs: wc, pb: { kind: 'gaussian' as const, fwhmDeg: fwhm }, sigma: 1 }));
    const prod = await buildLinearMosaic(grid2, loads, { interp: 'cubic', minPb: 0.1 });
    expect(prod.used).toBe(2);
    let maxErr = 0, count = 0;
    for (let y = 0; y < grid2.ny; y++) for (let x = 0; x < grid2.nx; x++) {
      const v = prod.image[y * grid2.nx + x];
      if (!Number.isFinite(v)) continue;
      const p = grid2.wcs.pixelToWorld(x, y);
      maxErr = Math.max(maxErr, Math.abs(v - sky(p.lon, p.lat)));
      count++;
    }
    expect(count).toBeGreaterThan(5000);
    expect(maxErr).toBeLessThan(0.01);
  });
  it('estimateNoise: 1.4826·MAD of a known distribution', () => {
    // Deterministic uniform values on [−1, 1]: MAD = 0.5 → 0.7413.
    const d = new Float32Array(100001);
    for (let i = 0; i < d.length; i++) d[i] = -1 + (2 * i) / (d.length - 1);
    expect(estimateNoise(d)).toBeCloseTo(0.7413, 3);
  });
});

describe('planMosaicGrid (output world coordinates checked with astropy 5.2.1, by hand)', () => {
  it('a 12-image drift strip at dec 55° (11.8° long) gets a plate-carrée CAR grid', () => {
    const strip = Array.from({ length: 12 }, (_, k) => ({ wcs: makeSinWcs({ raDeg: 200 + k * 1.2875, decDeg: 55, cellDeg: 3 / 3600, nx: 4096, ny: 4096 }), nx: 4096, ny: 4096 }));
    const g = planMosaicGrid(strip);
    expect(g.projection).toBe('CAR');
    expect(g.cellDeg).toBeCloseTo(3 / 3600, 15);
    expect([g.nx, g.ny]).toEqual([14003, 4144]);
    expect(g.wcs.params.crpix).toEqual([7002, -63906]);
    expect(g.wcs.params.crval[0]).toBeCloseTo(207.08197642862032, 9);
    // astropy WCS(header).wcs_pix2world for this header (CRVAL1 207.08197642862032, CRVAL2 0,
    // CDELT1 −0.0014557979734054693, CDELT2 3″, CRPIX 7002, −63906):
    const cases: Array<[number, number, number, number]> = [
      [0, 0, 217.2740180404, 53.2558333333],
      [14028, 4143, 196.8520840695, 56.7083333333],
      [10000, 2000, 202.7160383064, 54.9225],
    ];
    for (const [x, y, ra, dec] of cases) {
      const [a, b] = g.wcs.pixelToWorldDeg(x, y);
      expect(Math.abs(a - ra) * 3600).toBeLessThan(0.01);
      expect(Math.abs(b - dec) * 3600).toBeLessThan(0.01);
    }
    // Covers every input: all input corners land inside the grid.
    for (const s of strip) for (const [x, y] of [[0, 0], [4095, 0], [0, 4095], [4095, 4095]]) {
      const w = s.wcs.pixelToWorld(x, y);
      const p = g.wcs.worldToPixel(w.lon, w.lat);
      expect(p.x).toBeGreaterThanOrEqual(0);
      expect(p.y).toBeGreaterThanOrEqual(0);
      expect(p.x).toBeLessThanOrEqual(g.nx - 1);
      expect(p.y).toBeLessThanOrEqual(g.ny - 1);
    }
  });
  it('a compact field (2.5°) gets SIN at the mean direction with the finest cell', () => {
    const field = ([[150, 40], [151.5, 40.5], [150.7, 41.6]] as const).map(([r, d], i) => ({
      wcs: makeSinWcs({ raDeg: r, decDeg: d, cellDeg: (i === 1 ? 2 : 3) / 3600, nx: 1024, ny: 1024 }), nx: 1024, ny: 1024,
    }));
    const g = planMosaicGrid(field);
    expect(g.projection).toBe('SIN');
    expect(g.cellDeg).toBeCloseTo(2 / 3600, 15);
    expect([g.nx, g.ny]).toEqual([3357, 4425]);
    expect(g.wcs.params.crpix).toEqual([1571, 2037]);
    // astropy for CRVAL (150.73218704829355, 40.70125378864872), CDELT ∓2″, CRPIX (1571, 2037):
    const cases: Array<[number, number, number, number]> = [
      [0, 0, 151.8636816848, 39.5644515986],
      [1570, 2036, 150.7321870483, 40.7012537886],
      [3356, 4424, 149.3964691213, 42.020494526],
      [100, 4000, 151.8275343238, 41.7873391946],
    ];
    for (const [x, y, ra, dec] of cases) {
      const [a, b] = g.wcs.pixelToWorldDeg(x, y);
      expect(Math.abs(a - ra) * 3600 * Math.cos(dec * D2R)).toBeLessThan(0.01);
      expect(Math.abs(b - dec) * 3600).toBeLessThan(0.01);
    }
  });
});
