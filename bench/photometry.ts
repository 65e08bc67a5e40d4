/**
 * Photometry benchmarks at DSA-110 scale:
 *  - forced photometry of 10,000 catalogue sources on one 4096² image (target ≤ 3 s),
 *  - variability metrics + ESE search for 10,000 sources × 1,000 epochs (target ≤ 10 s),
 *  - incremental update of those light curves by one new epoch.
 * Run: compile with tsc, then `node dist/bench/photometry.js` (or via bench/run).
 */
import { pixelBeam } from '../src/photometry/beam.js';
import { makeCatalog } from '../src/photometry/catalog.js';
import { measureForced } from '../src/photometry/measure.js';
import {
  computeVariability,
  createVariabilityState,
  findEseCandidates,
  updateVariability,
  variabilityMetrics,
} from '../src/photometry/variability.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(u: () => number): number {
  return Math.sqrt(-2 * Math.log(u() || 1e-300)) * Math.cos(2 * Math.PI * u());
}

/** Linear (small-field) stand-in for the WCS: only the call cost matters here. */
function linearWcs(ra0: number, dec0: number, scaleDeg: number, c: number) {
  const cosd = Math.cos((dec0 * Math.PI) / 180);
  return {
    worldToPixel: (ra: number, dec: number): [number, number] => [c - ((ra - ra0) * cosd) / scaleDeg, c + (dec - dec0) / scaleDeg],
    pixelToWorld: (x: number, y: number): [number, number] => [ra0 - ((x - c) * scaleDeg) / cosd, dec0 + (y - c) * scaleDeg],
  };
}

export async function run(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const u = rng(1);

  // ---- forced photometry: 10,000 sources on 4096² ----
  const N = 4096, NS = 10000, SIGMA = 1e-3;
  const BMAJ = 5, BMIN = 3.5, BPA = 35;
  const data = new Float32Array(N * N);
  for (let i = 0; i < data.length; i++) data[i] = SIGMA * normal(u);
  const wcs = linearWcs(150, 40, 6 / 3600, N / 2);
  const beam = pixelBeam(BMAJ, BMIN, BPA);
  const names: string[] = [], ra = new Float64Array(NS), dec = new Float64Array(NS), mjy = new Float64Array(NS);
  const pa = (BPA * Math.PI) / 180, ux = -Math.sin(pa), uy = Math.cos(pa);
  for (let k = 0; k < NS; k++) {
    const x = 20 + (N - 40) * u(), y = 20 + (N - 40) * u();
    const f = 0.01 * Math.exp(3 * u());
    [ra[k], dec[k]] = wcs.pixelToWorld(x, y);
    names.push(`S${k}`);
    mjy[k] = f * 1e3;
    for (let iy = Math.floor(y) - 12; iy <= Math.floor(y) + 12; iy++) {
      for (let ix = Math.floor(x) - 12; ix <= Math.floor(x) + 12; ix++) {
        const dx = ix - x, dy = iy - y;
        const a = dx * ux + dy * uy, b = dx * uy - dy * ux;
        data[iy * N + ix] += f * Math.exp(-4 * Math.LN2 * ((a / BMAJ) ** 2 + (b / BMIN) ** 2));
      }
    }
  }
  const cat = makeCatalog({ name: names, raDeg: ra, decDeg: dec, fluxMjy: mjy });
  measureForced({ data, nx: N, ny: N }, makeCatalog({ name: names.slice(0, 200), raDeg: ra.subarray(0, 200), decDeg: dec.subarray(0, 200), fluxMjy: mjy.subarray(0, 200) }), { wcs, beam }); // warm-up
  // wall and CPU seconds: CPU time stays meaningful on a loaded machine (single-threaded code)
  let t0 = performance.now();
  let c0 = process.cpuUsage();
  const res = measureForced({ data, nx: N, ny: N }, cat, { wcs, beam });
  out.forced_10k_4096_s = (performance.now() - t0) / 1000;
  out.forced_10k_4096_cpu_s = process.cpuUsage(c0).user / 1e6;
  let blended = 0, pullSq = 0, np = 0;
  for (let k = 0; k < res.n; k++) {
    if (res.flags[k] & 1) blended++;
    else { pullSq += ((res.flux[k] - mjy[res.index[k]] / 1e3) / res.fluxErr[k]) ** 2; np++; }
  }
  out.forced_measured = res.n;
  out.forced_blended = blended;
  out.forced_isolated_pull_rms = Math.sqrt(pullSq / np);

  // ---- variability: 10,000 sources × 1,000 epochs ----
  const S = 10000, E = 1000;
  const flux = new Float64Array(S * E), err = new Float64Array(S * E);
  for (let s = 0; s < S; s++) {
    const f0 = 0.01 + 0.5 * u();
    for (let e = 0; e < E; e++) {
      const sg = 0.001 * (0.8 + 0.6 * u()); // per-epoch noise varies ±30 %
      err[s * E + e] = sg;
      flux[s * E + e] = u() < 0.02 ? NaN : f0 + sg * normal(u);
    }
  }
  const lc = { nSrc: S, nEpoch: E, flux, err };
  t0 = performance.now();
  c0 = process.cpuUsage();
  const met = computeVariability(lc);
  const cand = findEseCandidates(met, lc, { preset: 'moderate' });
  out.variability_10k_x_1000_s = (performance.now() - t0) / 1000;
  out.variability_10k_x_1000_cpu_s = process.cpuUsage(c0).user / 1e6;
  out.variability_candidates_moderate = cand.source.length;

  // incremental: fold in epoch 1000 to a state holding 999
  const E1 = E - 1;
  const f1 = new Float64Array(S * E1), e1 = new Float64Array(S * E1);
  for (let s = 0; s < S; s++) {
    f1.set(flux.subarray(s * E, s * E + E1), s * E1);
    e1.set(err.subarray(s * E, s * E + E1), s * E1);
  }
  const st = createVariabilityState(S);
  updateVariability(st, { nSrc: S, nEpoch: E1, flux: f1, err: e1 });
  t0 = performance.now();
  c0 = process.cpuUsage();
  updateVariability(st, lc);
  out.variability_add_one_epoch_s = (performance.now() - t0) / 1000;
  out.variability_add_one_epoch_cpu_s = process.cpuUsage(c0).user / 1e6;
  t0 = performance.now();
  variabilityMetrics(st, lc);
  out.variability_metrics_from_state_s = (performance.now() - t0) / 1000;
  return out;
}

// Allow `node dist/bench/photometry.js` directly.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '\0')) {
  run().then((r) => console.log(JSON.stringify(r, null, 2)));
}
