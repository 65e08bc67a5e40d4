/**
 * The heavy steps of a streamed calibrator solve as plain functions over (shared) typed arrays,
 * split by baseline range (model + sums of a time chunk) or channel range (bandpass solve, G
 * sums): ms-worker.ts runs them on worker threads, ms-pool.ts falls back to calling them here.
 * Disjoint ranges write disjoint parts of the outputs, so workers need no locking.
 */
import { predictPointSources } from './model.js';
import { solveCells } from './cells.js';
import type { ApplyKernelArgs } from './apply.js';

/** Model (point sources, per-integration beam) and per-channel sums for baselines [b0, b1) of a time chunk. */
export interface PredictAccumulateJob {
  op: 'predictAccumulate';
  nTime: number; nBl: number; nChan: number; nPol: number; nAnt: number;
  b0: number; b1: number;
  freqHz: Float64Array;
  /** [time, bl, 3] of the chunk. */
  uvw: Float64Array;
  phaseCentreRaRad: number; phaseCentreDecRad: number;
  /** Pointing per integration of the chunk. */
  pointingRaRad: Float64Array; pointingDecRad: Float64Array;
  dishDiameterM?: number;
  skyRa: Float64Array; skyDec: Float64Array; skyFlux: Float64Array;
  data: Float32Array; model: Float32Array; flag: Uint8Array; weight: Float32Array;
  ant1: Int32Array; ant2: Int32Array;
  xy: Float64Array; mm: Float64Array; vv: Float64Array; n: Float64Array;
  /** CORRECTED_DATA of an earlier apply that scaled the weights (restored first), or null. */
  oldCorrected: Float32Array | null;
}

/**
 * Undo an earlier apply's calwt on baselines [b0, b1) of a chunk: w ← w·|old|²/|data|²
 * (= w/|g_i g_j|², since old = data/(g_i g_j*)), where both are non-zero.
 */
export function restoreWeightsRange(
  data: Float32Array, old: Float32Array, weight: Float32Array, nTime: number, nBl: number, cp: number, b0: number, b1: number,
): void {
  for (let t = 0; t < nTime; t++) {
    const e = (t * nBl + b1) * cp;
    for (let i = (t * nBl + b0) * cp; i < e; i++) {
      const d2 = data[2 * i] * data[2 * i] + data[2 * i + 1] * data[2 * i + 1];
      const c2 = old[2 * i] * old[2 * i] + old[2 * i + 1] * old[2 * i + 1];
      if (d2 > 0 && c2 > 0) weight[i] *= c2 / d2;
    }
  }
}

/** Baselines per model block: the block's model rows stay in cache for the sums that follow. */
const PREDICT_BLOCK = 64;

export function predictAccumulate(j: PredictAccumulateJob): null {
  const cp = j.nChan * j.nPol;
  if (j.b1 <= j.b0) return null;
  if (j.oldCorrected !== null) restoreWeightsRange(j.data, j.oldCorrected, j.weight, j.nTime, j.nBl, cp, j.b0, j.b1);
  const sky = { raRad: j.skyRa, decRad: j.skyDec, fluxJy: j.skyFlux };
  for (let b0 = j.b0; b0 < j.b1; b0 += PREDICT_BLOCK) {
    const b1 = Math.min(j.b1, b0 + PREDICT_BLOCK);
    for (let t = 0; t < j.nTime; t++) {
      const r0 = t * j.nBl + b0, nb = b1 - b0;
      predictPointSources({
        nTime: 1, nBl: nb, nPol: j.nPol, freqHz: j.freqHz, uvw: j.uvw.subarray(3 * r0, 3 * (r0 + nb)),
        phaseCentreRaRad: j.phaseCentreRaRad, phaseCentreDecRad: j.phaseCentreDecRad,
        pointingRaRad: j.pointingRaRad.subarray(t, t + 1), pointingDecRad: j.pointingDecRad.subarray(t, t + 1),
        dishDiameterM: j.dishDiameterM, out: j.model.subarray(2 * r0 * cp, 2 * (r0 + nb) * cp),
      }, sky);
    }
    sumsNoPrior(j.data, j.model, j.flag, j.weight, j.ant1, j.ant2, j.nBl, cp, 0, j.nTime, b0, b1, j.xy, j.mm, j.vv, j.n);
  }
  return null;
}

