/**
 * Per-baseline sufficient statistics for gain solving.
 *
 * Within a solution interval the gains are constant, so every solver only needs, per baseline
 * (and per channel unless averaged) and pol:  xy = Σ w·V·conj(M'),  mm = Σ w·|M'|²,
 * vv = Σ w·|V|² and the visibility count n, where M' is the model already corrupted by any
 * earlier calibration (K, BP).  One streaming pass over the data builds them; sums from several
 * time chunks simply add, so a command can stream an MS chunk by chunk.
 */
import { DsaError } from '../util/errors.js';
import { interpolateGains } from './interp.js';
import type { AntennaChanGains, BandpassTable, DelayTable, GainTable, VisChunk } from './types.js';

export interface BaselineSums {
  nAnt: number;
  nBl: number;
  /** Channels kept (1 when averaged over frequency). */
  nChan: number;
  nPol: number;
  ant1: Int32Array;
  ant2: Int32Array;
  /** Complex Σ w V conj(M') per [bl, chan, pol]. */
  xy: Float64Array;
  /** Σ w |M'|² per [bl, chan, pol]. */
  mm: Float64Array;
  /** Σ w |V|² per [bl, chan, pol]. */
  vv: Float64Array;
  /** Number of unflagged visibilities per [bl, chan, pol]. */
  n: Float64Array;
  /** Σ of the times (MJD s) and count of integrations that contributed, for the interval mid-time. */
  timeSum: number;
  timeCount: number;
}

/**
 * Zeroed sums. `shared` puts the arrays in SharedArrayBuffers so worker threads can fill them
 * (see parallel.ts).
 */
export function createSums(nAnt: number, ant1: Int32Array, ant2: Int32Array, nChan: number, nPol: number, shared = false): BaselineSums {
  const nBl = ant1.length;
  const m = nBl * nChan * nPol;
  const f64 = (len: number) => (shared ? new Float64Array(new SharedArrayBuffer(8 * len)) : new Float64Array(len));
  return {
    nAnt, nBl, nChan, nPol, ant1, ant2,
    xy: f64(2 * m), mm: f64(m), vv: f64(m), n: f64(m),
    timeSum: 0, timeCount: 0,
  };
}

export interface AccumulateOptions {
  /** Integration range within the chunk [tStart, tEnd). Default: all. */
  tStart?: number;
  tEnd?: number;
  /** Per-antenna (K·BP) factors to corrupt the model with before summing; flagged → skipped. */
  pre?: AntennaChanGains;
  /** Time-variable gains (interpolated per integration) to corrupt the model with as well. */
  preGains?: GainTable;
  /**
   * Channel-averaged sums only: solution-interval index per integration of the chunk; the sums
   * arrays then hold [interval, bl, pol] (see gains.ts). timeSum/timeCount are not updated.
   */
  intervalIndex?: Int32Array;
}

/**
 * Add the chunk's unflagged cross-correlations to `sums`. If sums.nChan is 1 and the chunk has
 * more channels, the channels are summed together (for frequency-independent G solutions).
 */
export function accumulateSums(chunk: VisChunk, sums: BaselineSums, opts: AccumulateOptions = {}): void {
  const args = prepareAccumulate(chunk, sums, opts);
  accumulateKernel(...args);
}

/** Arguments of accumulateKernel (all baselines); also adds the interval's times to sums. */
export type KernelArgs = Parameters<typeof accumulateKernel>;

