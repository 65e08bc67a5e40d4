/**
 * Synthetic DSA-110-like calibrator data with known gains, built independently of the library:
 * point sources through V = S·exp(+2πi(u·l + v·m + w·(n−1))·ν/c), corrupted by
 * g_i(ν,t) = exp(−2πiντ_i)·B_i(ν)·G_i(t), plus complex Gaussian noise.
 */
import type { VisChunk } from '../../src/calibration/types.js';

export const C = 299792458;

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

export function gauss(r: () => number): number {
  const u = 1 - r();
  const v = r();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Perley–Butler 2017 3C286 (written out here independently of src/). */
export function flux3c286(nuHz: number): number {
  const x = Math.log10(nuHz / 1e9);
  return 10 ** (1.2481 - 0.4507 * x - 0.1798 * x * x + 0.0357 * x ** 3);
}

export interface Truth {
  nAnt: number;
  /** Delays in ns per [ant, pol]. */
  tauNs: Float64Array;
  /** Bandpass complex per [ant, chan, pol]. */
  bp: Float64Array;
  /** Time gain complex per [time, ant, pol]. */
  g: Float64Array;
}

export interface SynthGeometry {
  nAnt: number;
  nChan: number;
  nTime: number;
  nPol: number;
  freqHz: Float64Array;
  timeMjdSec: Float64Array;
  ant1: Int32Array;
  ant2: Int32Array;
  /** UVW metres per [time, baseline, 3]. */
  uvw: Float64Array;
  /** Antenna positions (local ENU, m) per [ant, 3]. */
  enu: Float64Array;
}

export function makeGeometry(nAnt = 24, nChan = 128, nTime = 12, seed = 1): SynthGeometry {
  const r = rng(seed);
  const nPol = 2;
  const freqHz = new Float64Array(nChan);
  const df = (1499e6 - 1311e6) / nChan;
  for (let c = 0; c < nChan; c++) freqHz[c] = 1311e6 + (c + 0.5) * df;
  const timeMjdSec = new Float64Array(nTime);
  for (let t = 0; t < nTime; t++) timeMjdSec[t] = 60950 * 86400 + t * 12.884902;
  // T-shaped array like DSA-110: E-W arm ±600 m, N-S arm to 1.2 km south.
  const enu = new Float64Array(3 * nAnt);
  for (let a = 0; a < nAnt; a++) {
    if (a % 2 === 0) { enu[3 * a] = (r() - 0.5) * 1200; enu[3 * a + 1] = (r() - 0.5) * 10; }
    else { enu[3 * a] = (r() - 0.5) * 10; enu[3 * a + 1] = -r() * 1200; }
    enu[3 * a + 2] = (r() - 0.5) * 2;
  }
  const nBl = (nAnt * (nAnt + 1)) / 2;
  const ant1 = new Int32Array(nBl);
  const ant2 = new Int32Array(nBl);
  let b = 0;
  for (let i = 0; i < nAnt; i++) for (let j = i; j < nAnt; j++) { ant1[b] = i; ant2[b] = j; b++; }
  // Meridian pointing at dec 30.5°, latitude 37.23°: u = ΔE, v = ΔN·sin(lat−dec)… plus a slow
  // rotation with time to mimic the sky drift (exact geometry is irrelevant to the solvers).
  const lat = (37.23 * Math.PI) / 180;
  const dec = (30.5 * Math.PI) / 180;
  const uvw = new Float64Array(3 * nTime * nBl);
  for (let t = 0; t < nTime; t++) {
    const h = ((t - nTime / 2) * 12.885 * 2 * Math.PI) / 86164;
    for (let k = 0; k < nBl; k++) {
      const i = ant1[k], j = ant2[k];
      const dx = enu[3 * j] - enu[3 * i], dy = enu[3 * j + 1] - enu[3 * i + 1], dz = enu[3 * j + 2] - enu[3 * i + 2];
      const u0 = dx, v0 = dy * Math.cos(lat - dec) + dz * Math.sin(lat - dec);
      const w0 = -dy * Math.sin(lat - dec) + dz * Math.cos(lat - dec);
      const o = 3 * (t * nBl + k);
      uvw[o] = u0 * Math.cos(h) - w0 * Math.sin(h) * 0.1;
      uvw[o + 1] = v0;
      uvw[o + 2] = w0 + u0 * Math.sin(h);
    }
  }
  return { nAnt, nChan, nTime, nPol, freqHz, timeMjdSec, ant1, ant2, uvw, enu };
}

export interface SkySource { l: number; m: number; flux: (nu: number) => number }

/** Model visibilities by direct evaluation (no recurrences). */
export function predict(geo: SynthGeometry, sky: SkySource[]): Float32Array {
  const { nTime, nChan, nPol, freqHz, uvw } = geo;
  const nBl = geo.ant1.length;
  const out = new Float32Array(2 * nTime * nBl * nChan * nPol);
  for (let t = 0; t < nTime; t++) {
    for (let b = 0; b < nBl; b++) {
      const o = 3 * (t * nBl + b);
      for (let c = 0; c < nChan; c++) {
        let re = 0, im = 0;
        for (const s of sky) {
          const n = Math.sqrt(1 - s.l * s.l - s.m * s.m);
          const ph = (2 * Math.PI * freqHz[c] / C) * (uvw[o] * s.l + uvw[o + 1] * s.m + uvw[o + 2] * (n - 1));
          const f = s.flux(freqHz[c]);
          re += f * Math.cos(ph);
          im += f * Math.sin(ph);
        }
        for (let p = 0; p < nPol; p++) {
          const idx = ((t * nBl + b) * nChan + c) * nPol + p;
          out[2 * idx] = re;
          out[2 * idx + 1] = im;
        }
      }
    }
  }
  return out;
}

export function makeTruth(geo: SynthGeometry, seed = 7): Truth {
  const r = rng(seed);
  const { nAnt, nChan, nTime, nPol, freqHz } = geo;
  const tauNs = new Float64Array(nAnt * nPol);
  for (let k = 0; k < tauNs.length; k++) tauNs[k] = (r() * 2 - 1) * 5;
  const bp = new Float64Array(2 * nAnt * nChan * nPol);
  const x = new Float64Array(nChan);
  for (let c = 0; c < nChan; c++) x[c] = (2 * c) / (nChan - 1) - 1; // −1..1
  for (let a = 0; a < nAnt; a++) {
    for (let p = 0; p < nPol; p++) {
      const a1 = 0.05 * (r() * 2 - 1), a2 = 0.05 * (r() * 2 - 1), f1 = 1 + 2 * r(), ph0 = 2 * Math.PI * r();
      const q = 0.4 * (r() * 2 - 1), s1 = 0.2 * (r() * 2 - 1), f2 = 1 + 2 * r();
      const phase = new Float64Array(nChan);
      for (let c = 0; c < nChan; c++) phase[c] = q * x[c] * x[c] + s1 * Math.sin(Math.PI * f2 * x[c] + ph0);
      // Remove the linear part (it would be indistinguishable from a delay).
      let sx = 0, sy = 0, sxx = 0, sxy = 0;
      for (let c = 0; c < nChan; c++) { sx += x[c]; sy += phase[c]; sxx += x[c] * x[c]; sxy += x[c] * phase[c]; }
      const slope = (nChan * sxy - sx * sy) / (nChan * sxx - sx * sx);
      const icpt = (sy - slope * sx) / nChan;
      for (let c = 0; c < nChan; c++) {
        const amp = 1 + a1 * x[c] + a2 * Math.cos(Math.PI * f1 * x[c] + ph0) + 0.05 * x[c] * x[c];
        const ph = phase[c] - slope * x[c] - icpt;
        const idx = (a * nChan + c) * nPol + p;
        bp[2 * idx] = amp * Math.cos(ph);
        bp[2 * idx + 1] = amp * Math.sin(ph);
      }
    }
  }
  const g = new Float64Array(2 * nTime * nAnt * nPol);
  for (let a = 0; a < nAnt; a++) {
    for (let p = 0; p < nPol; p++) {
      const amp0 = 0.9 + 0.2 * r();
      const ph0 = Math.PI * (2 * r() - 1);
      const drift = ((2 * r() - 1) * 20 * Math.PI) / 180; // up to ±20° over the group
      const adrift = 0.02 * (2 * r() - 1);
      for (let t = 0; t < nTime; t++) {
        const f = nTime > 1 ? t / (nTime - 1) : 0;
        const idx = (t * nAnt + a) * nPol + p;
        g[2 * idx] = amp0 * (1 + adrift * f) * Math.cos(ph0 + drift * f);
        g[2 * idx + 1] = amp0 * (1 + adrift * f) * Math.sin(ph0 + drift * f);
      }
    }
  }
  return { nAnt, tauNs, bp, g };
}

/** Total true gain g_a(ν_c, t) for pol p. */
export function trueGain(geo: SynthGeometry, tr: Truth, a: number, c: number, t: number, p: number): [number, number] {
  const { nChan, nPol, freqHz, nAnt } = geo;
  const ph = -2 * Math.PI * freqHz[c] * tr.tauNs[a * nPol + p] * 1e-9;
  const kr = Math.cos(ph), ki = Math.sin(ph);
  const bi = (a * nChan + c) * nPol + p;
  const br = tr.bp[2 * bi], bim = tr.bp[2 * bi + 1];
  const gi = (t * nAnt + a) * nPol + p;
  const gr = tr.g[2 * gi], gim = tr.g[2 * gi + 1];
  const r1 = kr * br - ki * bim, i1 = kr * bim + ki * br;
  return [r1 * gr - i1 * gim, r1 * gim + i1 * gr];
}

/** Corrupt a model with the truth and add noise of rms `sigma` per real/imag component. */
export function corrupt(geo: SynthGeometry, tr: Truth, model: Float32Array, sigma: number, seed = 11): { data: Float32Array; noise: Float32Array } {
  const r = rng(seed);
  const { nTime, nChan, nPol, ant1, ant2 } = geo;
  const nBl = ant1.length;
  const data = new Float32Array(model.length);
  const noise = new Float32Array(model.length);
  for (let t = 0; t < nTime; t++) {
    for (let b = 0; b < nBl; b++) {
      for (let c = 0; c < nChan; c++) {
        for (let p = 0; p < nPol; p++) {
          const idx = ((t * nBl + b) * nChan + c) * nPol + p;
          const [ar, ai] = trueGain(geo, tr, ant1[b], c, t, p);
          const [br, bi0] = trueGain(geo, tr, ant2[b], c, t, p);
          const bi = -bi0;
          const cr = ar * br - ai * bi, ci = ar * bi + ai * br;
          const mr = model[2 * idx], mi = model[2 * idx + 1];
          const nr = sigma * gauss(r), ni = sigma * gauss(r);
          noise[2 * idx] = nr;
          noise[2 * idx + 1] = ni;
          data[2 * idx] = cr * mr - ci * mi + nr;
          data[2 * idx + 1] = cr * mi + ci * mr + ni;
        }
      }
    }
  }
  return { data, noise };
}

export function chunkOf(geo: SynthGeometry, data: Float32Array, model: Float32Array): VisChunk {
  const nBl = geo.ant1.length;
  return {
    nTime: geo.nTime, nBl, nChan: geo.nChan, nPol: geo.nPol, nAnt: geo.nAnt,
    ant1: geo.ant1, ant2: geo.ant2, freqHz: geo.freqHz, timeMjdSec: geo.timeMjdSec,
    data, model, flag: new Uint8Array(geo.nTime * nBl * geo.nChan * geo.nPol),
  };
}

export const CAL_SKY: SkySource[] = [
  { l: 0.0012, m: -0.0021, flux: flux3c286 },
  { l: 0.012, m: 0.006, flux: (nu) => 0.8 * (nu / 1.4e9) ** -0.7 },
];
export const TARGET_SKY: SkySource[] = [
  { l: -0.004, m: 0.003, flux: (nu) => 2.5 * (nu / 1.4e9) ** -0.8 },
  { l: 0.008, m: -0.01, flux: () => 1.2 },
  { l: 0.02, m: 0.015, flux: (nu) => 0.6 * (nu / 1.4e9) ** 0.3 },
];