/**
 * accumulateKernel's per-channel case without prior calibration (pass 1), for integrations
 * [t0, t1) and baselines [b0, b1): the same sums (xy += w V conj(M), mm += w|M|², vv += w|V|²,
 * n += 1 over unflagged positive-weight cross-correlations) without the general kernel's
 * branches, and baseline-outer so that a baseline's sums row (40 B per channel·pol) stays in
 * cache across the integrations instead of streaming the whole sums through memory each time.
 */
export function sumsNoPrior(
  data: Float32Array, model: Float32Array, flag: Uint8Array, weight: Float32Array, ant1: Int32Array, ant2: Int32Array,
  nBl: number, cp: number, t0: number, t1: number, b0: number, b1: number,
  xy: Float64Array, mm: Float64Array, vv: Float64Array, n: Float64Array,
): void {
  for (let b = b0; b < b1; b++) {
    if (ant1[b] === ant2[b]) continue;
    const sb = b * cp;
    for (let t = t0; t < t1; t++) {
      const base = (t * nBl + b) * cp;
      for (let k = 0; k < cp; k++) {
        const idx = base + k;
        if (flag[idx] !== 0) continue;
        const w = weight[idx];
        if (!(w > 0)) continue;
        const mr = model[2 * idx], mi = model[2 * idx + 1];
        const vr = data[2 * idx], vi = data[2 * idx + 1];
        const s = sb + k;
        xy[2 * s] += w * (vr * mr + vi * mi);
        xy[2 * s + 1] += w * (vi * mr - vr * mi);
        mm[s] += w * (mr * mr + mi * mi);
        vv[s] += w * (vr * vr + vi * vi);
        n[s] += 1;
      }
    }
  }
}

/**
 * Bandpass cells for channels [c0, c1): the [bl, chan, pol] sums with the prior (K) factor
 * applied are copied channel-major into `cm*` (flagged factors drop the cell), then StEFCal per
 * channel and pol (warm-started from the previous channel), results into raw gains
 * [chan, ant, pol] (complex, referenced to refant, not normalised), flags and SNR.
 */
export interface BandpassJob {
  op: 'bandpass';
  c0: number; c1: number;
  nBl: number; nChan: number; nPol: number; nAnt: number;
  ant1: Int32Array; ant2: Int32Array;
  xy: Float64Array; mm: Float64Array; vv: Float64Array; n: Float64Array;
  /** Prior per [ant, chan, pol] complex, and its flags (null: none). */
  preGain: Float64Array | null; preFlag: Uint8Array | null;
  cmXy: Float64Array; cmMm: Float64Array; cmVv: Float64Array; cmN: Float64Array;
  refant: number; minSnr: number; solve: boolean;
  rawGain: Float64Array; rawFlag: Uint8Array; rawSnr: Float32Array;
}

export function channelMajor(j: BandpassJob): void {
  const { nBl, nChan, nPol, ant1, ant2, xy, mm, vv, n, preGain: pg, preFlag: pf } = j;
  const per = nBl * nPol;
  const cp = nChan * nPol;
  const BLOCK = 32;
  for (let b0 = 0; b0 < nBl; b0 += BLOCK) {
    const b1 = Math.min(nBl, b0 + BLOCK);
    for (let c = j.c0; c < j.c1; c++) {
      for (let b = b0; b < b1; b++) {
        const i = ant1[b], k2 = ant2[b];
        for (let p = 0; p < nPol; p++) {
          const k = c * nPol + p;
          const s = b * cp + k;
          const d = c * per + b * nPol + p;
          if (i === k2 || !(n[s] > 0)) {
            j.cmXy[2 * d] = 0; j.cmXy[2 * d + 1] = 0; j.cmMm[d] = 0; j.cmVv[d] = 0; j.cmN[d] = 0;
            continue;
          }
          let xr = xy[2 * s], xi = xy[2 * s + 1], m = mm[s];
          if (pg !== null && pf !== null) {
            const ki = i * cp + k, kj = k2 * cp + k;
            if (pf[ki] || pf[kj]) {
              j.cmXy[2 * d] = 0; j.cmXy[2 * d + 1] = 0; j.cmMm[d] = 0; j.cmVv[d] = 0; j.cmN[d] = 0;
              continue;
            }
            // F = P_i conj(P_j); xy' = conj(F) xy; mm' = |F|² mm (the sums with the prior applied).
            const ar = pg[2 * ki], ai = pg[2 * ki + 1], br = pg[2 * kj], bi = -pg[2 * kj + 1];
            const fr = ar * br - ai * bi, fi = ar * bi + ai * br;
            const r = fr * xr + fi * xi;
            xi = fr * xi - fi * xr;
            xr = r;
            m *= fr * fr + fi * fi;
          }
          j.cmXy[2 * d] = xr; j.cmXy[2 * d + 1] = xi; j.cmMm[d] = m; j.cmVv[d] = vv[s]; j.cmN[d] = n[s];
        }
      }
    }
  }
}

