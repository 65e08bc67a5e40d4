/** Flag statistics computed from FLAG and the baseline antennas. */
import type { Cube, FlagSummary } from './types.js';

/**
 * Flagged fractions: total, by antenna (each baseline counts for both its antennas, autos once;
 * NaN for antenna numbers without baselines), by channel, time, polarisation and baseline.
 */
export function flagSummary(cube: Pick<Cube, 'nTime' | 'nBl' | 'nChan' | 'nPol' | 'flags' | 'ant1' | 'ant2'>): FlagSummary {
  const { nTime, nBl, nChan, nPol, flags, ant1, ant2 } = cube;
  const byChan = new Float64Array(nChan);
  const byTime = new Float64Array(nTime);
  const byPol = new Float64Array(nPol);
  const byBl = new Float64Array(nBl);
  let total = 0;
  for (let t = 0; t < nTime; t++) {
    let st = 0;
    for (let b = 0; b < nBl; b++) {
      const base = (t * nBl + b) * nChan * nPol;
      let sb = 0;
      for (let c = 0; c < nChan; c++) {
        const i0 = base + c * nPol;
        let sc = 0;
        for (let p = 0; p < nPol; p++) {
          const f = flags[i0 + p];
          sc += f;
          byPol[p] += f;
        }
        byChan[c] += sc;
        sb += sc;
      }
      byBl[b] += sb;
      st += sb;
    }
    byTime[t] = st;
    total += st;
  }
  let nAnt = 0;
  for (let b = 0; b < nBl; b++) nAnt = Math.max(nAnt, ant1[b] + 1, ant2[b] + 1);
  const num = new Float64Array(nAnt);
  const den = new Float64Array(nAnt);
  const perBl = nTime * nChan * nPol;
  for (let b = 0; b < nBl; b++) {
    num[ant1[b]] += byBl[b];
    den[ant1[b]] += perBl;
    if (ant2[b] !== ant1[b]) { num[ant2[b]] += byBl[b]; den[ant2[b]] += perBl; }
  }
  const byAntenna = new Float64Array(nAnt);
  for (let a = 0; a < nAnt; a++) byAntenna[a] = den[a] > 0 ? num[a] / den[a] : NaN;
  for (let c = 0; c < nChan; c++) byChan[c] /= nTime * nBl * nPol;
  for (let t = 0; t < nTime; t++) byTime[t] /= nBl * nChan * nPol;
  for (let p = 0; p < nPol; p++) byPol[p] /= nTime * nBl * nChan;
  for (let b = 0; b < nBl; b++) byBl[b] /= perBl;
  const n = flags.length;
  return { total: n > 0 ? total / n : 0, byAntenna, byChannel: byChan, byTime, byPol, byBaseline: byBl };
}
