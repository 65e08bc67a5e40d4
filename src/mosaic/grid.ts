/**
 * Choosing the output grid of a mosaic: SIN about the members' mean direction for fields smaller
 * than `maxSinExtentDeg` (default 10°), otherwise a plate-carrée CAR strip (CRVAL2 = 0, so lines
 * of constant declination are rows). The cell is the finest input cell; the grid covers every
 * input footprint with a small margin.
 */
import { Wcs, icrsToGalactic, galacticToIcrs } from '../astro/wcs.js';
import { DsaError } from '../util/errors.js';
import type { GridSpec } from './reproject.js';

export interface GridInput {
  wcs: Wcs;
  nx: number;
  ny: number;
}

export interface PlanOptions {
  /** Largest extent (degrees) still mosaicked on a SIN grid (default 10). */
  maxSinExtentDeg?: number;
  /** Override the cell (degrees); default the finest input cell. */
  cellDeg?: number;
  /** Margin in output pixels around the union of the footprints (default 2). */
  marginPix?: number;
  /** Force a projection. */
  projection?: 'SIN' | 'CAR';
}

export interface MosaicGrid extends GridSpec {
  projection: 'SIN' | 'CAR';
  cellDeg: number;
  /** Largest angular extent of the union of footprints (degrees), measured on the SIN plane. */
  extentDeg: number;
}

const D2R = Math.PI / 180;
const R2D = 180 / Math.PI;

/** World boundary points (radians, in the frame `frame`) of an input, every ~1/32 of a side. */
function boundary(inp: GridInput, frame: Wcs['frame']): Float64Array {
  const pts: number[] = [];
  const sx = Math.max(1, Math.floor(inp.nx / 32)), sy = Math.max(1, Math.floor(inp.ny / 32));
  const add = (x: number, y: number): void => {
    const w = inp.wcs.pixelToWorld(x, y);
    let lon = w.lon, lat = w.lat;
    if (inp.wcs.frame !== frame) {
      if (inp.wcs.frame === 'galactic' && frame === 'equatorial') [lon, lat] = galacticToIcrs(lon, lat);
      else if (inp.wcs.frame === 'equatorial' && frame === 'galactic') [lon, lat] = icrsToGalactic(lon, lat);
    }
    if (Number.isFinite(lon) && Number.isFinite(lat)) pts.push(lon, lat);
  };
  // Pixel edges (−0.5 … n−0.5) so that the output covers whole input pixels.
  for (let x = 0; x <= inp.nx; x += sx) {
    add(x - 0.5, -0.5);
    add(x - 0.5, inp.ny - 0.5);
  }
  for (let y = 0; y <= inp.ny; y += sy) {
    add(-0.5, y - 0.5);
    add(inp.nx - 0.5, y - 0.5);
  }
  add(inp.nx - 0.5, inp.ny - 0.5);
  return Float64Array.from(pts);
}

/** Plan the output grid for a set of input images. */
export function planMosaicGrid(inputs: GridInput[], opts: PlanOptions = {}): MosaicGrid {
  if (inputs.length === 0) throw new DsaError('planMosaicGrid: no inputs');
  const frame = inputs[0].wcs.frame;
  const lonType = inputs[0].wcs.lonType, latType = inputs[0].wcs.latType;
  const cell = opts.cellDeg ?? Math.min(...inputs.map((i) => Math.min(...i.wcs.cellDeg)));
  if (!(cell > 0)) throw new DsaError('planMosaicGrid: cannot determine the cell size');
  const margin = opts.marginPix ?? 2;
  // Mean direction of the footprint centres.
  let cx = 0, cy = 0, cz = 0;
  const bounds: Float64Array[] = [];
  for (const inp of inputs) {
    const b = boundary(inp, frame);
    bounds.push(b);
    let w = inp.wcs.pixelToWorld((inp.nx - 1) / 2, (inp.ny - 1) / 2);
    if (inp.wcs.frame !== frame) {
      const [l, t] = inp.wcs.frame === 'galactic' ? galacticToIcrs(w.lon, w.lat) : icrsToGalactic(w.lon, w.lat);
      w = { lon: l, lat: t };
    }
    cx += Math.cos(w.lat) * Math.cos(w.lon);
    cy += Math.cos(w.lat) * Math.sin(w.lon);
    cz += Math.sin(w.lat);
  }
  const lon0 = (((Math.atan2(cy, cx) * R2D) % 360) + 360) % 360;
  const lat0 = Math.atan2(cz, Math.hypot(cx, cy)) * R2D;
  const radesys = frame === 'equatorial' ? inputs[0].wcs.params.radesys ?? 'ICRS' : undefined;
  const ctype = (proj: string): [string, string] => [(lonType + '----').slice(0, 4) + '-' + proj, (latType + '----').slice(0, 4) + '-' + proj];

  // Bounding box of all boundaries on a trial grid with the reference pixel at 0-based (0, 0).
  const bbox = (w: Wcs): [number, number, number, number] | null => {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const b of bounds) {
      for (let i = 0; i < b.length; i += 2) {
        const p = w.worldToPixel(b[i], b[i + 1]);
        if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) return null;
        if (p.x < x0) x0 = p.x;
        if (p.x > x1) x1 = p.x;
        if (p.y < y0) y0 = p.y;
        if (p.y > y1) y1 = p.y;
      }
    }
    return [x0, x1, y0, y1];
  };
  const make = (proj: 'SIN' | 'CAR', crval: [number, number], cdelt: [number, number], crpix: [number, number]): Wcs =>
    new Wcs({ ctype: ctype(proj), crpix, crval, cdelt, pc: [1, 0, 0, 1], radesys });

  const sinTrial = make('SIN', [lon0, lat0], [-cell, cell], [1, 1]);
  const sb = bbox(sinTrial);
  const extentDeg = sb ? Math.max(sb[1] - sb[0], sb[3] - sb[2]) * cell : 180;
  const proj = opts.projection ?? (sb && extentDeg < (opts.maxSinExtentDeg ?? 10) ? 'SIN' : 'CAR');
  let trial: Wcs, crval: [number, number], cdelt: [number, number];
  if (proj === 'SIN') {
    if (!sb) throw new DsaError('planMosaicGrid: inputs do not fit on one SIN hemisphere');
    trial = sinTrial;
    crval = [lon0, lat0];
    cdelt = [-cell, cell];
  } else {
    // Plate carrée with the RA cell stretched by 1/cos(dec0): square pixels on the sky at the
    // strip's mean declination (cos clamped so a polar strip does not explode the grid).
    crval = [lon0, 0];
    cdelt = [-cell / Math.max(0.1, Math.cos(lat0 * D2R)), cell];
    trial = make('CAR', crval, cdelt, [1, 1]);
  }
  const b = bbox(trial);
  if (!b) throw new DsaError('planMosaicGrid: inputs cannot be projected on the output grid');
  const ix0 = Math.floor(b[0]) - margin, ix1 = Math.ceil(b[1]) + margin;
  const iy0 = Math.floor(b[2]) - margin, iy1 = Math.ceil(b[3]) + margin;
  const nx = ix1 - ix0 + 1, ny = iy1 - iy0 + 1;
  // Trial reference pixel was 0-based (0, 0); shift so the bbox starts at pixel 0.
  const wcs = make(proj, crval, cdelt, [1 - ix0, 1 - iy0]);
  return { nx, ny, wcs, projection: proj, cellDeg: cell, extentDeg };
}
