import { beforeAll, describe, expect, it } from 'vitest';
import { delaySums, delaysFromSums, solveDelays } from '../../src/calibration/delay.js';
import { bandpassFromSums, bandpassSums, solveBandpass } from '../../src/calibration/bandpass.js';
import { parseSolint, solutionIntervals, solveGains } from '../../src/calibration/gains.js';
import { CalApplier, applyCalibration } from '../../src/calibration/apply.js';
import { chooseRefant, refantStats } from '../../src/calibration/refant.js';
import { calTableQa, passesQa } from '../../src/calibration/qa.js';
import { stefcal } from '../../src/calibration/stefcal.js';
import { solveCalibrator, solveCalibratorParallel } from '../../src/calibration/solve.js';
import * as parallel from '../../src/calibration/parallel.js';
import { applyChunkParallel, sharedCopy } from '../../src/calibration/parallel.js';
import { DsaError } from '../../src/util/errors.js';
import type { BandpassTable, DelayTable, GainTable, VisChunk } from '../../src/calibration/types.js';
import {
  CAL_SKY, TARGET_SKY, chunkOf, corrupt, makeGeometry, makeTruth, predict, rng, trueGain,
  type SynthGeometry, type Truth,
} from './synth.js';

// 24 antennas, 128 channels over 1311–1499 MHz, 12 integrations, XX/YY. Noise 0.7 Jy per
// component (≈ a 15 Jy calibrator seen by DSA-110's 96 antennas at this size's SNR).
const SIGMA = 0.7;
let geo: SynthGeometry;
let truth: Truth;
let cal: VisChunk;
let K: DelayTable;
let BP: BandpassTable;
let G: GainTable;
const REFANT = 3;

function rms(v: number[]): number {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
}

beforeAll(() => {
  geo = makeGeometry(24, 128, 12, 1);
  truth = makeTruth(geo, 7);
  const model = predict(geo, CAL_SKY);
  const { data } = corrupt(geo, truth, model, SIGMA, 11);
  cal = chunkOf(geo, data, model);
  K = solveDelays(cal, { refant: REFANT });
  // CASA-style: remove the gain drift (phase-only, per integration) before the bandpass.
  const Gpre = solveGains(cal, { refant: REFANT, delays: K, mode: 'p', solint: 'int' });
  BP = solveBandpass(cal, { refant: REFANT, delays: K, gains: Gpre });
  G = solveGains(cal, { refant: REFANT, delays: K, bandpass: BP, mode: 'ap', solint: 'int' });
});

describe('delay solve', () => {
  it('recovers delays relative to refant within 0.1 ns', () => {
    const err: number[] = [];
    for (let a = 0; a < geo.nAnt; a++) {
      for (let p = 0; p < 2; p++) {
        const want = truth.tauNs[a * 2 + p] - truth.tauNs[REFANT * 2 + p];
        err.push(K.delayNs[a * 2 + p] - want);
        expect(K.flag[a * 2 + p]).toBe(0);
      }
    }
    const maxErr = Math.max(...err.map(Math.abs));
    console.log(`delay: max |error| ${maxErr.toFixed(4)} ns, rms ${rms(err).toFixed(4)} ns`);
    expect(maxErr).toBeLessThan(0.1);
    expect(K.delayNs[REFANT * 2]).toBe(0);
  });
});

