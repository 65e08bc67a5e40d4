/**
 * PNG encoding (node:zlib deflate, filter type 0 on every row) and radio-image thumbnails.
 */
import { deflateSync } from 'node:zlib';
import { DsaError } from './errors.js';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO 3309 / PNG), of the concatenation of the given byte arrays. */
export function crc32(...parts: Uint8Array[]): number {
  let c = 0xffffffff;
  for (const p of parts) for (let i = 0; i < p.length; i++) c = CRC_TABLE[(c ^ p[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** PNG colour types by channel count: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. */
const COLOR_TYPE: Record<number, number> = { 1: 0, 2: 4, 3: 2, 4: 6 };

/**
 * Encode 8-bit pixels (row 0 = top) as PNG. `pixels` holds width·height·channels bytes,
 * channels 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA).
 */
export function encodePng(width: number, height: number, pixels: Uint8Array, channels: 1 | 2 | 3 | 4 = 4): Buffer {
  if (!(width > 0 && height > 0 && Number.isInteger(width) && Number.isInteger(height))) {
    throw new DsaError(`PNG: bad size ${width}×${height}`);
  }
  if (!(channels in COLOR_TYPE)) throw new DsaError(`PNG: channels must be 1–4 (got ${channels})`);
  const stride = width * channels;
  if (pixels.length !== stride * height) {
    throw new DsaError(`PNG: pixel buffer has ${pixels.length} bytes, expected ${stride * height}`);
  }
  const raw = Buffer.alloc((stride + 1) * height); // each row: filter byte 0, then the row
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = COLOR_TYPE[channels];
  ihdr[10] = 0; // deflate
  ihdr[11] = 0; // adaptive filtering (each row chooses; we always use 0)
  ihdr[12] = 0; // no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 6 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** Finite values of `data`, subsampled with a regular stride to at most `max` values. */
function finiteSample(data: ArrayLike<number>, max: number): Float32Array {
  const stride = Math.max(1, Math.floor(data.length / max));
  const out = new Float32Array(Math.min(max, Math.ceil(data.length / stride)));
  let n = 0;
  for (let i = 0; i < data.length && n < out.length; i += stride) {
    const v = data[i];
    if (Number.isFinite(v)) out[n++] = v;
  }
  return out.subarray(0, n);
}

/**
 * IRAF zscale limits, a port of astropy.visualization.ZScaleInterval (defaults nSamples 1000,
 * contrast 0.25, maxReject 0.5, minNpixels 5, krej 2.5, maxIterations 5). Sampling: the finite
 * values at a regular stride (astropy samples the flattened array, then drops non-finite values,
 * so the two agree exactly for data without NaN).
 */
export function zscaleLimits(
  data: ArrayLike<number>,
  o: { nSamples?: number; contrast?: number; maxReject?: number; minNpixels?: number; krej?: number; maxIterations?: number } = {},
): [number, number] {
  const nSamples = o.nSamples ?? 1000, contrast = o.contrast ?? 0.25, maxReject = o.maxReject ?? 0.5;
  const minNpixels = o.minNpixels ?? 5, krej = o.krej ?? 2.5, maxIter = o.maxIterations ?? 5;
  // astropy: values = finite values; stride = int(max(1, size / n_samples)); samples = values[::stride][:n]
  let finite: Float64Array;
  {
    let n = 0;
    for (let i = 0; i < data.length; i++) if (Number.isFinite(data[i])) n++;
    finite = new Float64Array(n);
    n = 0;
    for (let i = 0; i < data.length; i++) if (Number.isFinite(data[i])) finite[n++] = data[i];
  }
  if (finite.length === 0) return [0, 1];
  const stride = Math.max(1, Math.floor(finite.length / nSamples));
  const samples = new Float64Array(Math.min(nSamples, Math.ceil(finite.length / stride)));
  for (let i = 0; i < samples.length; i++) samples[i] = finite[i * stride];
  samples.sort();
  const npix = samples.length;
  let vmin = samples[0], vmax = samples[npix - 1];
  const minpix = Math.max(minNpixels, Math.floor(npix * maxReject));
  const ngrow = Math.max(1, Math.floor(npix * 0.01));
  let bad = new Uint8Array(npix);
  let ngood = npix, lastNgood = npix + 1;
  let slope = 0;
  for (let it = 0; it < maxIter; it++) {
    if (ngood >= lastNgood || ngood < minpix) break;
    // Weighted least-squares line through (i, samples[i]) over good pixels.
    let sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (let i = 0; i < npix; i++) {
      if (bad[i]) continue;
      sw++;
      sx += i;
      sy += samples[i];
      sxx += i * i;
      sxy += i * samples[i];
    }
    const den = sw * sxx - sx * sx;
    slope = den !== 0 ? (sw * sxy - sx * sy) / den : 0;
    const icpt = (sy - slope * sx) / sw;
    // Standard deviation of the residuals of the good pixels (numpy std, ddof 0).
    let m = 0, m2 = 0, c = 0;
    const flat = new Float64Array(npix);
    for (let i = 0; i < npix; i++) {
      flat[i] = samples[i] - (icpt + slope * i);
      if (!bad[i]) {
        m += flat[i];
        c++;
      }
    }
    m /= c;
    for (let i = 0; i < npix; i++) if (!bad[i]) m2 += (flat[i] - m) ** 2;
    const thr = krej * Math.sqrt(m2 / c);
    for (let i = 0; i < npix; i++) if (flat[i] < -thr || flat[i] > thr) bad[i] = 1;
    // np.convolve(bad, ones(ngrow), mode='same'): dilate the mask.
    const grown = new Uint8Array(npix);
    const off = (ngrow - 1) >> 1;
    for (let i = 0; i < npix; i++) {
      const hi = i + off, lo = hi - ngrow + 1;
      for (let j = Math.max(0, lo); j <= Math.min(npix - 1, hi); j++) {
        if (bad[j]) {
          grown[i] = 1;
          break;
        }
      }
    }
    bad = grown;
    lastNgood = ngood;
    ngood = 0;
    for (let i = 0; i < npix; i++) if (!bad[i]) ngood++;
  }
  if (ngood >= minpix) {
    if (contrast > 0) slope /= contrast;
    const center = Math.floor((npix - 1) / 2);
    const median = npix % 2 ? samples[(npix - 1) / 2] : 0.5 * (samples[npix / 2 - 1] + samples[npix / 2]);
    vmin = Math.max(vmin, median - (center - 1) * slope);
    vmax = Math.min(vmax, median + (npix - center) * slope);
  }
  return [vmin, vmax];
}

/**
 * Limits that keep the central `percentile` % of the finite values (astropy PercentileInterval,
 * linear interpolation between order statistics), from a sample of up to 1e6 values.
 */
export function percentileLimits(data: ArrayLike<number>, percentile: number): [number, number] {
  const s = finiteSample(data, 1_000_000).slice().sort();
  if (s.length === 0) return [0, 1];
  const q = (p: number): number => {
    const x = (p / 100) * (s.length - 1);
    const i = Math.floor(x), f = x - i;
    return i + 1 < s.length ? s[i] * (1 - f) + s[i + 1] * f : s[i];
  };
  const lo = (100 - percentile) / 2;
  return [q(lo), q(100 - lo)];
}

export interface ThumbnailOptions {
  /** Largest output dimension in pixels (default 1024); the image is block-averaged to fit. */
  maxSize?: number;
  /** Intensity mapping (default 'zscale'). */
  stretch?: 'zscale' | 'asinh' | 'linear';
  /** For linear/asinh: the central percentage of values mapped to black…white (default 99.5). */
  percentile?: number;
  /** asinh softening a (fraction of the range; default 0.1, as astropy AsinhStretch). */
  asinhA?: number;
  /** NaN pixels: transparent (default) or black. */
  nan?: 'transparent' | 'black';
}

/**
 * A PNG preview of a float image (FITS order: row 0 is the bottom, so rows are flipped to put
 * north up). Gray + alpha, NaN transparent by default.
 */
export function imageToPngThumbnail(data: Float32Array, nx: number, ny: number, opts: ThumbnailOptions = {}): Buffer {
  if (data.length < nx * ny) throw new DsaError(`thumbnail: data has ${data.length} values, expected ${nx}×${ny}`);
  const maxSize = opts.maxSize ?? 1024;
  const f = Math.max(1, Math.ceil(Math.max(nx, ny) / maxSize));
  const ox = Math.floor(nx / f) || 1, oy = Math.floor(ny / f) || 1;
  // NaN-aware block average (f × f), row 0 still the bottom.
  const small = new Float32Array(ox * oy);
  if (f === 1) small.set(data.subarray(0, nx * ny));
  else {
    const sum = new Float64Array(ox), cnt = new Uint32Array(ox);
    for (let by = 0; by < oy; by++) {
      sum.fill(0);
      cnt.fill(0);
      for (let y = by * f; y < (by + 1) * f && y < ny; y++) {
        const row = y * nx;
        for (let bx = 0; bx < ox; bx++) {
          const x0 = bx * f;
          for (let x = x0; x < x0 + f; x++) {
            const v = data[row + x];
            if (v === v) {
              sum[bx] += v;
              cnt[bx]++;
            }
          }
        }
      }
      for (let bx = 0; bx < ox; bx++) small[by * ox + bx] = cnt[bx] ? sum[bx] / cnt[bx] : NaN;
    }
  }
  const stretch = opts.stretch ?? 'zscale';
  let [lo, hi] = stretch === 'zscale' ? zscaleLimits(small) : percentileLimits(small, opts.percentile ?? 99.5);
  if (!(hi > lo)) hi = lo + 1;
  const a = opts.asinhA ?? 0.1;
  const asinhNorm = 1 / Math.asinh(1 / a);
  const nanOpaque = opts.nan === 'black' ? 255 : 0;
  const px = new Uint8Array(ox * oy * 2);
  const scale = 1 / (hi - lo);
  for (let y = 0; y < oy; y++) {
    const src = (oy - 1 - y) * ox; // flip: PNG row 0 is the top (north)
    for (let x = 0; x < ox; x++) {
      const v = small[src + x];
      const o = (y * ox + x) * 2;
      if (v !== v) {
        px[o] = 0;
        px[o + 1] = nanOpaque;
        continue;
      }
      let t = (v - lo) * scale;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      if (stretch === 'asinh') t = Math.asinh(t / a) * asinhNorm;
      px[o] = Math.round(t * 255);
      px[o + 1] = 255;
    }
  }
  return encodePng(ox, oy, px, 2);
}
