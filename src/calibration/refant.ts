/**
 * Automatic reference antenna: well connected, least flagged, near the array centre.
 * score(a) = unflagged fraction of a's cross-correlations × fraction of other antennas it has
 * unflagged data with − 0.2 × (distance from the array centroid / largest distance).
 * Flag statistics stream: call `refantStats` per chunk, then `chooseRefant`.
 */
import { DsaError, UsageError } from '../util/errors.js';
import type { VisChunk } from './types.js';

export interface RefantStats {
  nAnt: number;
  /** Unflagged and total cross-correlation visibilities per antenna. */
  good: Float64Array;
  total: Float64Array;
  /** Unflagged visibilities per antenna pair (nAnt × nAnt, symmetric). */
  pairGood: Float64Array;
}

export function refantStats(chunk: Pick<VisChunk, 'nAnt' | 'nTime' | 'nBl' | 'nChan' | 'nPol' | 'ant1' | 'ant2' | 'flag'>, into?: RefantStats): RefantStats {
  const { nAnt, nTime, nBl, nChan, nPol, ant1, ant2, flag } = chunk;
  const st = into ?? { nAnt, good: new Float64Array(nAnt), total: new Float64Array(nAnt), pairGood: new Float64Array(nAnt * nAnt) };
  const cp = nChan * nPol;
  for (let b = 0; b < nBl; b++) {
    const i = ant1[b], j = ant2[b];
    if (i === j) continue;
    let good = 0;
    for (let t = 0; t < nTime; t++) {
      const base = (t * nBl + b) * cp;
      for (let k = 0; k < cp; k++) good += flag[base + k] ? 0 : 1;
    }
    const tot = nTime * cp;
    st.good[i] += good; st.good[j] += good;
    st.total[i] += tot; st.total[j] += tot;
    st.pairGood[i * nAnt + j] += good;
    st.pairGood[j * nAnt + i] += good;
  }
  return st;
}

export interface RefantChoice {
  refant: number;
  /** Score per antenna (−Infinity: unusable). */
  score: Float64Array;
}

/**
 * @param positions optional antenna positions (any Cartesian frame, metres), [ant, xyz].
 * @param exclude antennas never to choose.
 */
export function chooseRefant(stats: RefantStats, positions?: Float64Array, exclude: Iterable<number> = []): RefantChoice {
  const { nAnt, good, total, pairGood } = stats;
  const score = new Float64Array(nAnt).fill(-Infinity);
  const excluded = new Set(exclude);
  let cx = 0, cy = 0, cz = 0, maxD = 0;
  const dist = new Float64Array(nAnt);
  if (positions) {
    if (positions.length < 3 * nAnt) throw new DsaError(`refant: ${positions.length / 3} antenna positions for ${nAnt} antennas`);
    let nUsed = 0;
    for (let a = 0; a < nAnt; a++) {
      if (!(good[a] > 0)) continue;
      cx += positions[3 * a]; cy += positions[3 * a + 1]; cz += positions[3 * a + 2]; nUsed++;
    }
    if (nUsed > 0) { cx /= nUsed; cy /= nUsed; cz /= nUsed; }
    for (let a = 0; a < nAnt; a++) {
      dist[a] = Math.hypot(positions[3 * a] - cx, positions[3 * a + 1] - cy, positions[3 * a + 2] - cz);
      if (good[a] > 0 && dist[a] > maxD) maxD = dist[a];
    }
  }
  let best = -1;
  for (let a = 0; a < nAnt; a++) {
    if (excluded.has(a) || !(good[a] > 0) || !(total[a] > 0)) continue;
    let partners = 0, others = 0;
    for (let k = 0; k < nAnt; k++) {
      if (k === a || !(total[k] > 0)) continue;
      others++;
      if (pairGood[a * nAnt + k] > 0) partners++;
    }
    const s = (good[a] / total[a]) * (others > 0 ? partners / others : 0) - (maxD > 0 ? 0.2 * dist[a] / maxD : 0);
    score[a] = s;
    if (best < 0 || s > score[best]) best = a;
  }
  if (best < 0) throw new DsaError('refant: no antenna has unflagged cross-correlation data (all data flagged?)');
  return { refant: best, score };
}

/** Resolve a user-given refant (index or name) against antenna names. */
export function resolveRefant(given: string | number, names: readonly string[]): number {
  if (typeof given === 'number' || /^\d+$/.test(given)) {
    const i = Number(given);
    if (i < 0 || i >= names.length) throw new UsageError(`refant ${given} out of range 0..${names.length - 1}`);
    return i;
  }
  const norm = (s: string) => s.trim().toLowerCase().replace(/[^a-z0-9]/g, '');
  const want = norm(given);
  const idx = names.findIndex((n) => norm(n) === want);
  if (idx < 0) {
    // Allow "pad103" / "103" style numeric suffix matching, e.g. DSA-103.
    const num = /(\d+)$/.exec(want)?.[1];
    const byNum = num ? names.findIndex((n) => Number(/(\d+)\s*$/.exec(n)?.[1]) === Number(num)) : -1;
    if (byNum >= 0) return byNum;
    throw new UsageError(`refant "${given}" is not an antenna of this measurement set`);
  }
  return idx;
}
