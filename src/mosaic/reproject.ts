/**
 * Reprojection of an image from one celestial WCS grid onto another.
 *
 * Every output pixel's source position comes from exact world-coordinate transforms
 * (dst pixel → world → src pixel). For speed the exact transform is evaluated on a coarse grid of
 * output pixels and bilinearly interpolated in between; the grid step is halved until the largest
 * interpolation error, measured against the exact transform at every cell centre (where bilinear
 * interpolation error peaks for a smooth map), is below `mapTolerance` (default 1e-3 pixel).
 */
import { Wcs, icrsToGalactic, galacticToIcrs } from '../astro/wcs.js';
import { DsaError } from '../util/errors.js';

export type Interp = 'bilinear' | 'cubic';

/** An image on a WCS grid; data row-major, x fastest (FITS order, row 0 at the bottom). */
export interface ImagePlane {
  data: Float32Array;
  nx: number;
  ny: number;
  wcs: Wcs;
}

export interface GridSpec {
  nx: number;
  ny: number;
  wcs: Wcs;
}

/** Exact mapping of destination pixels to source pixels, with frame conversion if needed. */
export class ExactMapper {
  private readonly lon: Float64Array;
  private readonly lat: Float64Array;
  constructor(private readonly src: Wcs, private readonly dst: Wcs, capacity = 4096) {
    this.lon = new Float64Array(capacity);
    this.lat = new Float64Array(capacity);
  }

  /** Convert a world direction of dst's frame into src's frame, in place. */
  private convert(n: number): void {
    const a = this.dst.frame, b = this.src.frame;
    if (a === b || a === 'other' || b === 'other') return;
    if (a === 'galactic' && b === 'equatorial') {
      for (let i = 0; i < n; i++) [this.lon[i], this.lat[i]] = galacticToIcrs(this.lon[i], this.lat[i]);
    } else if (a === 'equatorial' && b === 'galactic') {
      for (let i = 0; i < n; i++) [this.lon[i], this.lat[i]] = icrsToGalactic(this.lon[i], this.lat[i]);
    } else {
      throw new DsaError(`reproject: no conversion from ${a} to ${b} coordinates`);
    }
  }

  /** dst pixels (xs, ys) → src pixels (outX, outY); NaN where not mappable. */
  map(xs: Float64Array, ys: Float64Array, outX: Float64Array, outY: Float64Array): void {
    const n = xs.length;
    for (let off = 0; off < n; off += this.lon.length) {
      const m = Math.min(this.lon.length, n - off);
      const lon = this.lon.subarray(0, m), lat = this.lat.subarray(0, m);
      this.dst.pixelsToWorld(xs.subarray(off, off + m), ys.subarray(off, off + m), lon, lat);
      this.convert(m);
      this.src.worldsToPixel(lon, lat, outX.subarray(off, off + m), outY.subarray(off, off + m));
    }
  }
}

/** A rectangle of destination pixels [x0, x0+w) × [y0, y0+h). */
export interface PixelBox {
  x0: number;
  y0: number;
  w: number;
  h: number;
}

/**
 * The destination pixels the source footprint can touch: its boundary (sampled every 8 pixels)
 * mapped into the destination, padded by 2 pixels and clipped. Null if it misses the grid.
 * If part of the boundary cannot be mapped (e.g. beyond the SIN horizon) the whole grid is used.
 */