describe('bandpass solve', () => {
  it('recovers bandpass shapes (K·BP, which share the linear phase) to ≤ 1 % rms, unit mean amplitude', () => {
    // A residual delay error is a linear phase that the bandpass absorbs, so the shape is
    // compared for the product K·BP against the true product referenced to refant.
    const dev: number[] = [];
    const t = 0;
    for (let a = 0; a < geo.nAnt; a++) {
      for (let p = 0; p < 2; p++) {
        const ratio: [number, number][] = [];
        let mr = 0, mi = 0, meanAmp = 0;
        for (let c = 0; c < geo.nChan; c++) {
          const k = (a * geo.nChan + c) * 2 + p;
          expect(BP.flag[k]).toBe(0);
          meanAmp += Math.hypot(BP.gain[2 * k], BP.gain[2 * k + 1]) / geo.nChan;
          // True g_a·conj(g_ref)/|g_ref| at time 0 (its G part is constant over frequency).
          const [tr, ti] = trueGain(geo, truth, REFANT, c, t, p);
          const ta = Math.hypot(tr, ti);
          const [br, bi] = trueGain(geo, truth, a, c, t, p);
          const refd = [(br * tr + bi * ti) / ta, (bi * tr - br * ti) / ta];
          const d2 = refd[0] ** 2 + refd[1] ** 2;
          const ph = -2 * Math.PI * geo.freqHz[c] * K.delayNs[a * 2 + p] * 1e-9;
          const sr = Math.cos(ph) * BP.gain[2 * k] - Math.sin(ph) * BP.gain[2 * k + 1];
          const si = Math.cos(ph) * BP.gain[2 * k + 1] + Math.sin(ph) * BP.gain[2 * k];
          const q: [number, number] = [(sr * refd[0] + si * refd[1]) / d2, (si * refd[0] - sr * refd[1]) / d2];
          ratio.push(q);
          mr += q[0] / geo.nChan; mi += q[1] / geo.nChan;
        }
        expect(meanAmp).toBeCloseTo(1, 6);
        for (const q of ratio) dev.push(Math.hypot(q[0] - mr, q[1] - mi) / Math.hypot(mr, mi));
      }
    }
    const r = rms(dev);
    console.log(`bandpass: rms complex deviation of shape ${(100 * r).toFixed(3)} %`);
    expect(r).toBeLessThan(0.01);
    // Refant bandpass is real (phase referenced).
    for (let c = 0; c < geo.nChan; c++) expect(Math.abs(BP.gain[2 * ((REFANT * geo.nChan + c) * 2) + 1])).toBeLessThan(1e-6);
  });
});