/** Validate, build the prior-gain arrays and return the kernel arguments for all baselines. */
export function prepareAccumulate(chunk: VisChunk, sums: BaselineSums, opts: AccumulateOptions = {}): KernelArgs {
  const { nBl, nChan, nPol, ant1, ant2, data, flag, weight } = chunk;
  const model = chunk.model;
  if (!model) throw new DsaError('calibration needs MODEL_DATA but none was given');
  if (sums.nBl !== nBl || sums.nPol !== nPol || (sums.nChan !== nChan && sums.nChan !== 1)) {
    throw new DsaError(`baseline sums shape (${sums.nBl}×${sums.nChan}×${sums.nPol}) does not match data (${nBl}×${nChan}×${nPol})`);
  }
  // One-channel sums collect the channel sum (equivalent when the data have one channel).
  const avg = sums.nChan === 1;
  const t0 = opts.tStart ?? 0;
  const t1 = opts.tEnd ?? chunk.nTime;
  const pre = opts.pre;
  if (pre && (pre.nChan !== nChan || pre.nPol !== nPol)) throw new DsaError('prior calibration shape does not match data');
  // Time-variable G per integration [t, ant, pol] (complex) and flags.
  const preG = opts.preGains;
  let gT: Float64Array | undefined;
  let gF: Uint8Array | undefined;
  if (preG) {
    if (preG.nAnt !== chunk.nAnt || preG.nPol !== nPol) throw new DsaError('prior gain table shape does not match data');
    const ap = chunk.nAnt * nPol;
    gT = new Float64Array(2 * chunk.nTime * ap);
    gF = new Uint8Array(chunk.nTime * ap);
    const tmp = new Float64Array(2 * ap);
    const tmpF = new Uint8Array(ap);
    for (let t = t0; t < t1; t++) {
      interpolateGains(preG, chunk.timeMjdSec[t], tmp, tmpF);
      gT.set(tmp, 2 * t * ap);
      gF.set(tmpF, t * ap);
    }
  }
  // Antenna factors with NaN where flagged, so the hot loop needs no flag lookups.
  const pg = pre ? nanMarked(pre) : null;
  const iv = opts.intervalIndex ?? null;
  if (iv && !avg) throw new DsaError('interval-indexed sums need channel averaging');
  if (!iv) {
    for (let t = t0; t < t1; t++) {
      sums.timeSum += chunk.timeMjdSec[t];
      sums.timeCount++;
    }
  }
  return [
    data, model, flag, weight ?? null, ant1, ant2, nBl, nChan, nPol, chunk.nAnt, t0, t1, 0, nBl,
    pg, gT ?? null, gF ?? null, avg, iv, sums.xy, sums.mm, sums.vv, sums.n,
  ];
}

/** K·BP factors with NaN where flagged. */
export function nanMarked(pre: AntennaChanGains): Float64Array {
  const pg = Float64Array.from(pre.gain);
  for (let k = 0; k < pre.flag.length; k++) if (pre.flag[k]) { pg[2 * k] = NaN; pg[2 * k + 1] = NaN; }
  return pg;
}

/**
 * The hot loop, self-contained (no imports or closures) so that worker threads can run the
 * same source on a baseline range [bStart, bEnd) of shared arrays. Time outer, baseline inner:
 * the data are read sequentially. Row factor P_i conj(P_j) · G_i(t) conj(G_j(t)), NaN = flagged.
 */
export function accumulateKernel(
  data: Float32Array, model: Float32Array, flag: Uint8Array, weight: Float32Array | null,
  ant1: Int32Array, ant2: Int32Array, nBl: number, nChan: number, nPol: number, nAnt: number,
  t0: number, t1: number, bStart: number, bEnd: number,
  pg: Float64Array | null, gT: Float64Array | null, gF: Uint8Array | null, avg: boolean,
  interval: Int32Array | null, xy: Float64Array, mm: Float64Array, vv: Float64Array, n: Float64Array,
): void {
  const cp = nChan * nPol;
  const ap = nAnt * nPol;
  const hT = new Float64Array(2 * nPol);
  const fac = new Float64Array(2 * cp);
  const useFac = pg !== null || gT !== null;
  for (let t = t0; t < t1; t++) {
    for (let b = bStart; b < bEnd; b++) {
      const i = ant1[b];
      const j = ant2[b];
      if (i === j) continue;
      const base = (t * nBl + b) * cp;
      const sBase = avg ? ((interval === null ? 0 : interval[t]) * nBl + b) * nPol : b * cp;
      if (useFac) {
        for (let p = 0; p < nPol; p++) {
          if (gT !== null && gF !== null) {
            const ki = t * ap + i * nPol + p, kj = t * ap + j * nPol + p;
            const ar = gT[2 * ki], ai = gT[2 * ki + 1], br = gT[2 * kj], bi = -gT[2 * kj + 1];
            const bad = gF[ki] | gF[kj];
            hT[2 * p] = bad ? NaN : ar * br - ai * bi;
            hT[2 * p + 1] = bad ? NaN : ar * bi + ai * br;
          } else {
            hT[2 * p] = 1;
            hT[2 * p + 1] = 0;
          }
        }
        if (pg !== null) {
          const gi = 2 * i * cp, gj = 2 * j * cp;
          for (let c = 0, k = 0; c < nChan; c++) {
            for (let p = 0; p < nPol; p++, k++) {
              const ar = pg[gi + 2 * k], ai = pg[gi + 2 * k + 1];
              const br = pg[gj + 2 * k], bi = -pg[gj + 2 * k + 1];
              const cr = ar * br - ai * bi, ci = ar * bi + ai * br;
              const hr = hT[2 * p], hi = hT[2 * p + 1];
              fac[2 * k] = cr * hr - ci * hi;
              fac[2 * k + 1] = cr * hi + ci * hr;
            }
          }
        } else {
          for (let c = 0, k = 0; c < nChan; c++) {
            for (let p = 0; p < nPol; p++, k++) {
              fac[2 * k] = hT[2 * p];
              fac[2 * k + 1] = hT[2 * p + 1];
            }
          }
        }
      }
      let k = 0;
      for (let c = 0; c < nChan; c++) {
        for (let p = 0; p < nPol; p++, k++) {
          const idx = base + k;
          if (flag[idx] !== 0) continue;
          const w = weight === null ? 1 : weight[idx];
          if (!(w > 0)) continue;
          let mr = model[2 * idx], mi = model[2 * idx + 1];
          if (useFac) {
            const cr = fac[2 * k], ci = fac[2 * k + 1];
            if (cr !== cr) continue; // NaN: a prior solution is flagged
            const r = mr * cr - mi * ci;
            mi = mr * ci + mi * cr;
            mr = r;
          }
          const vr = data[2 * idx], vi = data[2 * idx + 1];
          const s = avg ? sBase + p : sBase + k;
          // V · conj(M)
          xy[2 * s] += w * (vr * mr + vi * mi);
          xy[2 * s + 1] += w * (vi * mr - vr * mi);
          mm[s] += w * (mr * mr + mi * mi);
          vv[s] += w * (vr * vr + vi * vi);
          n[s] += 1;
        }
      }
    }
  }
}

