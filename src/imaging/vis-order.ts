/**
 * Cache-friendly visibility order for gridding single-channel rows (the output of baseline-
 * dependent averaging).
 *
 * Why: a w-plane of a 4096² image is a (band × 8192) complex float64 grid of ~400 MB; visiting
 * visibilities in baseline order makes every one of them miss the caches on each of its W grid
 * rows (measured: ~2.3 µs per visibility and pass, ~20 ns per kernel tap). ducc0's wgridder sorts
 * visibilities into uv tiles for the same reason. Here rows are sorted once per image by
 * (first w-plane k0w, v tile, u tile): the rows touching plane p are then one contiguous range
 * (k0w ∈ [p−W+1, p]), and inside it consecutive visibilities touch neighbouring grid cells.
 *
 * The permutation is applied to everything indexed by row (uvw, flip, w-plane range, visibilities
 * and both weight arrays); the imager only uses its own (averaged) rows, so no caller sees the order.
 */
import { C_LIGHT } from '../astro/constants.js';
import type { GridPlan } from './gridder.js';
import type { VisInput } from './types.js';

/** Tile size in grid cells (v rows × u columns): a tile's W-wide footprint stays in L1. */
export const TILE_V = 16;
export const TILE_U = 32;

/** Per-row grid position as the gridder computes it (nChan = 1): first v cell, first u cell, first w-plane. */
export interface RowCells { k0v: number; k0u: number; k0w: number }

/** The gridder's first tap cells of row r (nChan = 1 plans only). */
export function rowCells(plan: GridPlan, r: number, out: RowCells): RowCells {
  const { W, Nu, Nv, uvw, freq, cellRad, dw, w0, wStacking } = plan;
  const h = W / 2, f = freq[0];
  const gu = uvw[3 * r] * (-cellRad * Nu / C_LIGHT) * f + Nu / 2;
  const gv = uvw[3 * r + 1] * (cellRad * Nv / C_LIGHT) * f + Nv / 2;
  out.k0u = Math.ceil(gu - h);
  out.k0v = Math.ceil(gv - h);
  // exactly spreadPlane's expression (w·(1/(dw·c))·ν − w0/dw): a different rounding near a plane
  // boundary would put the row in the wrong w group
  out.k0w = wStacking ? Math.ceil(uvw[3 * r + 2] * (1 / (dw * C_LIGHT)) * f + -w0 / dw - h) : 0;
  return out;
}

/**
 * Sort the rows of a single-channel plan (and its data) into gridding order. Rows with zero
 * weight (flagged, or outside the grid after excludeOutside) go last and belong to no plane.
 * Returns the permuted data and the permutation (new row i = old row perm[i]); plan.uvw/flip/rowWgMin/rowWgMax are replaced and
 * plan.wGroupStart is set (rows with k0w = g are [wGroupStart[g], wGroupStart[g+1])).
 */
