/**
 * The commands' specialised kernels (src/calibration/ms-jobs.ts) against the library ones they
 * replace: the model + sums pass equals predictPointSources + accumulateSums, the apply kernel
 * equals CalApplier.applyChunk (bit for bit, flags and weights included), the weight restore
 * undoes calwt, and the channel-major bandpass cells give the library's bandpass.
 */
import { describe, expect, it } from 'vitest';
import { predictPointSources } from '../../src/calibration/model.js';
import { accumulateSums, antennaChanGains, createSums } from '../../src/calibration/sums.js';
import { CalApplier } from '../../src/calibration/apply.js';
import { bandpassFromSums } from '../../src/calibration/bandpass.js';
import { applyRange, bandpassCells, predictAccumulate } from '../../src/calibration/ms-jobs.js';
import type { BandpassTable, DelayTable, GainTable, VisChunk } from '../../src/calibration/types.js';
import { rng } from './synth.js';

const nAnt = 7, nChan = 12, nPol = 2, nTime = 3;
const nBl = (nAnt * (nAnt + 1)) / 2;
const ant1 = new Int32Array(nBl), ant2 = new Int32Array(nBl);
{
  let b = 0;
  for (let i = 0; i < nAnt; i++) for (let j = i; j < nAnt; j++) { ant1[b] = i; ant2[b] = j; b++; }
}
const freqHz = Float64Array.from({ length: nChan }, (_, c) => 1.4e9 + c * 244140.625);
const timeMjdSec = Float64Array.from({ length: nTime }, (_, t) => 60000 * 86400 + 12.9 * t);
const nVis = nTime * nBl * nChan * nPol;

function chunk(seed: number): VisChunk & { uvw: Float64Array } {
  const r = rng(seed);
  const data = new Float32Array(2 * nVis).map(() => r() - 0.5);
  const flag = new Uint8Array(nVis).map(() => (r() < 0.05 ? 1 : 0));
  const weight = new Float32Array(nVis).map(() => (r() < 0.02 ? 0 : 0.5 + r()));
  const uvw = new Float64Array(3 * nTime * nBl).map(() => (r() - 0.5) * 1000);
  return { nTime, nBl, nChan, nPol, nAnt, ant1, ant2, freqHz, timeMjdSec, data, flag, weight, uvw };
}

const sky = { raRad: Float64Array.of(3.5, 3.51), decRad: Float64Array.of(0.53, 0.525), fluxJy: new Float64Array(2 * nChan).fill(3) };
const pra = new Float64Array(nTime).fill(3.502), pdec = new Float64Array(nTime).fill(0.531);