/**
 * Compose K and BP solutions into per-antenna channel gains g_i(ν) = K_i(ν)·B_i(ν) (either may
 * be absent). Frequencies must match the BP table's channels.
 */
export function antennaChanGains(
  nAnt: number, freqHz: Float64Array, nPol: number, k?: DelayTable, bp?: BandpassTable,
): AntennaChanGains {
  const nChan = freqHz.length;
  const gain = new Float64Array(2 * nAnt * nChan * nPol);
  const flag = new Uint8Array(nAnt * nChan * nPol);
  if (k && (k.nAnt !== nAnt || k.nPol !== nPol)) {
    throw new DsaError(`delay table has ${k.nAnt} antennas × ${k.nPol} pols, data has ${nAnt} × ${nPol}`);
  }
  if (bp && (bp.nAnt !== nAnt || bp.nPol !== nPol || bp.nChan !== nChan)) {
    throw new DsaError(`bandpass table has ${bp.nAnt} antennas × ${bp.nChan} channels × ${bp.nPol} pols, data has ${nAnt} × ${nChan} × ${nPol}`);
  }
  if (bp) {
    for (let c = 0; c < nChan; c++) {
      if (Math.abs(bp.freqHz[c] - freqHz[c]) > 1) {
        throw new DsaError(`bandpass table channel ${c} is at ${bp.freqHz[c]} Hz, data at ${freqHz[c]} Hz (different spectral setup)`);
      }
    }
  }
  for (let a = 0; a < nAnt; a++) {
    for (let p = 0; p < nPol; p++) {
      const kFlag = k ? k.flag[a * nPol + p] : 0;
      const tau = k ? k.delayNs[a * nPol + p] * 1e-9 : 0;
      for (let c = 0; c < nChan; c++) {
        const idx = (a * nChan + c) * nPol + p;
        let gr = 1, gi = 0;
        if (k) {
          // K_i(ν) = exp(−2πi ν τ); reduce ν·τ modulo 1 first to keep precision.
          let x = freqHz[c] * tau;
          x -= Math.round(x);
          const ph = -2 * Math.PI * x;
          gr = Math.cos(ph);
          gi = Math.sin(ph);
        }
        let f = kFlag;
        if (bp) {
          const br = bp.gain[2 * idx], bi = bp.gain[2 * idx + 1];
          const r = gr * br - gi * bi;
          gi = gr * bi + gi * br;
          gr = r;
          if (bp.flag[idx]) f = 1;
        }
        gain[2 * idx] = gr;
        gain[2 * idx + 1] = gi;
        flag[idx] = f;
      }
    }
  }
  return { nAnt, nChan, nPol, gain, flag };
}

/** Throw a clear error when no unflagged cross-correlation contributed to the sums. */
export function assertHasData(sums: BaselineSums, what: string): void {
  let any = false;
  for (let s = 0; s < sums.n.length; s++) if (sums.n[s] > 0 && sums.mm[s] > 0) { any = true; break; }
  if (!any) throw new DsaError(`${what}: no unflagged cross-correlation data with a non-zero model (all data flagged?)`);
}