export function orderRowsForGridding(
  plan: GridPlan, data: VisInput, weights: Float32Array,
  alloc: (bytes: number) => ArrayBufferLike = (b) => new ArrayBuffer(b),
): { input: VisInput; weights: Float32Array; perm: Uint32Array } {
  if (plan.nChan !== 1 || data.nChan !== 1) throw new Error('orderRowsForGridding: single-channel rows only');
  const { nRow, Nu, Nv, W } = plan;
  const nG = plan.wStacking ? Math.max(1, plan.nPlanes - W + 1) : 1;
  const nTu = Math.ceil(Nu / TILE_U) + 1, nTv = Math.ceil(Nv / TILE_V) + 1;
  const nTiles = nTu * nTv;
  // With time chunks (beam-aware predict) each w group is further split by chunk, so that a
  // chunk's rows of a plane are contiguous ranges (degridding one chunk streams only its rows).
  let K = 1;
  if (data.rowChunk) for (let r = 0; r < nRow; r++) if (data.rowChunk[r] + 1 > K) K = data.rowChunk[r] + 1;
  const nKeys = nG * K * nTiles + 1; // last key: rows that grid nowhere
  const key = new Uint32Array(nRow);
  const cells: RowCells = { k0v: 0, k0u: 0, k0w: 0 };
  for (let r = 0; r < nRow; r++) {
    if (!(weights[r] > 0)) { key[r] = nKeys - 1; continue; }
    rowCells(plan, r, cells);
    const g = Math.min(nG - 1, Math.max(0, cells.k0w));
    const tv = Math.max(0, Math.floor(cells.k0v / TILE_V)), tu = Math.max(0, Math.floor(cells.k0u / TILE_U));
    key[r] = (g * K + (K > 1 ? data.rowChunk![r] : 0)) * nTiles + tv * nTu + tu;
  }
  // counting sort (stable)
  const start = new Uint32Array(nKeys + 1);
  for (let r = 0; r < nRow; r++) start[key[r] + 1]++;
  for (let k = 0; k < nKeys; k++) start[k + 1] += start[k];
  const groupStart = new Int32Array(alloc(4 * (nG + 1)));
  for (let g = 0; g <= nG; g++) groupStart[g] = start[g * K * nTiles];
  const chunkStart = K > 1 ? new Int32Array(alloc(4 * (nG * K + 1))) : undefined;
  if (chunkStart) for (let i = 0; i <= nG * K; i++) chunkStart[i] = start[i * nTiles];
  const pos = start.subarray(0, nKeys); // becomes the running insert position
  const perm = new Uint32Array(nRow);
  for (let r = 0; r < nRow; r++) perm[pos[key[r]]++] = r;

  const uvw = new Float64Array(alloc(24 * nRow)), flip = new Uint8Array(alloc(Math.max(1, nRow)));
  const wgMin = new Float64Array(alloc(8 * nRow)), wgMax = new Float64Array(alloc(8 * nRow));
  const vis = new Float32Array(alloc(8 * nRow)), w = new Float32Array(alloc(4 * nRow)), nat = new Float32Array(alloc(4 * nRow));
  const pu = plan.uvw, dv = data.vis, dn = data.weight;
  const chunk = data.rowChunk ? new Uint8Array(alloc(Math.max(1, nRow))) : undefined;
  for (let i = 0; i < nRow; i++) {
    const r = perm[i];
    uvw[3 * i] = pu[3 * r]; uvw[3 * i + 1] = pu[3 * r + 1]; uvw[3 * i + 2] = pu[3 * r + 2];
    flip[i] = plan.flip[r];
    wgMin[i] = plan.rowWgMin[r]; wgMax[i] = plan.rowWgMax[r];
    vis[2 * i] = dv[2 * r]; vis[2 * i + 1] = dv[2 * r + 1];
    w[i] = weights[r]; nat[i] = dn[r];
    if (chunk) chunk[i] = data.rowChunk![r];
  }
  plan.rowChunk = chunk;
  plan.uvw = uvw; plan.flip = flip; plan.rowWgMin = wgMin; plan.rowWgMax = wgMax;
  plan.wGroupStart = groupStart;
  plan.chunkStart = chunkStart;
  // the data's uvw in metres·(c/ν) = wavelengths·c/freq: nChan = 1 so the plan's (mirrored) uvw
  // serve as the data's too, with vis conjugated where mirrored — the plan handles that itself.
  return { input: { ...data, uvw, vis, weight: nat, rowChunk: chunk }, weights: w, perm };
}

/**
 * Rows a plane touches in a sorted plan: [lo, hi). Without wGroupStart: all rows.
 */
export function planeRows(plan: GridPlan, p: number): [number, number] {
  const gs = plan.wGroupStart;
  if (!gs) return [0, plan.nRow];
  const nG = gs.length - 1;
  if (!plan.wStacking) return [gs[0], gs[nG]];
  const g0 = Math.max(0, p - plan.W + 1), g1 = Math.min(nG - 1, p);
  if (g1 < g0) return [0, 0];
  return [gs[g0], gs[g1 + 1]];
}

/**
 * Within one w group [lo, hi) of a sorted plan, the rows whose v tile lies in [tvLo, tvHi]:
 * found by binary search on the sort key (the v tile of each row, recomputed).
 */
export function tileRange(plan: GridPlan, lo: number, hi: number, tvLo: number, tvHi: number): [number, number] {
  const cells: RowCells = { k0v: 0, k0u: 0, k0w: 0 };
  const tv = (r: number): number => Math.max(0, Math.floor(rowCells(plan, r, cells).k0v / TILE_V));
  const first = (t: number): number => { // first row in [lo, hi) with tile ≥ t
    let a = lo, b = hi;
    while (a < b) { const m = (a + b) >>> 1; if (tv(m) < t) a = m + 1; else b = m; }
    return a;
  };
  return [first(tvLo), first(tvHi + 1)];
}
