/**
 * Apply K, BP and G solutions: corrected = V / (g_i · conj(g_j)) with g = K·BP·G (types.ts),
 * weights × |g_i g_j|² (CASA calwt), in place on a time chunk so a command can stream an MS.
 *
 * - K and BP: one table each (the command picks the right one by time); flagged solutions flag
 *   the data.
 * - G: per antenna/pol, the data are flagged when the solution nearest in time is flagged;
 *   otherwise amplitude and phase are interpolated linearly in time between the bracketing
 *   unflagged solutions (phase along the shorter arc), clamped outside the solved range.
 * - Flagged or non-finite results are set to 0 with weight 0 and FLAG = 1, so the output is
 *   always finite.
 */
import { DsaError } from '../util/errors.js';
import { antennaChanGains } from './sums.js';
import { interpolateGains } from './interp.js';

export { interpolateGains };
import type { AntennaChanGains, BandpassTable, DelayTable, GainTable, VisChunk } from './types.js';

export interface ApplyTables {
  delays?: DelayTable;
  bandpass?: BandpassTable;
  gains?: GainTable;
}

export interface ApplyOptions {
  /** Scale weights by |g_i g_j|² (default true). */
  calwt?: boolean;
}

export interface ApplyCounts {
  /** Visibilities processed. */
  visibilities: number;
  /** Already flagged on input. */
  alreadyFlagged: number;
  /** Newly flagged because a solution was flagged. */
  flaggedBySolutions: number;
  /** Newly flagged because the corrected value was not finite. */
  nonFinite: number;
}

export type ApplyChunk = Pick<VisChunk, 'nTime' | 'nBl' | 'nChan' | 'nPol' | 'ant1' | 'ant2' | 'timeMjdSec' | 'data' | 'flag' | 'weight'>;

export function emptyCounts(): ApplyCounts {
  return { visibilities: 0, alreadyFlagged: 0, flaggedBySolutions: 0, nonFinite: 0 };
}

export function addCounts(a: ApplyCounts, b: ApplyCounts): ApplyCounts {
  return {
    visibilities: a.visibilities + b.visibilities,
    alreadyFlagged: a.alreadyFlagged + b.alreadyFlagged,
    flaggedBySolutions: a.flaggedBySolutions + b.flaggedBySolutions,
    nonFinite: a.nonFinite + b.nonFinite,
  };
}

/** Reusable applier: precomputes K·BP once, then corrects any number of time chunks. */
export class CalApplier {
  readonly nAnt: number;
  readonly nChan: number;
  readonly nPol: number;
  /** K·BP per [ant, chan, pol] with NaN where flagged (null: no K/BP). */
  private readonly staticNaN: Float64Array | null;
  private readonly gains: GainTable | undefined;
  private readonly calwt: boolean;

  constructor(nAnt: number, freqHz: Float64Array, nPol: number, tables: ApplyTables, opts: ApplyOptions = {}) {
    if (!tables.delays && !tables.bandpass && !tables.gains) throw new DsaError('apply: no calibration tables given');
    this.nAnt = nAnt;
    this.nChan = freqHz.length;
    this.nPol = nPol;
    this.calwt = opts.calwt ?? true;
    const st: AntennaChanGains | undefined = tables.delays || tables.bandpass
      ? antennaChanGains(nAnt, freqHz, nPol, tables.delays, tables.bandpass)
      : undefined;
    this.staticNaN = null;
    if (st) {
      const g = Float64Array.from(st.gain);
      for (let k = 0; k < st.flag.length; k++) if (st.flag[k]) { g[2 * k] = NaN; g[2 * k + 1] = NaN; }
      this.staticNaN = g;
    }
    const g = tables.gains;
    if (g) {
      if (g.nAnt !== nAnt || g.nPol !== nPol) throw new DsaError(`gain table has ${g.nAnt} antennas × ${g.nPol} pols, data has ${nAnt} × ${nPol}`);
      if (g.nTime < 1) throw new DsaError('gain table has no solutions');
    }
    this.gains = g;
  }

  /** Correct `chunk.data` in place (FLAG and WEIGHT_SPECTRUM updated too). */
  applyChunk(chunk: ApplyChunk): ApplyCounts {
    const args = this.prepare(chunk);
    const [already, bySol, nonFinite] = applyKernel(...args);
    return { visibilities: chunk.nTime * chunk.nBl * chunk.nChan * chunk.nPol, alreadyFlagged: already, flaggedBySolutions: bySol, nonFinite };
  }

