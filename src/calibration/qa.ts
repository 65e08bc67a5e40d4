/**
 * Quality figures of a calibration table, and the pass/fail rule used before a table is made
 * active in the registry: fail when more than 50 % of the solutions are flagged or fewer than
 * 10 antennas are good (an antenna is good when at most half of its solutions are flagged).
 */
import type { CalTable } from './types.js';

export interface CalQa {
  type: CalTable['type'];
  nAnt: number;
  nSolutions: number;
  flaggedFraction: number;
  /** Median SNR of unflagged solutions (NaN if none). */
  medianSnr: number;
  goodAntennas: number;
  /** G tables: rms over time of each antenna's phase about its circular mean, degrees, [ant, pol] (NaN where < 2 unflagged). */
  phaseScatterDeg?: Float64Array;
  /** Median of phaseScatterDeg over antennas/pols with a value (G tables). */
  medianPhaseScatterDeg?: number;
  passes: boolean;
  /** Why it failed (empty when it passes). */
  reasons: string[];
}

export interface QaLimits {
  maxFlaggedFraction?: number;
  minGoodAntennas?: number;
}

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const v = values.slice().sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

export function calTableQa(table: CalTable, limits: QaLimits = {}): CalQa {
  const maxFlagged = limits.maxFlaggedFraction ?? 0.5;
  const minGood = limits.minGoodAntennas ?? 10;
  const { nAnt, nPol, flag, snr } = table;
  // Solutions per antenna: layout [.., ant, ..] differs by type; express as (outer, ant, inner).
  let outer = 1, inner = nPol;
  if (table.type === 'BP') inner = table.nChan * nPol;
  if (table.type === 'G') outer = table.nTime;
  const perAntFlag = new Float64Array(nAnt);
  const perAntTotal = new Float64Array(nAnt);
  let nFlag = 0;
  const snrs: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (let a = 0; a < nAnt; a++) {
      for (let q = 0; q < inner; q++) {
        const k = (o * nAnt + a) * inner + q;
        perAntTotal[a]++;
        if (flag[k]) { perAntFlag[a]++; nFlag++; } else snrs.push(snr[k]);
      }
    }
  }
  let good = 0;
  for (let a = 0; a < nAnt; a++) if (perAntTotal[a] > 0 && perAntFlag[a] <= 0.5 * perAntTotal[a]) good++;
  const nSolutions = flag.length;
  const flaggedFraction = nSolutions > 0 ? nFlag / nSolutions : 1;
  const qa: CalQa = {
    type: table.type, nAnt, nSolutions, flaggedFraction, medianSnr: median(snrs), goodAntennas: good,
    passes: true, reasons: [],
  };
  if (table.type === 'G') {
    const sc = new Float64Array(nAnt * nPol).fill(NaN);
    const vals: number[] = [];
    for (let a = 0; a < nAnt; a++) {
      for (let p = 0; p < nPol; p++) {
        let sr = 0, si = 0, n = 0;
        for (let t = 0; t < table.nTime; t++) {
          const k = (t * nAnt + a) * nPol + p;
          if (flag[k]) continue;
          const ph = Math.atan2(table.gain[2 * k + 1], table.gain[2 * k]);
          sr += Math.cos(ph); si += Math.sin(ph); n++;
        }
        if (n < 2) continue;
        const mean = Math.atan2(si, sr);
        let s2 = 0;
        for (let t = 0; t < table.nTime; t++) {
          const k = (t * nAnt + a) * nPol + p;
          if (flag[k]) continue;
          let d = Math.atan2(table.gain[2 * k + 1], table.gain[2 * k]) - mean;
          d -= 2 * Math.PI * Math.round(d / (2 * Math.PI));
          s2 += d * d;
        }
        const v = (Math.sqrt(s2 / n) * 180) / Math.PI;
        sc[a * nPol + p] = v;
        if (a !== table.refant) vals.push(v);
      }
    }
    qa.phaseScatterDeg = sc;
    qa.medianPhaseScatterDeg = median(vals);
  }
  if (flaggedFraction > maxFlagged) qa.reasons.push(`${(100 * flaggedFraction).toFixed(1)} % of solutions flagged (limit ${(100 * maxFlagged).toFixed(0)} %)`);
  if (good < minGood) qa.reasons.push(`only ${good} good antennas (need ${minGood})`);
  qa.passes = qa.reasons.length === 0;
  return qa;
}

export function passesQa(table: CalTable, limits: QaLimits = {}): boolean {
  return calTableQa(table, limits).passes;
}
