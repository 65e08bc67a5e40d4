/**
 * Bandpass (BP) solutions: StEFCal per antenna, channel and pol over the whole solution
 * interval, after removing the delays; normalised to unit mean amplitude per antenna/pol over
 * unflagged channels; phases referenced to refant; solutions with SNR < minSnr flagged.
 */
import { DsaError } from '../util/errors.js';
import { solveCells } from './cells.js';
import { accumulateSums, antennaChanGains, assertHasData, createSums, type BaselineSums } from './sums.js';
import type { BandpassTable, DelayTable, GainTable, VisChunk } from './types.js';

export interface BandpassOptions {
  refant: number;
  /** Delay solutions removed before solving (K·BP convention, see types.ts). */
  delays?: DelayTable;
  /**
   * Time-variable gains (usually a short-interval phase-only G solved after K) removed before
   * solving, so that gain drifts during the transit do not leak into the bandpass shape.
   */
  gains?: GainTable;
  /** Flag solutions below this SNR (default 3). */
  minSnr?: number;
  tol?: number;
  maxIter?: number;
}

/** Sums for a bandpass solve (one streaming pass; call again with more chunks to add). */
export function bandpassSums(chunk: VisChunk, opts: Pick<BandpassOptions, 'delays' | 'gains'>, into?: BaselineSums): BaselineSums {
  const sums = into ?? createSums(chunk.nAnt, chunk.ant1, chunk.ant2, chunk.nChan, chunk.nPol);
  const pre = opts.delays ? antennaChanGains(chunk.nAnt, chunk.freqHz, chunk.nPol, opts.delays) : undefined;
  accumulateSums(chunk, sums, { pre, preGains: opts.gains });
  return sums;
}

export function solveBandpass(chunk: VisChunk, opts: BandpassOptions): BandpassTable {
  return bandpassFromSums(bandpassSums(chunk, opts), chunk.freqHz, opts);
}

export function bandpassFromSums(sums: BaselineSums, freqHz: Float64Array, opts: BandpassOptions): BandpassTable {
  const { nAnt, nChan, nPol } = sums;
  if (freqHz.length !== nChan) throw new DsaError(`bandpass: ${freqHz.length} frequencies for ${nChan} channels`);
  if (opts.refant < 0 || opts.refant >= nAnt) throw new DsaError(`bandpass: refant ${opts.refant} out of range 0..${nAnt - 1}`);
  assertHasData(sums, 'bandpass solve');
  const cells = solveCells(sums, { refant: opts.refant, minSnr: opts.minSnr ?? 3, tol: opts.tol, maxIter: opts.maxIter });
  // Reorder [chan, ant, pol] → [ant, chan, pol] and normalise amplitudes.
  const gain = new Float32Array(2 * nAnt * nChan * nPol);
  const flag = new Uint8Array(nAnt * nChan * nPol);
  const snr = new Float32Array(nAnt * nChan * nPol);
  for (let a = 0; a < nAnt; a++) {
    for (let p = 0; p < nPol; p++) {
      let sumAmp = 0;
      let count = 0;
      for (let c = 0; c < nChan; c++) {
        const k = (c * nAnt + a) * nPol + p;
        if (cells.flag[k]) continue;
        sumAmp += Math.hypot(cells.gain[2 * k], cells.gain[2 * k + 1]);
        count++;
      }
      const scale = count > 0 && sumAmp > 0 ? count / sumAmp : 1;
      for (let c = 0; c < nChan; c++) {
        const k = (c * nAnt + a) * nPol + p;
        const o = (a * nChan + c) * nPol + p;
        snr[o] = cells.snr[k];
        if (count === 0 || cells.flag[k]) {
          flag[o] = 1;
          gain[2 * o] = 1;
          gain[2 * o + 1] = 0;
          continue;
        }
        gain[2 * o] = cells.gain[2 * k] * scale;
        gain[2 * o + 1] = cells.gain[2 * k + 1] * scale;
      }
    }
  }
  return {
    type: 'BP', nAnt, nChan, nPol, freqHz: Float64Array.from(freqHz), gain, flag, snr,
    refant: opts.refant, timeMjdSec: sums.timeCount > 0 ? sums.timeSum / sums.timeCount : NaN,
  };
}
