/**
 * The WebAssembly SIMD kernels (assembly/flag-kernels.ts → dist/wasm/flag-kernels.wasm, built by
 * `npm run build`) against the TypeScript reference they replace: the masked background residual
 * bit for bit, SumThreshold and whole-plane RFI detection flag for flag, on random planes with
 * RFI, odd sizes, fully flagged rows / columns / planes.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BackgroundScratch, maskedResidual } from '../../src/flagging/background.js';
import { sumThreshold2D, type SumThreshold2DOptions } from '../../src/flagging/sumthreshold.js';
import { flagPlane, PlaneScratch, resolveRfiOptions } from '../../src/flagging/rfi.js';
import { createFlagKernels, flagKernelModule, FlagKernels } from '../../src/flagging/wasm.js';
import { flagTimestepChannelRms } from '../../src/flagging/rms.js';
import { robustSigmaSampled } from '../../src/flagging/stats.js';
import { sirOperator2D } from '../../src/flagging/sir.js';
import { gaussian, rng, simulate } from './rfiSim.js';

const wasmFile = fileURLToPath(new URL('../../dist/wasm/flag-kernels.wasm', import.meta.url));
const enabled = process.env.DSA110_WASM !== '0';
const haveKernels = flagKernelModule() !== null;

/** A noise plane (Rayleigh-like amplitudes or signed residual-like values) with RFI of all kinds. */
function plane(nT: number, nC: number, seed: number, signed: boolean): { v: Float32Array; f: Uint8Array } {
  const r = rng(seed);
  const g = gaussian(r);
  const n = nT * nC;
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = signed ? g() : 5 + 0.002 * (i % nC) + Math.hypot(g(), g());
  const f = new Uint8Array(n);
  // RFI: a persistent channel, short bursts of 1–60σ, a broadband timestep, a ramp
  const c0 = Math.floor(r() * nC);
  for (let t = 0; t < nT; t++) v[t * nC + c0] += 3 + 4 * r();
  for (let b = 0; b < Math.max(1, (n / 300) | 0); b++) {
    const t0 = Math.floor(r() * nT), cb = Math.floor(r() * nC), w = 1 + Math.floor(r() * 6), s = 1 + 60 * r() * r();
    for (let t = t0; t < Math.min(nT, t0 + 2); t++) for (let c = cb; c < Math.min(nC, cb + w); c++) v[t * nC + c] += s;
  }
  if (nT > 2) { const tb = Math.floor(r() * nT); for (let c = 0; c < nC; c++) v[tb * nC + c] += 1.5; }
  // input flags: random 2 %, one fully flagged row and column (when there is more than one)
  for (let i = 0; i < n; i++) if (r() < 0.02) f[i] = 1;
  if (nT > 1) { const tf = Math.floor(r() * nT); for (let c = 0; c < nC; c++) f[tf * nC + c] = 1; }
  if (nC > 1) { const cf = Math.floor(r() * nC); for (let t = 0; t < nT; t++) f[t * nC + cf] = 1; }
  return { v, f };
}