describe('gain solve', () => {
  it('K·BP·G reproduces the true gains (ref. refant): ≤ 1 % amplitude, ≤ 1° phase rms', () => {
    const ampErr: number[] = [];
    const phErr: number[] = [];
    for (let t = 0; t < geo.nTime; t++) {
      for (let a = 0; a < geo.nAnt; a++) {
        for (let p = 0; p < 2; p++) {
          const gk = (t * geo.nAnt + a) * 2 + p;
          expect(G.flag[gk]).toBe(0);
          for (let c = 0; c < geo.nChan; c += 7) {
            const [tr, ti] = trueGain(geo, truth, a, c, t, p);
            const [rr, ri] = trueGain(geo, truth, REFANT, c, t, p);
            const ra = Math.hypot(rr, ri);
            const wr = (tr * rr + ti * ri) / ra, wi = (ti * rr - tr * ri) / ra; // truth referenced
            const ph = -2 * Math.PI * geo.freqHz[c] * K.delayNs[a * 2 + p] * 1e-9;
            const bk = (a * geo.nChan + c) * 2 + p;
            let sr = Math.cos(ph) * BP.gain[2 * bk] - Math.sin(ph) * BP.gain[2 * bk + 1];
            let si = Math.cos(ph) * BP.gain[2 * bk + 1] + Math.sin(ph) * BP.gain[2 * bk];
            const x = sr * G.gain[2 * gk] - si * G.gain[2 * gk + 1];
            si = sr * G.gain[2 * gk + 1] + si * G.gain[2 * gk];
            sr = x;
            ampErr.push(Math.hypot(sr, si) / Math.hypot(wr, wi) - 1);
            phErr.push(Math.atan2(si * wr - sr * wi, sr * wr + si * wi) * 180 / Math.PI);
          }
        }
      }
    }
    console.log(`gains: amplitude rms ${(100 * rms(ampErr)).toFixed(3)} %, phase rms ${rms(phErr).toFixed(3)}°`);
    expect(rms(ampErr)).toBeLessThan(0.01);
    expect(rms(phErr)).toBeLessThan(1);
    expect(G.nTime).toBe(geo.nTime);
    expect(G.timeMjdSec[0]).toBeCloseTo(geo.timeMjdSec[0], 6);
  });

  it('phase-only mode keeps unit amplitudes and matches the true phases', () => {
    const Gp = solveGains(cal, { refant: REFANT, delays: K, bandpass: BP, mode: 'p', solint: 'inf' });
    expect(Gp.nTime).toBe(1);
    for (let k = 0; k < geo.nAnt * 2; k++) expect(Math.hypot(Gp.gain[2 * k], Gp.gain[2 * k + 1])).toBeCloseTo(1, 5);
    // Against the 'int' ap solution's mean phase: the phase of the time-average.
    const err: number[] = [];
    for (let k = 0; k < geo.nAnt * 2; k++) {
      let sr = 0, si = 0;
      for (let t = 0; t < geo.nTime; t++) { sr += G.gain[2 * (t * geo.nAnt * 2 + k)]; si += G.gain[2 * (t * geo.nAnt * 2 + k) + 1]; }
      const d = Math.atan2(Gp.gain[2 * k + 1], Gp.gain[2 * k]) - Math.atan2(si, sr);
      err.push(Math.atan2(Math.sin(d), Math.cos(d)) * 180 / Math.PI);
    }
    expect(rms(err)).toBeLessThan(1);
  });

  it('solution intervals', () => {
    const t = new Float64Array([0, 12.885, 25.77, 38.655, 51.54, 64.425]);
    expect(Array.from(solutionIntervals(t, 'inf').index)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(solutionIntervals(t, 'int').count).toBe(6);
    expect(Array.from(solutionIntervals(t, 25.77).index)).toEqual([0, 0, 1, 1, 2, 2]);
    expect(parseSolint('2min')).toBe(120);
    expect(parseSolint('30s')).toBe(30);
    expect(() => parseSolint('abc')).toThrow(/solution interval/);
  });
});

describe('apply', () => {
  it('apply(solve(calibrator)) on a target recovers the true sky within the noise', () => {
    const tModel = predict(geo, TARGET_SKY);
    const { data, noise } = corrupt(geo, truth, tModel, SIGMA, 99);
    const chunk = chunkOf(geo, data, tModel);
    delete chunk.model;
    chunk.weight = new Float32Array(chunk.flag.length).fill(1);
    const counts = applyCalibration(chunk, { delays: K, bandpass: BP, gains: G });
    expect(counts.flaggedBySolutions).toBe(0);
    expect(counts.nonFinite).toBe(0);
    expect(counts.visibilities).toBe(chunk.flag.length);
    // Residual vs the truth sky, compared with the noise divided by the true gains.
    let sRes = 0, sNoise = 0, n = 0;
    const nBl = geo.ant1.length;
    for (let t = 0; t < geo.nTime; t++) {
      for (let b = 0; b < nBl; b++) {
        if (geo.ant1[b] === geo.ant2[b]) continue;
        for (let c = 0; c < geo.nChan; c++) {
          for (let p = 0; p < 2; p++) {
            const idx = ((t * nBl + b) * geo.nChan + c) * 2 + p;
            const [ar, ai] = trueGain(geo, truth, geo.ant1[b], c, t, p);
            const [br, bi] = trueGain(geo, truth, geo.ant2[b], c, t, p);
            const g2 = (ar * ar + ai * ai) * (br * br + bi * bi);
            sNoise += (noise[2 * idx] ** 2 + noise[2 * idx + 1] ** 2) / g2;
            sRes += (chunk.data[2 * idx] - tModel[2 * idx]) ** 2 + (chunk.data[2 * idx + 1] - tModel[2 * idx + 1]) ** 2;
            n++;
          }
        }
      }
    }
    const ratio = Math.sqrt(sRes / sNoise);
    expect(Number.isFinite(ratio)).toBe(true);
    console.log(`apply: rms(corrected − true sky) / rms(noise / g_i g_j*) = ${ratio.toFixed(4)}`);
    expect(ratio).toBeGreaterThan(0.98);
    expect(ratio).toBeLessThan(1.03);
    // calwt: weight = |g_i g_j|² (solved) ≈ true for one baseline.
    const b = 1; // (0,1)
    const [ar, ai] = trueGain(geo, truth, 0, 10, 0, 0);
    const [br, bi] = trueGain(geo, truth, 1, 10, 0, 0);
    const w = chunk.weight[(b * geo.nChan + 10) * 2];
    expect(w / ((ar * ar + ai * ai) * (br * br + bi * bi))).toBeCloseTo(1, 1);
  });

  it('flagged solutions flag the data and outputs stay finite', () => {
    const tModel = predict(geo, TARGET_SKY);
    const { data } = corrupt(geo, truth, tModel, SIGMA, 5);
    const chunk = chunkOf(geo, data, tModel);
    const bp2: BandpassTable = { ...BP, flag: BP.flag.slice() };
    bp2.flag[(5 * geo.nChan + 17) * 2 + 1] = 1; // antenna 5, channel 17, YY
    const k2: DelayTable = { ...K, flag: K.flag.slice() };
    k2.flag[7 * 2] = 1; // antenna 7 XX
    const counts = applyCalibration(chunk, { delays: k2, bandpass: bp2, gains: G });
    // Antenna 7 XX: 24 baselines (incl. auto) × 128 chan × 12 t; antenna 5 ch17 YY: 24 × 12.
    expect(counts.flaggedBySolutions).toBe(24 * 128 * 12 + 24 * 12);
    const nBl = geo.ant1.length;
    const b57 = geo.ant1.findIndex((a, i) => a === 5 && geo.ant2[i] === 9);
    expect(chunk.flag[((2 * nBl + b57) * geo.nChan + 17) * 2 + 1]).toBe(1);
    expect(chunk.flag[((2 * nBl + b57) * geo.nChan + 17) * 2]).toBe(0);
    for (let i = 0; i < chunk.data.length; i++) if (!Number.isFinite(chunk.data[i])) throw new Error('non-finite output');
  });
});

describe('solveCalibrator sequence', () => {
  it('auto refant, K → G(p) → BP → G(ap) reproduce the truth and pass QA', () => {
    const sol = solveCalibrator(cal, { antennaPositions: geo.enu, solint: 'int', preBandpassSolint: 'int' });
    expect(sol.passes).toBe(true);
    const r = sol.refant;
    const err: number[] = [];
    for (let a = 0; a < geo.nAnt; a++) err.push(sol.delays.delayNs[2 * a] - (truth.tauNs[2 * a] - truth.tauNs[2 * r]));
    expect(Math.max(...err.map(Math.abs))).toBeLessThan(0.1);
    // Total gain at one channel/time for every antenna, amplitude to 1 %.
    const c = 40, t = 5;
    for (let a = 0; a < geo.nAnt; a++) {
      const [tr, ti] = trueGain(geo, truth, a, c, t, 1);
      const bk = (a * geo.nChan + c) * 2 + 1, gk = (t * geo.nAnt + a) * 2 + 1;
      const amp = Math.hypot(sol.bandpass.gain[2 * bk], sol.bandpass.gain[2 * bk + 1]) * Math.hypot(sol.gains.gain[2 * gk], sol.gains.gain[2 * gk + 1]);
      expect(Math.abs(amp / Math.hypot(tr, ti) - 1)).toBeLessThan(0.03);
    }
  });
});

describe('streaming', () => {
  function half(c: VisChunk, t0: number, t1: number): VisChunk {
    const blk = c.nBl * c.nChan * c.nPol;
    return {
      ...c, nTime: t1 - t0, timeMjdSec: c.timeMjdSec.subarray(t0, t1),
      data: c.data.subarray(2 * t0 * blk, 2 * t1 * blk), model: c.model!.subarray(2 * t0 * blk, 2 * t1 * blk),
      flag: c.flag.subarray(t0 * blk, t1 * blk),
    };
  }
  it('sums accumulated over time chunks give the same solutions as one pass', () => {
    const sK = delaySums(half(cal, 0, 5));
    delaySums(half(cal, 5, 12), sK);
    const K2 = delaysFromSums(sK, cal.freqHz, { refant: REFANT });
    for (let k = 0; k < K.delayNs.length; k++) expect(K2.delayNs[k]).toBeCloseTo(K.delayNs[k], 9);
    const sB = bandpassSums(half(cal, 0, 7), { delays: K });
    bandpassSums(half(cal, 7, 12), { delays: K }, sB);
    const B1 = solveBandpass(cal, { refant: REFANT, delays: K });
    const B2 = bandpassFromSums(sB, cal.freqHz, { refant: REFANT, delays: K });
    let maxD = 0;
    for (let k = 0; k < B1.gain.length; k++) maxD = Math.max(maxD, Math.abs(B1.gain[k] - B2.gain[k]));
    expect(maxD).toBeLessThan(1e-5);
    expect(B2.timeMjdSec).toBeCloseTo(B1.timeMjdSec, 6);
  });

  it('apply over time chunks equals apply in one go', () => {
    const a = chunkOf(geo, cal.data.slice(), cal.model!);
    const b = chunkOf(geo, cal.data.slice(), cal.model!);
    const tables = { delays: K, bandpass: BP, gains: G };
    applyCalibration(a, tables);
    const ap = new CalApplier(geo.nAnt, geo.freqHz, 2, tables);
    ap.applyChunk(half(b, 0, 4));
    ap.applyChunk(half(b, 4, 12));
    for (let k = 0; k < a.data.length; k++) if (a.data[k] !== b.data[k]) throw new Error(`differs at ${k}`);
  });

  it('worker threads (shared memory) give bit-identical solutions and apply results', async () => {
    const sc: VisChunk = { ...cal, data: sharedCopy(cal.data), model: sharedCopy(cal.model!), flag: sharedCopy(cal.flag) };
    const a = solveCalibrator(cal, { refant: REFANT, solint: 'int' });
    const w0 = parallel.workersStarted;
    const b = await solveCalibratorParallel(sc, { refant: REFANT, solint: 'int', threads: 2 });
    expect(parallel.workersStarted - w0).toBe(6); // 3 passes (K, BP, G) × 2 threads
    expect(Array.from(b.delays.delayNs)).toEqual(Array.from(a.delays.delayNs));
    expect(Array.from(b.bandpass.gain)).toEqual(Array.from(a.bandpass.gain));
    expect(Array.from(b.gains.gain)).toEqual(Array.from(a.gains.gain));
    const tables = { delays: a.delays, bandpass: a.bandpass, gains: a.gains };
    const ap = new CalApplier(geo.nAnt, geo.freqHz, 2, tables);
    const x = chunkOf(geo, cal.data.slice(), cal.model!);
    const y = chunkOf(geo, sharedCopy(cal.data), cal.model!);
    y.flag = sharedCopy(y.flag);
    const cx = ap.applyChunk(x);
    const cy = await applyChunkParallel(ap, y, 2);
    expect(parallel.workersStarted - w0).toBe(8);
    expect(cy).toEqual(cx);
    for (let k = 0; k < x.data.length; k++) if (x.data[k] !== y.data[k]) throw new Error(`differs at ${k}`);
  });

  it('a bandpass from a different spectral setup is refused', () => {
    const f2 = geo.freqHz.map((f) => f + 1e6);
    expect(() => new CalApplier(geo.nAnt, f2, 2, { bandpass: BP })).toThrow(/different spectral setup/);
  });
});

describe('StEFCal', () => {
  it('converges to the exact gains on noise-free data (1e-6)', () => {
    const r = rng(3);
    const nAnt = 30;
    const ant1: number[] = [], ant2: number[] = [];
    for (let i = 0; i < nAnt; i++) for (let j = i + 1; j < nAnt; j++) { ant1.push(i); ant2.push(j); }
    const nBl = ant1.length;
    const g = new Float64Array(2 * nAnt);
    for (let a = 0; a < nAnt; a++) {
      const amp = 0.5 + r(), ph = 2 * Math.PI * r();
      g[2 * a] = amp * Math.cos(ph); g[2 * a + 1] = amp * Math.sin(ph);
    }
    const xy = new Float64Array(2 * nBl), mm = new Float64Array(nBl);
    for (let b = 0; b < nBl; b++) {
      // Several random model visibilities per baseline summed (like times/channels in a cell).
      for (let s = 0; s < 3; s++) {
        const mr = r() * 2 - 1, mi = r() * 2 - 1;
        const i = ant1[b], j = ant2[b];
        const cr = g[2 * i] * g[2 * j] + g[2 * i + 1] * g[2 * j + 1];
        const ci = g[2 * i + 1] * g[2 * j] - g[2 * i] * g[2 * j + 1];
        const vr = cr * mr - ci * mi, vi = cr * mi + ci * mr;
        xy[2 * b] += vr * mr + vi * mi; xy[2 * b + 1] += vi * mr - vr * mi;
        mm[b] += mr * mr + mi * mi;
      }
    }
    const sol = new Float64Array(2 * nAnt);
    for (let a = 0; a < nAnt; a++) sol[2 * a] = 1;
    const res = stefcal({ nAnt, nBl, ant1: Int32Array.from(ant1), ant2: Int32Array.from(ant2), xy, mm }, sol, { tol: 1e-12, maxIter: 500 });
    expect(res.converged).toBe(true);
    // Compare after removing the unobservable common phase (reference antenna 0).
    const u = Math.atan2(g[1], g[0]) - Math.atan2(sol[1], sol[0]);
    let maxErr = 0;
    for (let a = 0; a < nAnt; a++) {
      const sr = sol[2 * a] * Math.cos(u) - sol[2 * a + 1] * Math.sin(u);
      const si = sol[2 * a] * Math.sin(u) + sol[2 * a + 1] * Math.cos(u);
      maxErr = Math.max(maxErr, Math.hypot(sr - g[2 * a], si - g[2 * a + 1]) / Math.hypot(g[2 * a], g[2 * a + 1]));
    }
    console.log(`StEFCal noise-free: ${res.iterations} iterations, max relative error ${maxErr.toExponential(2)}`);
    expect(maxErr).toBeLessThan(1e-6);
  });
});

describe('bad input', () => {
  it('all data flagged → clear DsaError from every solver', () => {
    const flagged: VisChunk = { ...cal, flag: new Uint8Array(cal.flag.length).fill(1) };
    expect(() => solveBandpass(flagged, { refant: 0 })).toThrow(DsaError);
    expect(() => solveBandpass(flagged, { refant: 0 })).toThrow(/all data flagged/);
    expect(() => solveDelays(flagged, { refant: 0 })).toThrow(/all data flagged/);
    expect(() => solveGains(flagged, { refant: 0 })).toThrow(/flagged/);
    expect(() => chooseRefant(refantStats(flagged))).toThrow(/all data flagged/);
  });
});

describe('refant and QA', () => {
  it('prefers an unflagged antenna near the array centre', () => {
    const flag = new Uint8Array(cal.flag.length);
    const nBl = geo.ant1.length;
    // Flag 30 % of antenna 0's data, everything of antenna 1.
    for (let t = 0; t < geo.nTime; t++) for (let b = 0; b < nBl; b++) {
      for (let k = 0; k < geo.nChan * 2; k++) {
        const idx = (t * nBl + b) * geo.nChan * 2 + k;
        if (geo.ant1[b] === 1 || geo.ant2[b] === 1) flag[idx] = 1;
        if ((geo.ant1[b] === 0 || geo.ant2[b] === 0) && k % 10 < 3) flag[idx] = 1;
      }
    }
    const st = refantStats({ ...cal, flag });
    const choice = chooseRefant(st, geo.enu);
    // Expected: the unflagged antenna closest to the centroid of the usable antennas.
    let cx = 0, cy = 0, n = 0;
    for (let a = 0; a < geo.nAnt; a++) if (a !== 1) { cx += geo.enu[3 * a]; cy += geo.enu[3 * a + 1]; n++; }
    cx /= n; cy /= n;
    let best = -1, bestD = Infinity;
    for (let a = 2; a < geo.nAnt; a++) {
      const d = Math.hypot(geo.enu[3 * a] - cx, geo.enu[3 * a + 1] - cy);
      if (d < bestD) { bestD = d; best = a; }
    }
    expect(choice.refant).toBe(best);
    expect(choice.score[1]).toBe(-Infinity);
    expect(choice.score[0]).toBeLessThan(choice.score[best]);
  });

  it('QA figures and pass/fail', () => {
    const qa = calTableQa(G);
    expect(qa.flaggedFraction).toBe(0);
    expect(qa.goodAntennas).toBe(24);
    expect(qa.passes).toBe(true);
    expect(qa.medianSnr).toBeGreaterThan(50);
    // True phase drifts are up to ±20° over the group: a linear drift of D has rms |D|/√12·(…)
    expect(qa.medianPhaseScatterDeg!).toBeGreaterThan(1);
    expect(qa.medianPhaseScatterDeg!).toBeLessThan(10);
    expect(qa.phaseScatterDeg![REFANT * 2]).toBeCloseTo(0, 6);
    const bad: GainTable = { ...G, flag: G.flag.map((_, i) => (i % 10 < 6 ? 1 : 0)) };
    const qb = calTableQa(bad);
    expect(qb.passes).toBe(false);
    expect(qb.reasons.join(' ')).toMatch(/flagged/);
    // 15 of 24 antennas fully flagged → 9 good antennas → fails on antenna count.
    const few: BandpassTable = { ...BP, flag: BP.flag.map((_, i) => (Math.floor(i / (geo.nChan * 2)) < 15 ? 1 : 0)) };
    expect(passesQa(few)).toBe(false);
    expect(calTableQa(few).goodAntennas).toBe(9);
    expect(passesQa(K)).toBe(true);
  });
});