export function bandpassCells(j: BandpassJob): null {
  channelMajor(j);
  if (!j.solve) return null;
  const { nBl, nPol, nAnt } = j;
  const per = nBl * nPol;
  const ap = nAnt * nPol;
  let start: Float64Array | undefined;
  for (let c = j.c0; c < j.c1; c++) {
    const sums = {
      nAnt, nBl, nChan: 1, nPol, ant1: j.ant1, ant2: j.ant2,
      xy: j.cmXy.subarray(2 * c * per, 2 * (c + 1) * per), mm: j.cmMm.subarray(c * per, (c + 1) * per),
      vv: j.cmVv.subarray(c * per, (c + 1) * per), n: j.cmN.subarray(c * per, (c + 1) * per), timeSum: 0, timeCount: 0,
    };
    const cells = solveCells(sums, { refant: j.refant, minSnr: j.minSnr, start });
    j.rawGain.set(cells.gain, 2 * c * ap);
    j.rawFlag.set(cells.flag, c * ap);
    for (let k = 0; k < ap; k++) j.rawSnr[c * ap + k] = cells.snr[k];
    let ok = false;
    for (let k = 0; k < ap; k++) if (!cells.flag[k]) { ok = true; break; }
    if (ok) start = cells.gain;
  }
  return null;
}

/** Channel-averaged sums over channels [c0, c1) of channel-major sums with a prior (BP) applied, into out [bl, pol]. */
export interface CollapseJob {
  op: 'collapse';
  c0: number; c1: number;
  nBl: number; nChan: number; nPol: number;
  ant1: Int32Array; ant2: Int32Array;
  cmXy: Float64Array; cmMm: Float64Array; cmVv: Float64Array; cmN: Float64Array;
  preGain: Float64Array | null; preFlag: Uint8Array | null;
  outXy: Float64Array; outMm: Float64Array; outVv: Float64Array; outN: Float64Array;
}

export function collapseChannels(j: CollapseJob): null {
  const { nBl, nChan, nPol, ant1, ant2, preGain: pg, preFlag: pf } = j;
  const per = nBl * nPol;
  const cp = nChan * nPol;
  for (let c = j.c0; c < j.c1; c++) {
    for (let b = 0; b < nBl; b++) {
      const i = ant1[b], k2 = ant2[b];
      if (i === k2) continue;
      for (let p = 0; p < nPol; p++) {
        const s = c * per + b * nPol + p;
        if (!(j.cmN[s] > 0)) continue;
        const d = b * nPol + p;
        let xr = j.cmXy[2 * s], xi = j.cmXy[2 * s + 1], m = j.cmMm[s];
        if (pg !== null && pf !== null) {
          const k = c * nPol + p;
          const ki = i * cp + k, kj = k2 * cp + k;
          if (pf[ki] || pf[kj]) continue;
          const ar = pg[2 * ki], ai = pg[2 * ki + 1], br = pg[2 * kj], bi = -pg[2 * kj + 1];
          const fr = ar * br - ai * bi, fi = ar * bi + ai * br;
          const r = fr * xr + fi * xi;
          xi = fr * xi - fi * xr;
          xr = r;
          m *= fr * fr + fi * fi;
        }
        j.outXy[2 * d] += xr; j.outXy[2 * d + 1] += xi; j.outMm[d] += m; j.outVv[d] += j.cmVv[s]; j.outN[d] += j.cmN[s];
      }
    }
  }
  return null;
}

/**
 * Apply calibration (CalApplier.prepare's kernel arguments; the same arithmetic as apply.ts's
 * applyKernel) to baselines [b0, b1) of a chunk, first restoring weights scaled by an earlier
 * apply (w ← w·|old|²/|data|², `oldCorrected`).
 * Returns [alreadyFlagged, flaggedBySolutions, nonFinite, anyNonZero (0/1)].
 */
export interface ApplyJob {
  op: 'apply';
  b0: number; b1: number;
  args: ApplyKernelArgs;
  oldCorrected: Float32Array | null;
}