/** Index of the first differing element by bit pattern (−1 if identical). */
function firstBitDiff(a: Float32Array, b: Float32Array): number {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

function firstDiff(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if ((a[i] !== 0) !== (b[i] !== 0)) return i;
  return -1;
}

const SHAPES: Array<[number, number]> = [[24, 768], [23, 101], [7, 13], [1, 50], [50, 1], [5, 3], [24, 37]];

describe('flag kernels are used when built', () => {
  it('PlaneScratch runs on the wasm kernels exactly when dist/wasm/flag-kernels.wasm exists', () => {
    const s = new PlaneScratch(24, 768, resolveRfiOptions());
    expect(s.wasm !== undefined).toBe(existsSync(wasmFile) && enabled);
    // then the plane arrays of the flagging loop are views on the kernels' own memory
    if (s.wasm) {
      expect(s.resid).toBe(s.wasm.resid);
      expect(s.st).toBe(s.wasm.flags);
      expect(s.mask).toBe(s.wasm.mask);
      expect(s.resid.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    }
    // the TypeScript path on request
    expect(new PlaneScratch(24, 768, resolveRfiOptions(), false).wasm).toBeUndefined();
  });
  it('a module without the kernels (a stale build) is refused, so that the caller falls back', () => {
    const empty = new WebAssembly.Module(Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0));
    expect(() => new FlagKernels(empty, new BackgroundScratch(4, 8))).toThrow(/lacks heapBase/);
  });
});

describe.skipIf(!haveKernels)('wasm background residual = maskedResidual, bit for bit', () => {
  it.each(SHAPES)('%i × %i, random masks, flagged rows / columns / blocks / whole plane', (nT, nC) => {
    for (let seed = 1; seed <= 4; seed++) {
      const { v, f } = plane(nT, nC, 1000 * nT + nC + seed, false);
      if (seed === 3) {
        // a flagged stretch wider than the filters (invalid blocks, filled by fillInvalidBlocks)
        for (let t = 0; t < nT; t++) for (let c = 0; c < Math.min(nC, 40); c++) f[t * nC + c] = 1;
        for (let t = 0; t < Math.min(nT, 9); t++) for (let c = 0; c < nC; c++) f[t * nC + c] = 1;
      }
      if (seed === 4) f.fill(1);
      const bgs = new BackgroundScratch(nT, nC);
      const ref = new Float32Array(nT * nC);
      maskedResidual(v, f, ref, bgs);
      const k = createFlagKernels(new BackgroundScratch(nT, nC))!;
      k.amp.set(v);
      k.mask.set(f);
      k.residual();
      expect(firstBitDiff(k.resid, ref)).toBe(-1);
      // and again on the same instance with another mask (no state carried over)
      f.fill(0);
      maskedResidual(v, f, ref, bgs);
      k.mask.set(f);
      k.residual();
      expect(firstBitDiff(k.resid, ref)).toBe(-1);
    }
  });
  it('non-default filter settings (decimation 1 / 4, other σ²)', () => {
    for (const opts of [{ timeDecimation: 1 }, { timeDecimation: 4, timeSigmaSq: 1, freqSigmaSq: 12 }, { freqSigmaSq: 0 }]) {
      const { v, f } = plane(24, 200, 77, false);
      const ref = new Float32Array(v.length);
      maskedResidual(v, f, ref, new BackgroundScratch(24, 200, opts));
      const k = createFlagKernels(new BackgroundScratch(24, 200, opts))!;
      k.amp.set(v);
      k.mask.set(f);
      k.residual();
      expect(firstBitDiff(k.resid, ref)).toBe(-1);
    }
  });
});

describe.skipIf(!haveKernels)('wasm SumThreshold = sumThreshold2D, flag for flag', () => {
  const OPTS: SumThreshold2DOptions[] = [
    {}, { chi1Time: 3.1 }, { timeDirection: false }, { frequencyDirection: false }, { maxWindow: 8 },
    { maxWindow: 1 }, { growth: 1.3 },
  ];
  it.each(SHAPES)('%i × %i: random planes with RFI, several χ₁ and options', (nT, nC) => {
    let flagged = 0, total = 0;
    for (let seed = 1; seed <= 3; seed++) {
      const { v, f } = plane(nT, nC, 7000 * nT + nC + seed, true);
      const k = createFlagKernels(new BackgroundScratch(nT, nC))!;
      for (const chi1 of [2.5, 4, 6, 12]) {
        for (const o of OPTS) {
          const ref = Uint8Array.from(f);
          sumThreshold2D(v, ref, nT, nC, chi1, o);
          k.resid.set(v);
          k.flags.set(f);
          k.sumThreshold(chi1, o);
          const d = firstDiff(k.flags, ref);
          if (d >= 0) throw new Error(`${nT}×${nC} seed ${seed} χ₁ ${chi1} ${JSON.stringify(o)}: flags differ at ${d}`);
          for (let i = 0; i < ref.length; i++) flagged += ref[i];
          total += ref.length;
        }
      }
    }
    // the comparison is not vacuous: RFI and the low thresholds flag a fair share, not all
    expect(flagged / total).toBeGreaterThan(0.03);
    expect(flagged / total).toBeLessThan(0.9);
  });
  it('a fully flagged plane stays as it is; an all-zero plane flags nothing', () => {
    const k = createFlagKernels(new BackgroundScratch(6, 20))!;
    k.resid.fill(50);
    k.flags.fill(1);
    k.sumThreshold(1);
    expect(k.flags.every((x) => x === 1)).toBe(true);
    k.resid.fill(0);
    k.flags.fill(0);
    k.sumThreshold(1);
    expect(k.flags.every((x) => x === 0)).toBe(true);
  });
});

describe.skipIf(!haveKernels)('wasm residual statistics = the TypeScript ones, exactly', () => {
  it.each(SHAPES)('%i × %i: timestep / channel RMS sums and the subsampled robust σ', (nT, nC) => {
    for (let seed = 1; seed <= 3; seed++) {
      const { v, f } = plane(nT, nC, 3000 * nT + nC + seed, true);
      const k = createFlagKernels(new BackgroundScratch(nT, nC))!;
      k.resid.set(v);
      const m = Math.max(nT, nC);
      for (const [maskIn, other] of [[k.flags, k.mask], [k.mask, k.flags]] as const) {
        maskIn.set(f);
        if (seed === 2) maskIn.fill(1, 0, Math.min(maskIn.length, 3 * nC)); // flagged rows
        other.fill(0);
        const run = (useK: boolean): [Float64Array, Float64Array, Uint8Array, number] => {
          const tB = new Float64Array(m), cB = new Float64Array(m), out = Uint8Array.from(maskIn);
          const r = flagTimestepChannelRms(k.resid, maskIn, out, nT, nC, 2, 2.5, false, true,
            tB, new Uint8Array(m), cB, new Uint8Array(m), new Int32Array(m), useK ? k : undefined);
          return [tB, cB, out, r];
        };
        const [tW, cW, oW, rW] = run(true);
        const [tT, cT, oT, rT] = run(false);
        expect(Array.from(tW)).toEqual(Array.from(tT));
        expect(Array.from(cW)).toEqual(Array.from(cT));
        expect(firstDiff(oW, oT)).toBe(-1);
        expect(rW).toBe(rT);
      }
      // the noise scale: exactly the reference's value (or the reference itself when it would
      // not subsample); the residual-like planes have σ ≈ 1
      const ref = robustSigmaSampled(k.resid, k.mask, 4096, new Float64Array(nT * nC));
      const got = k.robustSigma(4096) ?? robustSigmaSampled(k.resid, k.mask, 4096, new Float64Array(nT * nC));
      expect(got).toBe(ref);
      if (nT * nC > 4096) {
        expect(k.robustSigma(4096)).toBeDefined();
        expect(Math.abs(ref - 1)).toBeLessThan(0.1);
      }
    }
  });
});

describe.skipIf(!haveKernels)('wasm noise σ (radix selection) = robustSigmaSampled, exactly', () => {
  it('odd and even counts, duplicates, ±0, heavy tails, shifted medians', () => {
    const nT = 24, nC = 768, n = nT * nC;
    const k = createFlagKernels(new BackgroundScratch(nT, nC))!;
    const scratch = new Float64Array(n);
    const r = rng(4242);
    const g = gaussian(r);
    for (let trial = 0; trial < 40; trial++) {
      const kind = trial % 5;
      for (let i = 0; i < n; i++) {
        let v = g() * (1 + trial) + (kind === 3 ? 50 : 0);
        if (kind === 1) v = Math.round(v * 2) / 2; // many duplicates (and exact zeros)
        if (kind === 2) v = r() < 0.3 ? (r() < 0.5 ? -0 : 0) : v; // many signed zeros
        if (kind === 4 && r() < 0.05) v *= 1e6; // heavy tail
        k.resid[i] = v;
      }
      // a random mask: the subsample count (and its parity) varies from trial to trial
      const p = 0.02 + 0.5 * r();
      for (let i = 0; i < n; i++) k.mask[i] = r() < p ? 1 : 0;
      const ref = robustSigmaSampled(k.resid, k.mask, 4096, scratch);
      expect(k.robustSigma(4096)).toBe(ref);
    }
  });
});

describe.skipIf(!haveKernels)('wasm SIR = sirOperator2D, flag for flag', () => {
  it.each(SHAPES)('%i × %i: random flags (sparse, clustered), with and without missing samples', (nT, nC) => {
    const k = createFlagKernels(new BackgroundScratch(nT, nC))!;
    const n = nT * nC;
    let grown = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const r = rng(9000 * nT + nC + seed);
      const density = [0.05, 0.2, 0.4][seed % 3];
      const f = new Uint8Array(n), miss = new Uint8Array(n);
      for (let i = 0; i < n; i++) f[i] = r() < density ? 1 : 0;
      // clustered: a few short runs along each axis, and missing samples (some also flagged)
      for (let q = 0; q < 6; q++) { const i0 = Math.floor(r() * n); for (let i = i0; i < Math.min(n, i0 + 5); i++) f[i] = 1; }
      for (let i = 0; i < n; i++) if (r() < 0.03) { miss[i] = 1; if (r() < 0.5) f[i] = 1; }
      if (nT > 1 && seed === 4) for (let c = 0; c < nC; c++) miss[c] = 1; // a fully missing row
      for (const [eT, eF] of [[0.2, 0.2], [0.3, 0.1], [0, 0.2], [0.2, 0]]) {
        for (const useMiss of [true, false]) {
          const ref = Uint8Array.from(f);
          sirOperator2D(ref, nT, nC, eT, eF, useMiss ? miss : undefined);
          k.flags.set(f);
          k.input.set(miss);
          expect(k.sir(k.flags, useMiss ? k.input : undefined, eT, eF)).toBe(true);
          expect(firstDiff(k.flags, ref)).toBe(-1);
          for (let i = 0; i < n; i++) grown += ref[i] - f[i];
        }
      }
    }
    // not vacuous: the operator did add flags
    if (n > 50) expect(grown).toBeGreaterThan(0);
    // arrays that are not the kernels' own are left to the caller
    expect(k.sir(new Uint8Array(n), undefined, 0.2, 0.2)).toBe(false);
  });
});