describe('calibrate kernels', () => {
  it('model + sums by baseline ranges = predictPointSources + accumulateSums', () => {
    const c = chunk(1);
    const ref = predictPointSources({ nTime, nBl, nPol, freqHz, uvw: c.uvw, phaseCentreRaRad: 3.5, phaseCentreDecRad: 0.53, pointingRaRad: pra, pointingDecRad: pdec }, sky);
    const want = createSums(nAnt, ant1, ant2, nChan, nPol);
    accumulateSums({ ...c, model: ref }, want);
    const model = new Float32Array(2 * nVis);
    const got = createSums(nAnt, ant1, ant2, nChan, nPol);
    for (const [b0, b1] of [[0, 9], [9, nBl]]) {
      predictAccumulate({
        op: 'predictAccumulate', nTime, nBl, nChan, nPol, nAnt, b0, b1, freqHz, uvw: c.uvw, phaseCentreRaRad: 3.5, phaseCentreDecRad: 0.53,
        pointingRaRad: pra, pointingDecRad: pdec, skyRa: sky.raRad, skyDec: sky.decRad, skyFlux: sky.fluxJy,
        data: c.data, model, flag: c.flag, weight: c.weight!, ant1, ant2, xy: got.xy, mm: got.mm, vv: got.vv, n: got.n, oldCorrected: null,
      });
    }
    expect(Array.from(model)).toEqual(Array.from(ref));
    for (const k of ['xy', 'mm', 'vv', 'n'] as const) {
      let maxRel = 0;
      for (let i = 0; i < want[k].length; i++) maxRel = Math.max(maxRel, Math.abs(got[k][i] - want[k][i]) / (Math.abs(want[k][i]) + 1e-30));
      expect(maxRel, k).toBeLessThan(1e-12);
    }
  });

  it('bandpass cells per channel range = bandpassFromSums (K removed)', () => {
    const r = rng(2);
    const g = new Float64Array(2 * nAnt * nChan * nPol).map(() => r() - 0.5);
    const sums = createSums(nAnt, ant1, ant2, nChan, nPol);
    for (let b = 0; b < nBl; b++) {
      const i = ant1[b], j = ant2[b];
      if (i === j) continue;
      for (let c = 0; c < nChan; c++) for (let p = 0; p < nPol; p++) {
        const s = (b * nChan + c) * nPol + p, gi = (i * nChan + c) * nPol + p, gj = (j * nChan + c) * nPol + p;
        const ar = 1 + g[2 * gi], ai = g[2 * gi + 1], br = 1 + g[2 * gj], bi = g[2 * gj + 1];
        sums.xy[2 * s] = 10 * (ar * br + ai * bi) + 0.01 * (r() - 0.5);
        sums.xy[2 * s + 1] = 10 * (ai * br - ar * bi) + 0.01 * (r() - 0.5);
        sums.mm[s] = 10; sums.vv[s] = 10 * (ar * ar + ai * ai) * (br * br + bi * bi) + 1e-4; sums.n[s] = 5;
      }
    }
    sums.timeSum = 1; sums.timeCount = 1;
    const delays: DelayTable = {
      type: 'K', nAnt, nPol, delayNs: new Float64Array(nAnt * nPol).map(() => 2 * r()), flag: new Uint8Array(nAnt * nPol), snr: new Float32Array(nAnt * nPol), refant: 2, timeMjdSec: 0,
    };
    const refBp: BandpassTable = bandpassFromSums(withPrior(sums, delays), freqHz, { refant: 2, delays });
    const ap = nAnt * nPol;
    const cm = createSums(nAnt, ant1, ant2, nChan, nPol);
    const rawGain = new Float64Array(2 * nChan * ap), rawFlag = new Uint8Array(nChan * ap), rawSnr = new Float32Array(nChan * ap);
    const kPre = antennaChanGains(nAnt, freqHz, nPol, delays);
    for (const [c0, c1] of [[0, 5], [5, nChan]]) {
      bandpassCells({
        op: 'bandpass', c0, c1, nBl, nChan, nPol, nAnt, ant1, ant2, xy: sums.xy, mm: sums.mm, vv: sums.vv, n: sums.n,
        preGain: kPre.gain, preFlag: kPre.flag, cmXy: cm.xy, cmMm: cm.mm, cmVv: cm.vv, cmN: cm.n, refant: 2, minSnr: 3, solve: true, rawGain, rawFlag, rawSnr,
      });
    }
    // Compare phases and amplitude ratios (the library normalises to unit mean amplitude afterwards).
    let maxPh = 0;
    for (let a = 0; a < nAnt; a++) for (let c = 0; c < nChan; c++) for (let p = 0; p < nPol; p++) {
      const o = (a * nChan + c) * nPol + p, k = c * ap + a * nPol + p;
      expect(rawFlag[k]).toBe(refBp.flag[o]);
      const d = Math.atan2(rawGain[2 * k + 1], rawGain[2 * k]) - Math.atan2(refBp.gain[2 * o + 1], refBp.gain[2 * o]);
      maxPh = Math.max(maxPh, Math.abs(Math.atan2(Math.sin(d), Math.cos(d))));
    }
    expect(maxPh).toBeLessThan(1e-4);
  });
});

/** Sums with K applied the library way (accumulate-free: conj(F)·xy, |F|²·mm). */
function withPrior(src: ReturnType<typeof createSums>, k: DelayTable): ReturnType<typeof createSums> {
  const pre = antennaChanGains(nAnt, freqHz, nPol, k);
  const out = createSums(nAnt, ant1, ant2, nChan, nPol);
  out.timeSum = src.timeSum; out.timeCount = src.timeCount;
  for (let b = 0; b < nBl; b++) {
    const i = ant1[b], j = ant2[b];
    for (let c = 0; c < nChan; c++) for (let p = 0; p < nPol; p++) {
      const s = (b * nChan + c) * nPol + p, ki = (i * nChan + c) * nPol + p, kj = (j * nChan + c) * nPol + p;
      const fr = pre.gain[2 * ki] * pre.gain[2 * kj] + pre.gain[2 * ki + 1] * pre.gain[2 * kj + 1];
      const fi = pre.gain[2 * ki + 1] * pre.gain[2 * kj] - pre.gain[2 * ki] * pre.gain[2 * kj + 1];
      out.xy[2 * s] = fr * src.xy[2 * s] + fi * src.xy[2 * s + 1];
      out.xy[2 * s + 1] = fr * src.xy[2 * s + 1] - fi * src.xy[2 * s];
      out.mm[s] = (fr * fr + fi * fi) * src.mm[s]; out.vv[s] = src.vv[s]; out.n[s] = src.n[s];
    }
  }
  return out;
}

