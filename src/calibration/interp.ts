/**
 * Time interpolation of G solutions (shared by apply and by solvers that pre-apply G).
 * Per antenna/pol: flagged when the solution nearest in time is flagged; otherwise amplitude and
 * phase are interpolated linearly between the bracketing unflagged solutions (phase along the
 * shorter arc), clamped outside the solved range.
 */
import type { GainTable } from './types.js';

/** Interpolate G to time t: writes complex gains [ant, pol] and flags into the outputs. */
export function interpolateGains(g: GainTable, t: number, out: Float64Array, outFlag: Uint8Array): void {
  const { nTime, nAnt, nPol, timeMjdSec, gain, flag } = g;
  // Nearest solution (times are ascending).
  let near = 0;
  for (let s = 1; s < nTime; s++) if (Math.abs(timeMjdSec[s] - t) < Math.abs(timeMjdSec[near] - t)) near = s;
  for (let a = 0; a < nAnt; a++) {
    for (let p = 0; p < nPol; p++) {
      const k = a * nPol + p;
      const stride = nAnt * nPol;
      if (flag[near * stride + k]) {
        outFlag[k] = 1; out[2 * k] = 1; out[2 * k + 1] = 0;
        continue;
      }
      // Bracketing unflagged solutions.
      let lo = -1, hi = -1;
      for (let s = 0; s < nTime; s++) {
        if (flag[s * stride + k]) continue;
        if (timeMjdSec[s] <= t) lo = s;
        else if (hi < 0) hi = s;
      }
      outFlag[k] = 0;
      const i0 = lo >= 0 ? lo : hi;
      const i1 = hi >= 0 ? hi : lo;
      const r0 = gain[2 * (i0 * stride + k)], m0 = gain[2 * (i0 * stride + k) + 1];
      if (i0 === i1 || timeMjdSec[i1] === timeMjdSec[i0]) {
        out[2 * k] = r0; out[2 * k + 1] = m0;
        continue;
      }
      const r1 = gain[2 * (i1 * stride + k)], m1 = gain[2 * (i1 * stride + k) + 1];
      const f = (t - timeMjdSec[i0]) / (timeMjdSec[i1] - timeMjdSec[i0]);
      const a0 = Math.hypot(r0, m0), a1 = Math.hypot(r1, m1);
      const p0 = Math.atan2(m0, r0);
      let dp = Math.atan2(m1, r1) - p0;
      dp -= 2 * Math.PI * Math.round(dp / (2 * Math.PI));
      const amp = a0 + f * (a1 - a0);
      const ph = p0 + f * dp;
      out[2 * k] = amp * Math.cos(ph);
      out[2 * k + 1] = amp * Math.sin(ph);
    }
  }
}