export function footprintBox(src: { nx: number; ny: number; wcs: Wcs }, dst: GridSpec): PixelBox | null {
  const pts: number[] = [];
  const step = 8;
  for (let x = 0; x < src.nx; x += step) pts.push(x, 0, x, src.ny - 1);
  for (let y = 0; y < src.ny; y += step) pts.push(0, y, src.nx - 1, y);
  pts.push(src.nx - 1, 0, src.nx - 1, src.ny - 1);
  const n = pts.length / 2;
  const xs = new Float64Array(n), ys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xs[i] = pts[2 * i];
    ys[i] = pts[2 * i + 1];
  }
  // Map src boundary → dst pixels: the "mapper" runs in the reverse direction here.
  const back = new ExactMapper(dst.wcs, src.wcs);
  const ox = new Float64Array(n), oy = new Float64Array(n);
  back.map(xs, ys, ox, oy);
  let xmin = Infinity, xmax = -Infinity, ymin = Infinity, ymax = -Infinity;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(ox[i]) || !Number.isFinite(oy[i])) return { x0: 0, y0: 0, w: dst.nx, h: dst.ny };
    xmin = Math.min(xmin, ox[i]);
    xmax = Math.max(xmax, ox[i]);
    ymin = Math.min(ymin, oy[i]);
    ymax = Math.max(ymax, oy[i]);
  }
  const x0 = Math.max(0, Math.floor(xmin) - 2), x1 = Math.min(dst.nx - 1, Math.ceil(xmax) + 2);
  const y0 = Math.max(0, Math.floor(ymin) - 2), y1 = Math.min(dst.ny - 1, Math.ceil(ymax) + 2);
  if (x1 < x0 || y1 < y0) return null;
  return { x0, y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

/**
 * Source-pixel positions of every destination pixel in a box, from exact transforms on a coarse
 * node grid, interpolated bilinearly row by row.
 */
export class CoarseMap {
  readonly step: number;
  /** Largest |interpolated − exact| (pixels, max over x and y) at the cell centres. */
  readonly maxError: number;
  private readonly gw: number; // nodes per row
  private readonly gh: number;
  private readonly nodeX: Float64Array;
  private readonly nodeY: Float64Array;
  private readonly rowX: Float64Array;
  private readonly rowY: Float64Array;

  constructor(readonly src: Wcs, readonly dst: Wcs, readonly box: PixelBox, tolerance = 1e-3, startStep = 32) {
    const mapper = new ExactMapper(src, dst);
    let step = Math.max(1, startStep);
    for (;;) {
      const gw = Math.ceil((box.w - 1) / step) + 1, gh = Math.ceil((box.h - 1) / step) + 1;
      const n = gw * gh;
      const xs = new Float64Array(n), ys = new Float64Array(n);
      for (let j = 0; j < gh; j++) for (let i = 0; i < gw; i++) {
        xs[j * gw + i] = box.x0 + i * step;
        ys[j * gw + i] = box.y0 + j * step;
      }
      const nodeX = new Float64Array(n), nodeY = new Float64Array(n);
      mapper.map(xs, ys, nodeX, nodeY);
      let err = 0;
      if (step > 1 && gw > 1 && gh > 1) {
        // Exact transform at every cell centre vs the bilinear interpolation of its 4 nodes.
        const m = (gw - 1) * (gh - 1);
        const cx = new Float64Array(m), cy = new Float64Array(m);
        for (let j = 0; j < gh - 1; j++) for (let i = 0; i < gw - 1; i++) {
          cx[j * (gw - 1) + i] = box.x0 + (i + 0.5) * step;
          cy[j * (gw - 1) + i] = box.y0 + (j + 0.5) * step;
        }
        const ex = new Float64Array(m), ey = new Float64Array(m);
        mapper.map(cx, cy, ex, ey);
        for (let j = 0; j < gh - 1; j++) for (let i = 0; i < gw - 1; i++) {
          const k = j * gw + i, c = j * (gw - 1) + i;
          const ix = 0.25 * (nodeX[k] + nodeX[k + 1] + nodeX[k + gw] + nodeX[k + gw + 1]);
          const iy = 0.25 * (nodeY[k] + nodeY[k + 1] + nodeY[k + gw] + nodeY[k + gw + 1]);
          const e = Math.max(Math.abs(ix - ex[c]), Math.abs(iy - ey[c]));
          if (e > err) err = e; // NaN-safe: NaN cells are outside the source anyway
        }
      }
      if (err <= tolerance || step === 1) {
        this.step = step;
        this.maxError = err;
        this.gw = gw;
        this.gh = gh;
        this.nodeX = nodeX;
        this.nodeY = nodeY;
        break;
      }
      step = Math.max(1, step >> 1);
    }
    this.rowX = new Float64Array(this.gw);
    this.rowY = new Float64Array(this.gw);
  }

  /** Source positions of destination row `y` (absolute) for x in [box.x0, box.x0 + w). */
  row(y: number, outX: Float64Array, outY: Float64Array): void {
    const { step, gw, nodeX, nodeY, rowX, rowY } = this;
    const t = (y - this.box.y0) / step;
    let j = Math.floor(t);
    if (j >= this.gh - 1) j = Math.max(0, this.gh - 2);
    const fy = this.gh > 1 ? t - j : 0;
    const a = j * gw, b = Math.min(j + 1, this.gh - 1) * gw;
    for (let i = 0; i < gw; i++) {
      rowX[i] = nodeX[a + i] + (nodeX[b + i] - nodeX[a + i]) * fy;
      rowY[i] = nodeY[a + i] + (nodeY[b + i] - nodeY[a + i]) * fy;
    }
    const w = this.box.w;
    const inv = 1 / step;
    for (let k = 0; k < gw - 1 || (gw === 1 && k === 0); k++) {
      const x0 = rowX[k], y0 = rowY[k];
      const dx = gw > 1 ? (rowX[k + 1] - x0) * inv : 0, dy = gw > 1 ? (rowY[k + 1] - y0) * inv : 0;
      const start = k * step, end = Math.min(w, start + step);
      for (let p = start, q = 0; p < end; p++, q++) {
        outX[p] = x0 + dx * q;
        outY[p] = y0 + dy * q;
      }
      if (gw === 1) break;
    }
    if (gw > 1 && (gw - 1) * step < w) {
      // Only when w − 1 is a multiple of step: the last pixel sits on the last node.
      outX[w - 1] = rowX[gw - 1];
      outY[w - 1] = rowY[gw - 1];
    }
  }
}

/** Keys cubic-convolution weights (a = −0.5) for fractional offset t into w[0..3]. */
function cubicWeights(t: number, w: Float64Array, o: number): void {
  const t2 = t * t, t3 = t2 * t;
  w[o] = -0.5 * t3 + t2 - 0.5 * t;
  w[o + 1] = 1.5 * t3 - 2.5 * t2 + 1;
  w[o + 2] = -1.5 * t3 + 2 * t2 + 0.5 * t;
  w[o + 3] = 0.5 * t3 - 0.5 * t2;
}

const CW = new Float64Array(8);

/**
 * Positions within EDGE_EPS pixels outside the image count as on its edge (the interpolated
 * mapping is accurate to ~1e-3 px, so an exact edge pixel may land a hair outside).
 */
export const EDGE_EPS = 2e-3;
/** Fractional offsets closer than SNAP to a pixel centre are treated as exactly on it. */
const SNAP = 1e-6;

/**
 * Bilinear set-up for one position: returns the base index k (or −1 when outside) and writes the
 * four weights into BW. Offsets within SNAP of a pixel are snapped, and a neighbour whose weight
 * is exactly 0 is never read, so a NaN pixel does not leak into samples centred on its neighbours.
 */
export const BW = new Float64Array(4);
export function bilinearSetup(x: number, y: number, nx: number, ny: number): number {
  const xmax = nx - 1, ymax = ny - 1;
  if (!(x >= -EDGE_EPS && x <= xmax + EDGE_EPS && y >= -EDGE_EPS && y <= ymax + EDGE_EPS)) return -1;
  x = x < 0 ? 0 : x > xmax ? xmax : x;
  y = y < 0 ? 0 : y > ymax ? ymax : y;
  let ix = Math.floor(x), iy = Math.floor(y);
  let fx = x - ix, fy = y - iy;
  if (fx < SNAP) fx = 0;
  else if (fx > 1 - SNAP) {
    fx = 0;
    ix++;
  }
  if (fy < SNAP) fy = 0;
  else if (fy > 1 - SNAP) {
    fy = 0;
    iy++;
  }
  if (ix >= xmax) {
    ix = Math.max(0, xmax - 1);
    fx = xmax > 0 ? 1 : 0;
  }
  if (iy >= ymax) {
    iy = Math.max(0, ymax - 1);
    fy = ymax > 0 ? 1 : 0;
  }
  BW[0] = (1 - fx) * (1 - fy);
  BW[1] = fx * (1 - fy);
  BW[2] = (1 - fx) * fy;
  BW[3] = fx * fy;
  return iy * nx + ix;
}

/** Apply BW at base index k (neighbours with zero weight are not read). */
export function bilinearApply(data: Float32Array, k: number, nx: number): number {
  let v = 0;
  if (BW[0] !== 0) v += BW[0] * data[k];
  if (BW[1] !== 0) v += BW[1] * data[k + 1];
  if (BW[2] !== 0) v += BW[2] * data[k + nx];
  if (BW[3] !== 0) v += BW[3] * data[k + nx + 1];
  return v;
}

/**
 * Sample `data` (nx × ny) at source positions (sx, sy) into out[outOff + i]. Positions outside
 * [0, nx−1] × [0, ny−1] (beyond EDGE_EPS) give NaN; NaN neighbours with non-zero weight propagate.
 */
export function sampleRow(
  data: Float32Array, nx: number, ny: number, sx: Float64Array, sy: Float64Array, n: number,
  out: Float32Array, outOff: number, interp: Interp,
): void {
  const xmax = nx - 1, ymax = ny - 1;
  if (interp === 'bilinear') {
    for (let i = 0; i < n; i++) {
      const k = bilinearSetup(sx[i], sy[i], nx, ny);
      out[outOff + i] = k < 0 ? NaN : bilinearApply(data, k, nx);
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    let x = sx[i], y = sy[i];
    if (!(x >= -EDGE_EPS && x <= xmax + EDGE_EPS && y >= -EDGE_EPS && y <= ymax + EDGE_EPS)) {
      out[outOff + i] = NaN;
      continue;
    }
    x = x < 0 ? 0 : x > xmax ? xmax : x;
    y = y < 0 ? 0 : y > ymax ? ymax : y;
    let ix = Math.floor(x), iy = Math.floor(y);
    let fx = x - ix, fy = y - iy;
    if (fx > 1 - SNAP) {
      ix++;
      fx = 0;
    } else if (fx < SNAP) fx = 0;
    if (fy > 1 - SNAP) {
      iy++;
      fy = 0;
    } else if (fy < SNAP) fy = 0;
    if (fx === 0 && fy === 0) {
      out[outOff + i] = data[iy * nx + ix]; // exactly on a pixel: no neighbours involved
      continue;
    }
    cubicWeights(fx, CW, 0);
    cubicWeights(fy, CW, 4);
    let acc = 0;
    for (let b = 0; b < 4; b++) {
      const wy = CW[4 + b];
      if (wy === 0) continue;
      let yy = iy - 1 + b;
      yy = yy < 0 ? 0 : yy > ymax ? ymax : yy; // clamp at the edges
      const row = yy * nx;
      let r = 0;
      for (let a = 0; a < 4; a++) {
        const wx = CW[a];
        if (wx === 0) continue;
        let xx = ix - 1 + a;
        xx = xx < 0 ? 0 : xx > xmax ? xmax : xx;
        r += wx * data[row + xx];
      }
      acc += wy * r;
    }
    out[outOff + i] = acc;
  }
}

export interface ReprojectOptions {
  /** Largest allowed error of the interpolated pixel mapping, pixels (default 1e-3). */
  mapTolerance?: number;
  /** First coarse-grid step tried (default 32; 1 = exact transform at every pixel). */
  startStep?: number;
}

export interface ReprojectResult {
  data: Float32Array;
  /** Grid step used and its measured mapping error (pixels). */
  step: number;
  maxMapError: number;
}

/** Reproject `src` onto the `dst` grid. Pixels outside the source are NaN. */
export function reproject(src: ImagePlane, dst: GridSpec, interp: Interp = 'bilinear', opts: ReprojectOptions = {}): ReprojectResult {
  if (src.data.length < src.nx * src.ny) throw new DsaError(`reproject: source has ${src.data.length} values, expected ${src.nx}×${src.ny}`);
  const out = new Float32Array(dst.nx * dst.ny).fill(NaN);
  const box = footprintBox(src, dst);
  if (!box) return { data: out, step: 0, maxMapError: 0 };
  const map = new CoarseMap(src.wcs, dst.wcs, box, opts.mapTolerance ?? 1e-3, opts.startStep ?? 32);
  const rx = new Float64Array(box.w), ry = new Float64Array(box.w);
  for (let y = box.y0; y < box.y0 + box.h; y++) {
    map.row(y, rx, ry);
    sampleRow(src.data, src.nx, src.ny, rx, ry, box.w, out, y * dst.nx + box.x0, interp);
  }
  return { data: out, step: map.step, maxMapError: map.maxError };
}
