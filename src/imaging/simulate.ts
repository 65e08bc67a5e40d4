/**
 * Synthetic interferometer data for tests and benchmarks: a planar array at a given latitude
 * observing at hour angles around the meridian, point-source visibilities with the project's
 * sign convention, and Gaussian noise matched to the weights.
 */
import { C_LIGHT } from '../astro/constants.js';
import type { VisInput } from './types.js';

/** Deterministic PRNG (mulberry32) so tests are reproducible. */
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

/** Standard normal deviates from a uniform generator (Box–Muller). */
export function gaussian(u: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** Antenna positions (E, N, U metres, flat array 3·nAnt): a random T-ish spread in an E×N box. */
export function randomArray(nAnt: number, extentE: number, extentN: number, seed = 1): Float64Array {
  const r = rng(seed);
  const enu = new Float64Array(3 * nAnt);
  for (let a = 0; a < nAnt; a++) {
    enu[3 * a] = (r() - 0.5) * extentE;
    enu[3 * a + 1] = (r() - 0.5) * extentN;
    enu[3 * a + 2] = (r() - 0.5) * 4; // a few metres of terrain
  }
  return enu;
}

/**
 * uvw (metres) of all cross baselines (a1 < a2, baseline = x(a2) − x(a1)) for each hour angle,
 * rows ordered (time, baseline). Standard ENU → equatorial → (u, v, w) rotation.
 */
export function arrayUvw(enu: Float64Array, latRad: number, decRad: number, hourAngles: ArrayLike<number>): Float64Array {
  const nAnt = enu.length / 3;
  const nBl = (nAnt * (nAnt - 1)) / 2;
  const out = new Float64Array(3 * nBl * hourAngles.length);
  const sl = Math.sin(latRad), cl = Math.cos(latRad), sd = Math.sin(decRad), cd = Math.cos(decRad);
  let k = 0;
  for (let t = 0; t < hourAngles.length; t++) {
    const H = hourAngles[t], sh = Math.sin(H), ch = Math.cos(H);
    for (let a1 = 0; a1 < nAnt; a1++) for (let a2 = a1 + 1; a2 < nAnt; a2++) {
      const e = enu[3 * a2] - enu[3 * a1], n = enu[3 * a2 + 1] - enu[3 * a1 + 1], up = enu[3 * a2 + 2] - enu[3 * a1 + 2];
      const X = -sl * n + cl * up, Y = e, Z = cl * n + sl * up;
      out[k++] = sh * X + ch * Y;
      out[k++] = -sd * ch * X + sd * sh * Y + cd * Z;
      out[k++] = cd * ch * X - cd * sh * Y + sd * Z;
    }
  }
  return out;
}

/** Evenly spaced channel centres. */
export function channels(nChan: number, fLo: number, fHi: number): Float64Array {
  const f = new Float64Array(nChan);
  for (let c = 0; c < nChan; c++) f[c] = nChan === 1 ? (fLo + fHi) / 2 : fLo + ((fHi - fLo) * c) / (nChan - 1);
  return f;
}

/** Add point sources (flux Jy at direction cosines l, m) to vis: V += S·e^{+2πi(ul + vm + w(n−1))}. */
export function addPointSources(input: VisInput, sources: { flux: number; l: number; m: number }[]): void {
  const { nRow, nChan, uvw, freq, vis } = input;
  for (const s of sources) {
    const nm1 = Math.sqrt(1 - s.l * s.l - s.m * s.m) - 1;
    for (let r = 0; r < nRow; r++) {
      const ph0 = (2 * Math.PI * (uvw[3 * r] * s.l + uvw[3 * r + 1] * s.m + uvw[3 * r + 2] * nm1)) / C_LIGHT;
      for (let c = 0; c < nChan; c++) {
        const ph = ph0 * freq[c];
        const i = 2 * (r * nChan + c);
        vis[i] += s.flux * Math.cos(ph);
        vis[i + 1] += s.flux * Math.sin(ph);
      }
    }
  }
}

/** Add complex Gaussian noise with σ = 1/√weight on each of re and im. */
export function addNoise(input: VisInput, seed = 7): void {
  const g = gaussian(rng(seed));
  const n = input.nRow * input.nChan;
  for (let k = 0; k < n; k++) {
    const w = input.weight[k];
    if (!(w > 0)) continue;
    const s = 1 / Math.sqrt(w);
    input.vis[2 * k] += s * g();
    input.vis[2 * k + 1] += s * g();
  }
}

/** An empty VisInput on a uvw/frequency set with uniform natural weights. */
export function emptyVis(uvw: Float64Array, freq: Float64Array, weight = 1): VisInput {
  const nRow = uvw.length / 3, nChan = freq.length;
  return { nRow, nChan, uvw, freq, vis: new Float32Array(2 * nRow * nChan), weight: new Float32Array(nRow * nChan).fill(weight) };
}