describe('apply kernel', () => {
  function tables(seed: number): { delays: DelayTable; bandpass: BandpassTable; gains: GainTable } {
    const r = rng(seed);
    const delays: DelayTable = { type: 'K', nAnt, nPol, delayNs: new Float64Array(nAnt * nPol).map(() => 3 * (r() - 0.5)), flag: new Uint8Array(nAnt * nPol), snr: new Float32Array(nAnt * nPol), refant: 0, timeMjdSec: 0 };
    delays.flag[3] = 1;
    const bandpass: BandpassTable = {
      type: 'BP', nAnt, nChan, nPol, freqHz, gain: new Float32Array(2 * nAnt * nChan * nPol).map(() => 0.5 + r()), flag: new Uint8Array(nAnt * nChan * nPol).map(() => (r() < 0.03 ? 1 : 0)),
      snr: new Float32Array(nAnt * nChan * nPol), refant: 0, timeMjdSec: 0,
    };
    const gains: GainTable = {
      type: 'G', nTime: 2, nAnt, nPol, timeMjdSec: Float64Array.of(timeMjdSec[0] - 5, timeMjdSec[2] + 5), gain: new Float32Array(4 * nAnt * nPol).map(() => 0.5 + r()),
      flag: new Uint8Array(2 * nAnt * nPol), snr: new Float32Array(2 * nAnt * nPol), refant: 0, mode: 'ap', solint: 'int',
    };
    gains.flag[5] = 1;
    return { delays, bandpass, gains };
  }

  it('equals CalApplier.applyChunk bit for bit (data, flags, weights, counts)', () => {
    const t = tables(3);
    const a = chunk(4), b = chunk(4);
    const applier = new CalApplier(nAnt, freqHz, nPol, t);
    const want = applier.applyChunk(a);
    const args = applier.prepare(b);
    const parts = [[0, 11], [11, nBl]].map(([b0, b1]) => applyRange({ op: 'apply', b0, b1, args, oldCorrected: null }));
    expect(Buffer.from(b.data.buffer).equals(Buffer.from(a.data.buffer))).toBe(true);
    expect(Array.from(b.flag)).toEqual(Array.from(a.flag));
    expect(Buffer.from(b.weight!.buffer).equals(Buffer.from(a.weight!.buffer))).toBe(true);
    const sum = (k: number) => parts.reduce((s, p) => s + p[k], 0);
    expect([sum(0), sum(1), sum(2)]).toEqual([want.alreadyFlagged, want.flaggedBySolutions, want.nonFinite]);
    expect(want.flaggedBySolutions).toBeGreaterThan(0);
    expect(parts.some((p) => p[3] === 1)).toBe(true);
  });

  it('a second apply with the weight restore gives the weights of a single apply', () => {
    const t = tables(5);
    const once = chunk(6);
    const applier = new CalApplier(nAnt, freqHz, nPol, t);
    applyRange({ op: 'apply', b0: 0, b1: nBl, args: applier.prepare(once), oldCorrected: null });
    // Second run: DATA is the original again, WEIGHT/FLAG are the first run's output.
    const twice = chunk(6);
    twice.weight!.set(once.weight!);
    twice.flag.set(once.flag);
    applyRange({ op: 'apply', b0: 0, b1: nBl, args: applier.prepare(twice), oldCorrected: once.data });
    let maxRel = 0;
    for (let i = 0; i < nVis; i++) if (once.weight![i] > 0) maxRel = Math.max(maxRel, Math.abs(twice.weight![i] / once.weight![i] - 1));
    expect(maxRel).toBeLessThan(1e-5);
  });
});
