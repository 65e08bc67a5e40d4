/**
 * Small synthetic visibility generator for the RFI tests: complex Gaussian noise (σ = 1 per
 * component), smooth sky-like fringes, and injected RFI of three kinds with per-sample
 * amplitudes spanning 1–100 σ. Returns the cube and, per sample, the injected RFI amplitude
 * (0 = clean), which is the truth the flagger is scored against.
 */
import type { Cube } from '../../src/flagging/types.js';

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(r: () => number): () => number {
  return () => {
    let u = r();
    while (u <= 1e-300) u = r();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  };
}

export interface SimOptions {
  nTime: number;
  nChan: number;
  nAnt: number;
  nPol: number;
  seed: number;
  /** Include autocorrelations (default false). */
  autos?: boolean;
  /** Events per (baseline, pol) plane (broadband may be fractional: the expected number). */
  persistent?: number;
  bursts?: number;
  broadband?: number;
  /** Sky fringe amplitude scale in σ (default 3). */
  sky?: number;
}

export interface SimResult {
  cube: Cube;
  /** Injected RFI amplitude per sample in units of σ (0 = clean). */
  rfiAmp: Float32Array;
}

export function simulate(o: SimOptions): SimResult {
  const r = rng(o.seed);
  const g = gaussian(r);
  const ants: number[][] = [];
  for (let i = 0; i < o.nAnt; i++) for (let j = o.autos ? i : i + 1; j < o.nAnt; j++) ants.push([i, j]);
  const nBl = ants.length;
  const { nTime, nChan, nPol } = o;
  const N = nTime * nBl * nChan * nPol;
  const data = new Float32Array(2 * N);
  const rfiAmp = new Float32Array(N);
  const idx = (t: number, b: number, c: number, p: number): number => ((t * nBl + b) * nChan + c) * nPol + p;
  const skyScale = o.sky ?? 3;
  for (let b = 0; b < nBl; b++) {
    const auto = ants[b][0] === ants[b][1];
    // sky: 3 "sources" with delays giving amplitude beats over ≥ 40 channels and slow fringe rates
    const src = [0, 1, 2].map(() => ({
      s: skyScale * (0.3 + r()),
      tau: (r() - 0.5) / 40, // cycles per channel
      fr: (r() - 0.5) / 60, // cycles per integration
      ph: 2 * Math.PI * r(),
    }));
    for (let p = 0; p < nPol; p++) {
      for (let t = 0; t < nTime; t++) {
        for (let c = 0; c < nChan; c++) {
          let re = g();
          let im = g();
          if (auto) { re += 50; } else {
            for (const q of src) {
              const ph = q.ph + 2 * Math.PI * (q.tau * c + q.fr * t);
              re += q.s * Math.cos(ph);
              im += q.s * Math.sin(ph);
            }
          }
          const i = idx(t, b, c, p);
          data[2 * i] = re;
          data[2 * i + 1] = im;
        }
      }
      if (auto) continue;
      const logAmp = (): number => Math.pow(10, 2 * r()); // 1 … 100 σ, log-uniform
      const add = (t: number, c: number, a: number): void => {
        const i = idx(t, b, c, p);
        const ph = 2 * Math.PI * r();
        data[2 * i] += a * Math.cos(ph);
        data[2 * i + 1] += a * Math.sin(ph);
        rfiAmp[i] = Math.max(rfiAmp[i], a);
      };
      // persistent narrow-band: 1–2 channels, all times, amplitude jitters ±30 % per sample
      for (let e = 0; e < (o.persistent ?? 2); e++) {
        const c0 = Math.floor(r() * nChan);
        const w = 1 + Math.floor(r() * 2);
        const a0 = logAmp();
        for (let c = c0; c < Math.min(nChan, c0 + w); c++) for (let t = 0; t < nTime; t++) add(t, c, a0 * (0.7 + 0.6 * r()));
      }
      // bursty narrow-band: 1–5 channels × 1–8 integrations, Gaussian-tapered in time
      for (let e = 0; e < (o.bursts ?? 4); e++) {
        const c0 = Math.floor(r() * nChan);
        const w = 1 + Math.floor(r() * 5);
        const t0 = Math.floor(r() * nTime);
        const d = 1 + Math.floor(r() * 8);
        const a0 = logAmp();
        for (let t = t0; t < Math.min(nTime, t0 + d); t++) {
          const x = (t - t0 - (d - 1) / 2) / Math.max(1, d / 2);
          const taper = Math.exp(-0.5 * x * x);
          for (let c = c0; c < Math.min(nChan, c0 + w); c++) add(t, c, a0 * taper * (0.8 + 0.4 * r()));
        }
      }
      // broadband bursts: 1–2 integrations over 30–100 % of the band, smooth spectral slope
      const nbb = o.broadband ?? 1;
      for (let e = 0; e < Math.floor(nbb) + (r() < nbb - Math.floor(nbb) ? 1 : 0); e++) {
        const t0 = Math.floor(r() * nTime);
        const d = 1 + Math.floor(r() * 2);
        const span = Math.floor(nChan * (0.3 + 0.7 * r()));
        const c0 = Math.floor(r() * (nChan - span + 1));
        const a0 = logAmp();
        const slope = r();
        for (let t = t0; t < Math.min(nTime, t0 + d); t++) {
          for (let c = c0; c < c0 + span; c++) add(t, c, a0 * (1 - 0.5 * slope * ((c - c0) / span)) * (0.8 + 0.4 * r()));
        }
      }
    }
  }
  const ant1 = Int32Array.from(ants.map((a) => a[0]));
  const ant2 = Int32Array.from(ants.map((a) => a[1]));
  const times = new Float64Array(nTime);
  for (let t = 0; t < nTime; t++) times[t] = 5e9 + 12.885 * t;
  return { cube: { nTime, nBl, nChan, nPol, data, flags: new Uint8Array(N), ant1, ant2, times }, rfiAmp };
}

/** Recall per RFI-strength bin and false-positive rate on clean samples (autos excluded). */
export function score(cube: Cube, rfiAmp: Float32Array, edges = [1, 2, 3, 5, 10, 20, 50, 1e9]): {
  recall: { lo: number; hi: number; n: number; recall: number }[];
  recallGe5: number;
  fpr: number;
  flaggedFraction: number;
} {
  const nb = edges.length - 1;
  const tot = new Float64Array(nb);
  const hit = new Float64Array(nb);
  let clean = 0, fp = 0, ge5 = 0, ge5hit = 0, cross = 0, flagged = 0;
  const { nTime, nBl, nChan, nPol } = cube;
  for (let t = 0; t < nTime; t++) for (let b = 0; b < nBl; b++) {
    if (cube.ant1[b] === cube.ant2[b]) continue;
    for (let k = 0; k < nChan * nPol; k++) {
      const i = (t * nBl + b) * nChan * nPol + k;
      const a = rfiAmp[i];
      const f = cube.flags[i] !== 0;
      cross++;
      if (f) flagged++;
      if (a === 0) { clean++; if (f) fp++; continue; }
      if (a >= 5) { ge5++; if (f) ge5hit++; }
      for (let e = 0; e < nb; e++) if (a >= edges[e] && a < edges[e + 1]) { tot[e]++; if (f) hit[e]++; }
    }
  }
  return {
    recall: Array.from({ length: nb }, (_, e) => ({ lo: edges[e], hi: edges[e + 1], n: tot[e], recall: tot[e] ? hit[e] / tot[e] : NaN })),
    recallGe5: ge5hit / ge5,
    fpr: fp / clean,
    flaggedFraction: flagged / cross,
  };
}
