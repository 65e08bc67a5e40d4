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
  return imagingWeightsAndNoise(input, geom, mode, robust).weights;
}

/**
 * imagingWeights and, from the same pass, expectedNoise of them: with w' = w·d (d the density
 * factor), w'²/w = w'·d, so the noise needs no division per visibility (it had cost ~1 s a group).
 */
export function imagingWeightsAndNoise(input: VisInput, geom: ImageGeometry, mode: Weighting, robust = 0): { weights: Float32Array; expectedNoise: number } {
  const { nRow, nChan, uvw, freq, weight } = input;
  const out = new Float32Array(nRow * nChan);
  if (mode === 'natural') { out.set(weight); return { weights: out, expectedNoise: expectedNoise(input, out) }; }
  if (mode !== 'uniform' && mode !== 'briggs') throw new UsageError(`unknown weighting '${String(mode)}' (natural, uniform, briggs)`);
  const Nu = geom.nx, Nv = geom.ny;
  // cells in units of 1/(N·cell): u·N·cell; the grid is float32 (half the memory of the random
  // accesses that dominate the cost; a cell's relative rounding stays ≲ 1e-5) and each sample's
  // cell is kept for the second pass instead of recomputed
  const su = (Nu * geom.cellRad) / C_LIGHT, sv = (Nv * geom.cellRad) / C_LIGHT;
  const grid = new Float32Array(Nu * Nv);
  const cells = new Int32Array(nRow * nChan);
  let sumW = 0;
  for (let r = 0; r < nRow; r++) {
    const ur = uvw[3 * r] * su, vr = uvw[3 * r + 1] * sv;
    for (let c = 0, k = r * nChan; c < nChan; c++, k++) {
      const w = weight[k];
      cells[k] = -1;
      if (!(w > 0)) continue;
      const iu = Math.round(ur * freq[c]) + Nu / 2, iv = Math.round(vr * freq[c]) + Nv / 2;
      if (iu >= 0 && iu < Nu && iv >= 0 && iv < Nv) { const a = iv * Nu + iu; grid[a] += w; cells[k] = a; }
      sumW += 2 * w;
    }
  }
  // The Hermitian mirrors, added afterwards: cell (iu, iv) ↔ (Nu − iu, Nv − iv) (row or column 0
  // has no mirror inside the grid). Half the random accesses of adding each sample twice.
  for (let iv = 1; iv <= Nv / 2; iv++) {
    const jv = Nv - iv;
    for (let iu = 1; iu < Nu; iu++) {
      const a = iv * Nu + iu, b = jv * Nu + (Nu - iu);
      if (b < a) continue; // each pair once (the centre cell pairs with itself)
      const sum = grid[a] + grid[b];
      grid[a] = sum; grid[b] = sum;
    }
  }
  let f2 = 1;
  if (mode === 'briggs') {
    let sumW2 = 0;
    for (let k = 0; k < grid.length; k++) sumW2 += grid[k] * grid[k];
    f2 = (5 * Math.pow(10, -robust)) ** 2 / (sumW2 / sumW);
  }
  let num = 0, den = 0;
  const uniform = mode === 'uniform';
  for (let k = 0; k < cells.length; k++) {
    const w = weight[k], a = cells[k];
    if (!(w > 0)) continue;
    if (a < 0) { out[k] = 0; continue; }
    const d = uniform ? 1 / grid[a] : 1 / (1 + f2 * grid[a]);
    const v = (out[k] = w * d);
    num += v * d; den += v;
  }
  return { weights: out, expectedNoise: den > 0 ? Math.sqrt(num) / den : NaN };
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