  /** Validate the chunk, interpolate G to its integrations and return the kernel arguments. */
  prepare(chunk: ApplyChunk): ApplyKernelArgs {
    const { nTime, nBl, nChan, nPol, ant1, ant2, data, flag, weight } = chunk;
    if (nChan !== this.nChan || nPol !== this.nPol) {
      throw new DsaError(`apply: data have ${nChan} channels × ${nPol} pols, tables ${this.nChan} × ${this.nPol}`);
    }
    const nAnt = this.nAnt;
    const ap = nAnt * nPol;
    // G per integration of the chunk: [t, ant, pol].
    const gT = new Float64Array(2 * nTime * ap);
    const gF = new Uint8Array(nTime * ap);
    if (this.gains) {
      const tmp = new Float64Array(2 * ap);
      const tmpF = new Uint8Array(ap);
      for (let t = 0; t < nTime; t++) {
        interpolateGains(this.gains, chunk.timeMjdSec[t], tmp, tmpF);
        gT.set(tmp, 2 * t * ap);
        gF.set(tmpF, t * ap);
      }
    } else {
      for (let k = 0; k < nTime * ap; k++) gT[2 * k] = 1;
    }
    for (let b = 0; b < nBl; b++) {
      const i = ant1[b], j = ant2[b];
      if (i < 0 || j < 0 || i >= nAnt || j >= nAnt) throw new DsaError(`apply: baseline ${b} has antenna index out of range`);
    }
    return [data, flag, weight ?? null, ant1, ant2, nBl, nChan, nPol, nAnt, nTime, 0, nBl, this.staticNaN, gT, gF, this.calwt];
  }
}

export type ApplyKernelArgs = Parameters<typeof applyKernel>;

/**
 * The apply hot loop on baselines [bStart, bEnd), self-contained so worker threads can run its
 * source on shared arrays. pg: K·BP per [ant, chan, pol] with NaN where flagged (or null);
 * gT/gF: G per [t, ant, pol] and its flags. Returns [alreadyFlagged, flaggedBySolutions, nonFinite].
 */
export function applyKernel(
  data: Float32Array, flag: Uint8Array, weight: Float32Array | null, ant1: Int32Array, ant2: Int32Array,
  nBl: number, nChan: number, nPol: number, nAnt: number, nTime: number, bStart: number, bEnd: number,
  pg: Float64Array | null, gT: Float64Array, gF: Uint8Array, calwt: boolean,
): [number, number, number] {
  const cp = nChan * nPol;
  const ap = nAnt * nPol;
  const h = new Float64Array(2 * nPol);
  let already = 0, bySol = 0, nonFinite = 0;
  // Time outer, baseline inner: data, flags and weights are walked sequentially.
  for (let t = 0; t < nTime; t++) {
    for (let b = bStart; b < bEnd; b++) {
      const i = ant1[b], j = ant2[b];
      const base = (t * nBl + b) * cp;
      // h_p = G_i conj(G_j) for this integration (NaN when a G solution is flagged).
      for (let p = 0; p < nPol; p++) {
        const ki = t * ap + i * nPol + p, kj = t * ap + j * nPol + p;
        const ar = gT[2 * ki], ai = gT[2 * ki + 1];
        const br = gT[2 * kj], bi = -gT[2 * kj + 1];
        const bad = gF[ki] | gF[kj];
        h[2 * p] = bad ? NaN : ar * br - ai * bi;
        h[2 * p + 1] = bad ? NaN : ar * bi + ai * br;
      }
      const gi = 2 * i * cp, gj = 2 * j * cp;
      let k = 0;
      for (let c = 0; c < nChan; c++) {
        for (let p = 0; p < nPol; p++, k++) {
          const idx = base + k;
          const inFlag = flag[idx];
          if (inFlag) already++;
          const hr = h[2 * p], hi = h[2 * p + 1];
          let Fr = hr, Fi = hi;
          if (pg !== null) {
            // P_i conj(P_j) (NaN where K or BP is flagged) times h.
            const ar = pg[gi + 2 * k], ai = pg[gi + 2 * k + 1];
            const br = pg[gj + 2 * k], bi = -pg[gj + 2 * k + 1];
            const fr0 = ar * br - ai * bi, fi0 = ar * bi + ai * br;
            Fr = fr0 * hr - fi0 * hi;
            Fi = fr0 * hi + fi0 * hr;
          }
          if (Fr !== Fr) {
            // A K, BP or G solution is flagged (NaN propagates).
            if (!inFlag) bySol++;
            flag[idx] = 1;
            data[2 * idx] = 0; data[2 * idx + 1] = 0;
            if (weight !== null) weight[idx] = 0;
            continue;
          }
          const F2 = Fr * Fr + Fi * Fi;
          const vr = data[2 * idx], vi = data[2 * idx + 1];
          // V / F = V·conj(F)/|F|²
          const inv = 1 / F2;
          const cr = (vr * Fr + vi * Fi) * inv;
          const ci = (vi * Fr - vr * Fi) * inv;
          if (!(cr - cr === 0) || !(ci - ci === 0)) {
            // Not finite (zero gain, or non-finite input).
            if (!inFlag) nonFinite++;
            flag[idx] = 1;
            data[2 * idx] = 0; data[2 * idx + 1] = 0;
            if (weight !== null) weight[idx] = 0;
            continue;
          }
          data[2 * idx] = cr;
          data[2 * idx + 1] = ci;
          if (weight !== null && calwt) weight[idx] *= F2;
        }
      }
    }
  }
  return [already, bySol, nonFinite];
}

/** One-shot convenience: correct a whole chunk in place. */
export function applyCalibration(chunk: ApplyChunk & { nAnt: number; freqHz: Float64Array }, tables: ApplyTables, opts: ApplyOptions = {}): ApplyCounts {
  return new CalApplier(chunk.nAnt, chunk.freqHz, chunk.nPol, tables, opts).applyChunk(chunk);
}
