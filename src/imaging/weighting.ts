/**
 * Imaging weights (natural, uniform, Briggs) and the thermal noise they imply.
 * Gridded weights W_k are summed on the image-sized uv grid (cell 1/(N·cell)), nearest cell,
 * counting each visibility and its Hermitian mirror, as WSClean does.
 * Briggs (WSClean/CASA): w_i / (1 + f²·W_k), f² = (5·10^−R)² / (ΣW_k² / Σw_i).
 */
import { C_LIGHT } from '../astro/constants.js';
import { UsageError } from '../util/errors.js';
import type { ImageGeometry, VisInput } from './types.js';

export type Weighting = 'natural' | 'uniform' | 'briggs';

/** Imaging weights per (row, chan): natural weight × density factor. */
export function imagingWeights(input: VisInput, geom: ImageGeometry, mode: Weighting, robust = 0): Float32Array {
  const { nRow, nChan, uvw, freq, weight } = input;
  const out = new Float32Array(nRow * nChan);
  if (mode === 'natural') { out.set(weight); return out; }
  if (mode !== 'uniform' && mode !== 'briggs') throw new UsageError(`unknown weighting '${String(mode)}' (natural, uniform, briggs)`);
  const Nu = geom.nx, Nv = geom.ny;
  const du = 1 / (Nu * geom.cellRad), dv = 1 / (Nv * geom.cellRad);
  const grid = new Float64Array(Nu * Nv);
  const cellOf = (u: number, v: number): number => {
    const iu = Math.round(u / du) + Nu / 2, iv = Math.round(v / dv) + Nv / 2;
    return iu < 0 || iu >= Nu || iv < 0 || iv >= Nv ? -1 : iv * Nu + iu;
  };
  let sumW = 0;
  for (let r = 0; r < nRow; r++) for (let c = 0; c < nChan; c++) {
    const w = weight[r * nChan + c];
    if (!(w > 0)) continue;
    const s = freq[c] / C_LIGHT, u = uvw[3 * r] * s, v = uvw[3 * r + 1] * s;
    const a = cellOf(u, v), b = cellOf(-u, -v);
    if (a >= 0) grid[a] += w;
    if (b >= 0) grid[b] += w;
    sumW += 2 * w;
  }
  let f2 = 1;
  if (mode === 'briggs') {
    let sumW2 = 0;
    for (let k = 0; k < grid.length; k++) sumW2 += grid[k] * grid[k];
    f2 = (5 * Math.pow(10, -robust)) ** 2 / (sumW2 / sumW);
  }
  for (let r = 0; r < nRow; r++) for (let c = 0; c < nChan; c++) {
    const k = r * nChan + c, w = weight[k];
    if (!(w > 0)) continue;
    const s = freq[c] / C_LIGHT;
    const a = cellOf(uvw[3 * r] * s, uvw[3 * r + 1] * s);
    if (a < 0) { out[k] = 0; continue; }
    out[k] = mode === 'uniform' ? w / grid[a] : w / (1 + f2 * grid[a]);
  }
  return out;
}

/**
 * Expected image noise (Jy/beam) for imaging weights `weights` given natural weights 1/σ_i²
 * (σ_i the noise of re and of im): σ_image = √(Σ w_i² σ_i²) / Σ w_i.
 */
export function expectedNoise(input: VisInput, weights: Float32Array): number {
  let num = 0, den = 0;
  const nat = input.weight;
  for (let k = 0; k < weights.length; k++) {
    const w = weights[k];
    if (!(w > 0) || !(nat[k] > 0)) continue;
    num += (w * w) / nat[k];
    den += w;
  }
  return den > 0 ? Math.sqrt(num) / den : NaN;
}
