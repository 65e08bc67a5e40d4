import { describe, it, expect } from 'vitest';
import { inflateSync } from 'node:zlib';
import { encodePng, crc32, imageToPngThumbnail, zscaleLimits, percentileLimits } from '../../src/util/png.js';
import { renderPlot, renderPanels, plotSvg, niceTicks } from '../../src/util/plot.js';

interface Decoded { width: number; height: number; bitDepth: number; colorType: number; pixels: Uint8Array; chunks: string[] }

/** Minimal PNG decoder for tests: checks every CRC with zlib's crc32 semantics, un-filters rows. */
function decodePng(buf: Buffer): Decoded {
  expect(Array.from(buf.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let p = 8, width = 0, height = 0, bitDepth = 0, colorType = 0;
  const idat: Buffer[] = [];
  const chunks: string[] = [];
  while (p < buf.length) {
    const n = buf.readUInt32BE(p);
    const type = buf.toString('latin1', p + 4, p + 8);
    const data = buf.subarray(p + 8, p + 8 + n);
    expect(buf.readUInt32BE(p + 8 + n), `CRC of ${type}`).toBe(crc32(buf.subarray(p + 4, p + 8 + n)));
    chunks.push(type);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      bitDepth = data[8];
      colorType = data[9];
    } else if (type === 'IDAT') idat.push(data);
    p += 12 + n;
  }
  const ch = { 0: 1, 2: 3, 4: 2, 6: 4 }[colorType] as number;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * ch;
  const out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x];
      const a = x >= ch ? out[y * stride + x - ch] : 0;
      const b = y > 0 ? out[(y - 1) * stride + x] : 0;
      const c = x >= ch && y > 0 ? out[(y - 1) * stride + x - ch] : 0;
      let pred = 0;
      if (f === 1) pred = a;
      else if (f === 2) pred = b;
      else if (f === 3) pred = (a + b) >> 1;
      else if (f === 4) {
        const pp = a + b - c, pa = Math.abs(pp - a), pb = Math.abs(pp - b), pc = Math.abs(pp - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[y * stride + x] = (v + pred) & 0xff;
    }
  }
  return { width, height, bitDepth, colorType, pixels: out, chunks };
}

describe('encodePng', () => {
  it('CRC-32 matches the published values', () => {
    expect(crc32(Buffer.from('IEND'))).toBe(0xae426082); // every PNG ends with this CRC
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926); // the CRC-32 check value
  });
  it('round-trips RGBA, RGB, gray+alpha and gray pixels', () => {
    for (const ch of [1, 2, 3, 4] as const) {
      const w = 7, h = 5;
      const px = new Uint8Array(w * h * ch);
      for (let i = 0; i < px.length; i++) px[i] = (i * 37 + ch) & 0xff;
      const png = encodePng(w, h, px, ch);
      const d = decodePng(png);
      expect(d.chunks).toEqual(['IHDR', 'IDAT', 'IEND']);
      expect([d.width, d.height, d.bitDepth]).toEqual([w, h, 8]);
      expect(d.colorType).toBe({ 1: 0, 2: 4, 3: 2, 4: 6 }[ch]);
      expect(Array.from(d.pixels)).toEqual(Array.from(px));
    }
  });
  it('rejects a buffer of the wrong size', () => {
    expect(() => encodePng(4, 4, new Uint8Array(10), 4)).toThrow(/expected 64/);
  });
});

describe('stretch limits against astropy 5.2.1 (computed by hand, pasted)', () => {
  // x[i] = 2 sin(0.37 i) + 50·[i mod 97 = 0] + 1e-4 i, i < 5000, as float32.
  const x = new Float32Array(5000);
  for (let i = 0; i < 5000; i++) x[i] = Math.sin(i * 0.37) * 2 + (i % 97 === 0 ? 50 : 0) + i * 1e-4;
  it('zscale = ZScaleInterval().get_limits(x) = (−1.9861052, 10.268261527632696)', () => {
    const [lo, hi] = zscaleLimits(x);
    expect(lo).toBeCloseTo(-1.9861052, 5);
    expect(hi).toBeCloseTo(10.268261527632696, 4);
  });
  it('zscale on a 200-sample Gaussian + cosine = (−0.99995834, 10.867036)', () => {
    const y = new Float32Array(200);
    for (let i = 0; i < 200; i++) y[i] = Math.exp(-(((i - 100) / 20) ** 2)) * 10 + Math.cos(i);
    const [lo, hi] = zscaleLimits(y);
    expect(lo).toBeCloseTo(-0.99995834, 5);
    expect(hi).toBeCloseTo(10.867036, 4);
  });
  it('percentile 99.5 and 90 = PercentileInterval limits', () => {
    const a = percentileLimits(x, 99.5), b = percentileLimits(x, 90);
    expect(a[0]).toBeCloseTo(-1.9464153924584389, 5);
    expect(a[1]).toBeCloseTo(51.5061331367493, 4);
    expect(b[0]).toBeCloseTo(-1.7556160986423492, 5);
    expect(b[1]).toBeCloseTo(2.3025654792785644, 5);
  });
});