export function applyRange(j: ApplyJob): [number, number, number, number] {
  const [data, flag, weight, ant1, ant2, nBl, nChan, nPol, nAnt, nTime, , , pg, gT, gF, calwt] = j.args;
  const old = weight !== null ? j.oldCorrected : null;
  const cp = nChan * nPol;
  const ap = nAnt * nPol;
  // Baseline outer, time inner: P_i conj(P_j) (K·BP) is computed once per baseline and reused
  // for every integration of the chunk (CalApplier's kernel recomputes it per integration).
  const fac = new Float64Array(2 * cp);
  const h = new Float64Array(2 * nPol);
  let already = 0, bySol = 0, nonFinite = 0, any = 0;
  for (let b = j.b0; b < j.b1; b++) {
    const i = ant1[b], k2 = ant2[b];
    if (pg !== null) {
      const gi = 2 * i * cp, gj = 2 * k2 * cp;
      for (let k = 0; k < cp; k++) {
        const ar = pg[gi + 2 * k], ai = pg[gi + 2 * k + 1], br = pg[gj + 2 * k], bi = -pg[gj + 2 * k + 1];
        fac[2 * k] = ar * br - ai * bi; // NaN where K or BP is flagged
        fac[2 * k + 1] = ar * bi + ai * br;
      }
    } else {
      for (let k = 0; k < cp; k++) { fac[2 * k] = 1; fac[2 * k + 1] = 0; }
    }
    for (let t = 0; t < nTime; t++) {
      for (let p = 0; p < nPol; p++) {
        const ki = t * ap + i * nPol + p, kj = t * ap + k2 * nPol + p;
        const ar = gT[2 * ki], ai = gT[2 * ki + 1], br = gT[2 * kj], bi = -gT[2 * kj + 1];
        const bad = gF[ki] | gF[kj];
        h[2 * p] = bad ? NaN : ar * br - ai * bi;
        h[2 * p + 1] = bad ? NaN : ar * bi + ai * br;
      }
      const base = (t * nBl + b) * cp;
      for (let c = 0, k = 0; c < nChan; c++) {
        for (let p = 0; p < nPol; p++, k++) {
          const idx = base + k;
          const vr = data[2 * idx], vi = data[2 * idx + 1];
          if (old !== null) {
            // Undo an earlier calwt: w ← w·|old|²/|data|².
            const d2 = vr * vr + vi * vi;
            const c2 = old[2 * idx] * old[2 * idx] + old[2 * idx + 1] * old[2 * idx + 1];
            if (d2 > 0 && c2 > 0) weight![idx] *= c2 / d2;
          }
          const inFlag = flag[idx];
          if (inFlag) already++;
          const fr0 = fac[2 * k], fi0 = fac[2 * k + 1], hr = h[2 * p], hi = h[2 * p + 1];
          const Fr = fr0 * hr - fi0 * hi, Fi = fr0 * hi + fi0 * hr;
          if (Fr !== Fr) {
            if (!inFlag) bySol++;
            flag[idx] = 1;
            data[2 * idx] = 0; data[2 * idx + 1] = 0;
            if (weight !== null) weight[idx] = 0;
            continue;
          }
          const F2 = Fr * Fr + Fi * Fi;
          const inv = 1 / F2;
          const cr = (vr * Fr + vi * Fi) * inv;
          const ci = (vi * Fr - vr * Fi) * inv;
          if (!(cr - cr === 0) || !(ci - ci === 0)) {
            if (!inFlag) nonFinite++;
            flag[idx] = 1;
            data[2 * idx] = 0; data[2 * idx + 1] = 0;
            if (weight !== null) weight[idx] = 0;
            continue;
          }
          data[2 * idx] = cr;
          data[2 * idx + 1] = ci;
          if (weight !== null && calwt) weight[idx] *= F2;
          if (!inFlag && (cr !== 0 || ci !== 0)) any = 1;
        }
      }
    }
  }
  return [already, bySol, nonFinite, any];
}

export type Job = PredictAccumulateJob | BandpassJob | CollapseJob | ApplyJob;

export function runJob(j: Job): unknown {
  switch (j.op) {
    case 'predictAccumulate': return predictAccumulate(j);
    case 'bandpass': return bandpassCells(j);
    case 'collapse': return collapseChannels(j);
    case 'apply': return applyRange(j);
  }
}