describe.skipIf(!haveKernels)('whole-plane RFI detection: wasm and TypeScript paths agree', () => {
  it('flagPlane on simulated visibilities (noise, fringes, persistent / bursty / broadband RFI)', () => {
    const nTime = 24, nChan = 768;
    const { cube } = simulate({ nTime, nChan, nAnt: 4, nPol: 2, seed: 303, broadband: 1 });
    const o = resolveRfiOptions();
    const sW = new PlaneScratch(nTime, nChan, o, true);
    const sT = new PlaneScratch(nTime, nChan, o, false);
    expect(sW.wasm).toBeDefined();
    const n = nTime * nChan;
    let planes = 0, flagged = 0;
    for (let b = 0; b < cube.nBl; b++) {
      if (cube.ant1[b] === cube.ant2[b]) continue;
      for (let p = 0; p < cube.nPol; p++) {
        const amp = new Float32Array(n);
        const f0 = new Uint8Array(n);
        for (let t = 0; t < nTime; t++) for (let c = 0; c < nChan; c++) {
          const i = ((t * cube.nBl + b) * nChan + c) * cube.nPol + p;
          amp[t * nChan + c] = Math.hypot(cube.data[2 * i], cube.data[2 * i + 1]);
          f0[t * nChan + c] = cube.flags[i];
        }
        const fW = Uint8Array.from(f0), fT = Uint8Array.from(f0);
        flagPlane(amp, fW, nTime, nChan, o, sW);
        flagPlane(amp, fT, nTime, nChan, o, sT);
        expect(firstDiff(fW, fT)).toBe(-1);
        planes++;
        for (let i = 0; i < n; i++) flagged += fT[i];
      }
    }
    expect(planes).toBe(12);
    expect(flagged / (planes * n)).toBeGreaterThan(0.01);
  });
});