describe('imageToPngThumbnail', () => {
  it('north up (FITS row 0 at the bottom), NaN transparent, linear stretch', () => {
    const nx = 4, ny = 3;
    // Row 0 (bottom) = 0, row 1 = 50, row 2 (top) = 100; one NaN in the bottom row.
    const d = new Float32Array([0, 0, 0, NaN, 50, 50, 50, 50, 100, 100, 100, 100]);
    const png = decodePng(imageToPngThumbnail(d, nx, ny, { stretch: 'linear', percentile: 100 }));
    expect([png.width, png.height, png.colorType]).toEqual([4, 3, 4]);
    const g = (x: number, y: number): [number, number] => [png.pixels[(y * nx + x) * 2], png.pixels[(y * nx + x) * 2 + 1]];
    expect(g(0, 0)).toEqual([255, 255]); // top row of the PNG = brightest FITS row 2
    expect(g(0, 1)).toEqual([128, 255]);
    expect(g(0, 2)).toEqual([0, 255]);
    expect(g(3, 2)).toEqual([0, 0]); // NaN → transparent
    const black = decodePng(imageToPngThumbnail(d, nx, ny, { stretch: 'linear', percentile: 100, nan: 'black' }));
    expect(black.pixels[(2 * nx + 3) * 2 + 1]).toBe(255);
  });
  it('block-averages to maxSize, ignoring NaN', () => {
    const nx = 100, ny = 60;
    const d = new Float32Array(nx * ny);
    for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) d[y * nx + x] = x < 50 ? 0 : 1;
    d[0] = NaN; // inside a block: averaged away, not transparent
    const png = decodePng(imageToPngThumbnail(d, nx, ny, { maxSize: 25, stretch: 'linear', percentile: 100 }));
    expect([png.width, png.height]).toEqual([25, 15]);
    expect(png.pixels[(14 * 25 + 0) * 2 + 1]).toBe(255);
    expect(png.pixels[(14 * 25 + 0) * 2]).toBe(0);
    expect(png.pixels[(0 * 25 + 24) * 2]).toBe(255);
  });
  it('asinh stretch brightens faint levels relative to linear', () => {
    const d = new Float32Array(100);
    for (let i = 0; i < 100; i++) d[i] = i;
    const lin = decodePng(imageToPngThumbnail(d, 10, 10, { stretch: 'linear', percentile: 100 }));
    const as = decodePng(imageToPngThumbnail(d, 10, 10, { stretch: 'asinh', percentile: 100 }));
    // value 10 of 0..99: linear 10/99 → 26; asinh(t/0.1)/asinh(10) with t = 0.101 → 0.3001 → 77
    expect(lin.pixels[(8 * 10) * 2]).toBe(26); // PNG row 8 = FITS row 1 starts with value 10
    expect(as.pixels[(8 * 10) * 2]).toBe(Math.round((Math.asinh(10 / 99 / 0.1) / Math.asinh(10)) * 255));
  });
});

describe('plots', () => {
  it('nice ticks', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6000000000000001, 0.8, 1]);
    expect(niceTicks(1311, 1499, 4)).toEqual([1350, 1400, 1450]);
    expect(niceTicks(-3.2, 7.9, 5)).toEqual([-2, 0, 2, 4, 6]);
  });
  it('SVG has one marker per finite point, error bars, shade, labels', () => {
    const x = [1, 2, 3, 4, 5], y = [1, NaN, 3, 2, 5];
    const svg = plotSvg({ title: 'T<1>', xlabel: 'MJD', ylabel: 'Jy', series: [{ x, y, yerr: [0.1, 0.1, 0.1, 0.1, 0.1], style: 'points' }], shade: [2, 3] });
    expect(svg.match(/<circle /g)?.length).toBe(4);
    expect(svg).toContain('T&lt;1&gt;');
    expect(svg).toContain('>MJD</text>');
    expect(svg).toContain('rotate(-90');
    expect(svg).toContain('fill-opacity="0.25"');
  });
  it('renders a light curve and a panel grid to valid PNGs with the data colour drawn', () => {
    const x = Array.from({ length: 40 }, (_, i) => i);
    const png = decodePng(renderPlot({ title: 'lc', xlabel: 'x', ylabel: 'y', series: [{ x, y: x.map((v) => Math.sin(v / 5)), color: '#ff0000' }] }, { width: 400, height: 300 }));
    expect([png.width, png.height]).toEqual([400, 300]);
    const ch = png.colorType === 6 ? 4 : 3;
    let red = 0;
    for (let i = 0; i < png.pixels.length; i += ch) if (png.pixels[i] > 200 && png.pixels[i + 1] < 80 && png.pixels[i + 2] < 80) red++;
    expect(red).toBeGreaterThan(300); // the curve is drawn (≥ ~ its length in pixels)
    const panels = Array.from({ length: 6 }, (_, a) => ({ title: `ant ${a}`, series: [{ x, y: x.map((v) => v * a) }] }));
    const grid = decodePng(renderPanels(panels, { columns: 3, panelWidth: 200, panelHeight: 150, title: 'bandpass' }));
    expect([grid.width, grid.height]).toEqual([600, 2 * 150 + 34]);
  });
});
