/**
 * Run StEFCal on every (channel, pol) cell of a BaselineSums and reference the phases to refant.
 * Shared by the bandpass (per channel) and gain (channel-averaged) solvers.
 */
import { stefcal, stefcalResidual, type StefcalProblem } from './stefcal.js';
import type { BaselineSums } from './sums.js';

export interface CellSolveOptions {
  refant: number;
  phaseOnly?: boolean;
  tol?: number;
  maxIter?: number;
  /** Solutions with SNR below this are flagged (default 3). */
  minSnr?: number;
  /** Optional starting gains, complex [chan, ant, pol] like the result. */
  start?: Float64Array;
}

export interface CellSolution {
  nChan: number;
  nAnt: number;
  nPol: number;
  /** Complex gains per [chan, ant, pol]. */
  gain: Float64Array;
  flag: Uint8Array;
  snr: Float64Array;
  /** Iterations used, max over cells, and number of cells that did not converge. */
  maxIterations: number;
  unconverged: number;
}

export function solveCells(sums: BaselineSums, opts: CellSolveOptions): CellSolution {
  const { nAnt, nBl, nChan, nPol, ant1, ant2 } = sums;
  const minSnr = opts.minSnr ?? 3;
  const refant = opts.refant;
  const gain = new Float64Array(2 * nChan * nAnt * nPol);
  const flag = new Uint8Array(nChan * nAnt * nPol);
  const snr = new Float64Array(nChan * nAnt * nPol);
  const prob: StefcalProblem = { nAnt, nBl, ant1, ant2, xy: new Float64Array(2 * nBl), mm: new Float64Array(nBl) };
  const vv = new Float64Array(nBl);
  const g = new Float64Array(2 * nAnt);
  const info = new Float64Array(nAnt);
  const hasData = new Uint8Array(nAnt);
  const scratch = new Float64Array(4 * nAnt);
  // Last converged solution per pol (warm start for the next channel).
  const warm = new Float64Array(2 * nPol * nAnt);
  let maxIterations = 0;
  let unconverged = 0;
  for (let c = 0; c < nChan; c++) {
    for (let p = 0; p < nPol; p++) {
      // Gather this cell's sums into contiguous per-baseline arrays.
      hasData.fill(0);
      let nVis = 0;
      for (let b = 0; b < nBl; b++) {
        const s = (b * nChan + c) * nPol + p;
        const m = sums.mm[s];
        prob.xy[2 * b] = sums.xy[2 * s];
        prob.xy[2 * b + 1] = sums.xy[2 * s + 1];
        prob.mm[b] = m;
        vv[b] = sums.vv[s];
        if (m > 0 && ant1[b] !== ant2[b]) {
          hasData[ant1[b]] = 1;
          hasData[ant2[b]] = 1;
          nVis += sums.n[s];
        }
      }
      let nActive = 0;
      const prev = warm.subarray(2 * p * nAnt, 2 * (p + 1) * nAnt);
      for (let a = 0; a < nAnt; a++) {
        const o = 2 * ((c * nAnt + a) * nPol + p);
        if (hasData[a]) {
          nActive++;
          if (opts.start && (opts.start[o] !== 0 || opts.start[o + 1] !== 0)) {
            g[2 * a] = opts.start[o];
            g[2 * a + 1] = opts.start[o + 1];
          } else if (prev[2 * a] !== 0 || prev[2 * a + 1] !== 0) {
            // Warm start from the previous channel's (unreferenced) solution: bandpasses are
            // smooth, so StEFCal then needs only a few iterations.
            g[2 * a] = prev[2 * a];
            g[2 * a + 1] = prev[2 * a + 1];
          } else {
            g[2 * a] = 1;
            g[2 * a + 1] = 0;
          }
        } else {
          g[2 * a] = 0;
          g[2 * a + 1] = 0;
        }
      }
      const cellFlag = (a: number) => (c * nAnt + a) * nPol + p;
      if (nActive < 2 || !hasData[refant]) {
        // Nothing to solve, or the phases cannot be referenced: flag the whole cell.
        for (let a = 0; a < nAnt; a++) flag[cellFlag(a)] = 1;
        continue;
      }
      const res = stefcal(prob, g, { tol: opts.tol ?? 1e-6, maxIter: opts.maxIter ?? 200, phaseOnly: opts.phaseOnly }, scratch);
      if (res.converged) prev.set(g);
      if (res.iterations > maxIterations) maxIterations = res.iterations;
      if (!res.converged) unconverged++;
      const chi2 = stefcalResidual(prob, vv, g, info);
      const dof = nVis - nActive;
      // Complex noise variance per unit weight; 0 when noise-free / no redundancy.
      const sigma2 = dof > 0 ? chi2 / dof : 0;
      // Reference phases to refant: multiply by conj(g_ref)/|g_ref|.
      const rr = g[2 * refant], ri = g[2 * refant + 1];
      const ra = Math.hypot(rr, ri);
      const ur = ra > 0 ? rr / ra : 1;
      const ui = ra > 0 ? -ri / ra : 0;
      for (let a = 0; a < nAnt; a++) {
        const k = cellFlag(a);
        const gr = g[2 * a], gi = g[2 * a + 1];
        gain[2 * k] = gr * ur - gi * ui;
        gain[2 * k + 1] = gr * ui + gi * ur;
        const amp = Math.hypot(gr, gi);
        let s = 0;
        if (hasData[a] && info[a] > 0 && amp > 0) {
          s = sigma2 > 0 ? amp / Math.sqrt(sigma2 / info[a]) : 1e9;
        }
        snr[k] = Math.min(s, 1e9);
        if (!hasData[a] || !(amp > 0) || !Number.isFinite(amp) || s < minSnr) flag[k] = 1;
      }
    }
  }
  return { nChan, nAnt, nPol, gain, flag, snr, maxIterations, unconverged };
}
