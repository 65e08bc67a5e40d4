/**
 * StEFCal (Salvini & Wijnholds 2014, A&A 571, A97) on per-baseline sufficient statistics.
 *
 * Minimises Σ_b w|V_b − g_i conj(g_j) M_b|² over the antenna gains g for one solution cell
 * (one pol, one channel or channel average, one time interval). Because the gains are constant
 * within the cell the sums over time/frequency collapse to xy_b = Σ w V conj(M), mm_b = Σ w|M|²:
 *   g_i ← Σ_j g_j·xy_ij / Σ_j |g_j|²·mm_ij   (both directions of every baseline),
 * all antennas updated from the previous iterate, and every second iterate averaged with the
 * previous one (the paper's relaxation), which makes the iteration converge robustly.
 */

export interface StefcalProblem {
  nAnt: number;
  nBl: number;
  ant1: Int32Array;
  ant2: Int32Array;
  /** Complex Σ w V conj(M) per baseline (interleaved, length 2·nBl). */
  xy: Float64Array;
  /** Σ w |M|² per baseline. */
  mm: Float64Array;
}

export interface StefcalOptions {
  maxIter?: number;
  /** Stop when ‖g_new − g_old‖ / ‖g_new‖ < tol. */
  tol?: number;
  /** Phase-only: keep |g| = 1 (the best phase for fixed others is arg of the numerator). */
  phaseOnly?: boolean;
}

export interface StefcalResult {
  iterations: number;
  converged: boolean;
  /** Final relative change. */
  change: number;
}

/**
 * Solve in place: `g` (complex interleaved, length 2·nAnt) holds the starting point and receives
 * the solution. Antennas without data end with g = 0. `scratch` (length ≥ 3·nAnt) may be passed
 * to avoid allocations in hot loops.
 */
export function stefcal(prob: StefcalProblem, g: Float64Array, opts: StefcalOptions = {}, scratch?: Float64Array): StefcalResult {
  const { nAnt, nBl, ant1, ant2, xy, mm } = prob;
  const maxIter = opts.maxIter ?? 200;
  const tol = opts.tol ?? 1e-8;
  const phaseOnly = opts.phaseOnly ?? false;
  const s = scratch && scratch.length >= 4 * nAnt ? scratch : new Float64Array(4 * nAnt);
  // s[0..2nAnt): numerator (complex), s[2nAnt..3nAnt): denominator, s[3nAnt..4nAnt): |g|² cache
  const den0 = 2 * nAnt;
  const abs0 = 3 * nAnt;
  let change = Infinity;
  let it = 0;
  for (it = 1; it <= maxIter; it++) {
    s.fill(0, 0, 3 * nAnt);
    for (let a = 0; a < nAnt; a++) s[abs0 + a] = g[2 * a] * g[2 * a] + g[2 * a + 1] * g[2 * a + 1];
    for (let b = 0; b < nBl; b++) {
      const m = mm[b];
      if (!(m > 0)) continue;
      const i = ant1[b];
      const j = ant2[b];
      if (i === j) continue;
      const xr = xy[2 * b], xi = xy[2 * b + 1];
      const gjr = g[2 * j], gji = g[2 * j + 1];
      const gir = g[2 * i], gii = g[2 * i + 1];
      // num_i += g_j · xy ; num_j += g_i · conj(xy)
      s[2 * i] += gjr * xr - gji * xi;
      s[2 * i + 1] += gjr * xi + gji * xr;
      s[2 * j] += gir * xr + gii * xi;
      s[2 * j + 1] += gii * xr - gir * xi;
      s[den0 + i] += s[abs0 + j] * m;
      s[den0 + j] += s[abs0 + i] * m;
    }
    let dNum = 0, dDen = 0;
    const average = it % 2 === 0;
    for (let a = 0; a < nAnt; a++) {
      const d = s[den0 + a];
      let nr = 0, ni = 0;
      if (d > 0) {
        nr = s[2 * a] / d;
        ni = s[2 * a + 1] / d;
        if (phaseOnly) {
          const amp = Math.hypot(nr, ni);
          if (amp > 0) { nr /= amp; ni /= amp; } else { nr = 1; ni = 0; }
        }
      }
      const or = g[2 * a], oi = g[2 * a + 1];
      if (average) {
        nr = 0.5 * (nr + or);
        ni = 0.5 * (ni + oi);
        if (phaseOnly) {
          const amp = Math.hypot(nr, ni);
          if (amp > 0) { nr /= amp; ni /= amp; }
        }
      }
      dNum += (nr - or) * (nr - or) + (ni - oi) * (ni - oi);
      dDen += nr * nr + ni * ni;
      g[2 * a] = nr;
      g[2 * a + 1] = ni;
    }
    change = dDen > 0 ? Math.sqrt(dNum / dDen) : 0;
    if (change < tol) return { iterations: it, converged: true, change };
  }
  return { iterations: it - 1, converged: false, change };
}

/**
 * Residual Σ w|V − g_i conj(g_j) M|² of one cell from the sums (needs vv = Σ w|V|²), and the
 * per-antenna Fisher information Σ_j |g_j|² mm_ij used for the solution SNR.
 */
export function stefcalResidual(prob: StefcalProblem, vv: Float64Array, g: Float64Array, info: Float64Array): number {
  const { nAnt, nBl, ant1, ant2, xy, mm } = prob;
  info.fill(0, 0, nAnt);
  let chi2 = 0;
  for (let b = 0; b < nBl; b++) {
    const m = mm[b];
    if (!(m > 0)) continue;
    const i = ant1[b];
    const j = ant2[b];
    if (i === j) continue;
    const gir = g[2 * i], gii = g[2 * i + 1];
    const gjr = g[2 * j], gji = -g[2 * j + 1];
    const cr = gir * gjr - gii * gji;
    const ci = gir * gji + gii * gjr;
    // Σ w|V − cM|² = vv − 2 Re(conj(c)·xy) + |c|² mm
    const r = vv[b] - 2 * (cr * xy[2 * b] + ci * xy[2 * b + 1]) + (cr * cr + ci * ci) * m;
    chi2 += r > 0 ? r : 0;
    info[i] += (gjr * gjr + gji * gji) * m;
    info[j] += (gir * gir + gii * gii) * m;
  }
  return chi2;
}
