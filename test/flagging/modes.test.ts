import { describe, expect, it } from 'vitest';
import type { Cube } from '../../src/flagging/types.js';
import {
  flagAutocorr, flagClip, flagDeadAntennas, flagExtend, flagMadClip, flagManual, flagQuack, flagReset, flagZeros,
} from '../../src/flagging/modes.js';
import { flagSummary } from '../../src/flagging/summary.js';
import { applyStrategy, defaultStrategy } from '../../src/flagging/strategy.js';
import { UsageError } from '../../src/util/errors.js';

/** 3 antennas with autos: baselines 0-0, 0-1, 0-2, 1-1, 1-2, 2-2; all visibilities 1 + 0i. */
function small(nTime = 4, nChan = 5, nPol = 2): Cube {
  const ant1 = Int32Array.from([0, 0, 0, 1, 1, 2]);
  const ant2 = Int32Array.from([0, 1, 2, 1, 2, 2]);
  const nBl = 6;
  const n = nTime * nBl * nChan * nPol;
  const data = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) data[2 * i] = 1;
  const times = Float64Array.from({ length: nTime }, (_, t) => 1000 + 10 * t);
  return { nTime, nBl, nChan, nPol, data, flags: new Uint8Array(n), ant1, ant2, times };
}
const at = (c: Cube, t: number, b: number, ch: number, p: number): number => ((t * c.nBl + b) * c.nChan + ch) * c.nPol + p;
const count = (f: Uint8Array): number => f.reduce((s, v) => s + v, 0);

describe('simple modes', () => {
  it('zeros flags exact zeros and NaN/Inf only', () => {
    const c = small();
    const i = at(c, 1, 2, 3, 0), j = at(c, 2, 1, 0, 1), k = at(c, 3, 4, 4, 1);
    c.data[2 * i] = 0;
    c.data[2 * j + 1] = NaN;
    c.data[2 * k] = Infinity;
    c.data[2 * at(c, 0, 1, 1, 1)] = 1e-30; // tiny but not zero
    expect(flagZeros(c)).toBe(3);
    expect([c.flags[i], c.flags[j], c.flags[k]]).toEqual([1, 1, 1]);
  });
  it('autocorr flags ant1 == ant2 only', () => {
    const c = small();
    expect(flagAutocorr(c)).toBe(3 * 4 * 5 * 2);
    expect(c.flags[at(c, 2, 3, 1, 0)]).toBe(1);
    expect(c.flags[at(c, 2, 4, 1, 0)]).toBe(0);
  });
  it('clip flags amplitudes outside [min, max]', () => {
    const c = small();
    c.data[2 * at(c, 0, 1, 0, 0)] = 3; // |3| > 2
    c.data[2 * at(c, 0, 1, 1, 0)] = 0.3; c.data[2 * at(c, 0, 1, 1, 0) + 1] = 0.4; // |0.5| < 0.6
    expect(flagClip(c, 0.6, 2)).toBe(2);
    expect(() => flagClip(c, 2, 1)).toThrow(UsageError);
  });
  it('manual: intersection of antennas, channel and time ranges (half-open)', () => {
    const c = small();
    // antenna 2 → baselines 0-2, 1-2, 2-2; channels [1,3); time [2,4); both pols
    expect(flagManual(c, { antennas: [2], channels: [[1, 3]], times: [[2, 4]] })).toBe(3 * 2 * 2 * 2);
    expect(c.flags[at(c, 2, 2, 1, 0)]).toBe(1);
    expect(c.flags[at(c, 2, 2, 3, 0)]).toBe(0);
    expect(c.flags[at(c, 1, 2, 1, 0)]).toBe(0);
    expect(c.flags[at(c, 2, 1, 1, 0)]).toBe(0);
    // explicit baseline, one pol
    const d = small();
    expect(flagManual(d, { baselines: [[1, 0]], pols: [1] })).toBe(4 * 5);
    expect(d.flags[at(d, 0, 1, 0, 1)]).toBe(1);
    expect(d.flags[at(d, 0, 1, 0, 0)]).toBe(0);
    expect(() => flagManual(d, {})).toThrow(UsageError);
  });
  it('quack flags the integrations that start within N seconds of the first', () => {
    const c = small(); // times 1000, 1010, 1020, 1030
    expect(flagQuack(c, 15)).toBe(2 * 6 * 5 * 2);
    expect(c.flags[at(c, 1, 0, 0, 0)]).toBe(1);
    expect(c.flags[at(c, 2, 0, 0, 0)]).toBe(0);
    expect(() => flagQuack({ ...small(), times: undefined }, 10)).toThrow(UsageError);
  });
  it('deadAntennas flags every baseline of an antenna already flagged above the fraction', () => {
    const c = small();
    flagManual(c, { baselines: [[0, 2], [1, 2]], times: [[0, 3]] }); // antenna 2: 75 % of its cross data
    flagDeadAntennas(c, 0.5);
    for (const b of [2, 4, 5]) expect(c.flags[at(c, 3, b, 0, 0)]).toBe(1);
    expect(c.flags[at(c, 3, 1, 0, 0)]).toBe(0); // 0-1: antennas 0 and 1 are at 37.5 % and below
  });
  it('madClip flags amplitudes above median + N·1.4826·MAD per baseline-pol', () => {
    const c = small(4, 5, 1);
    // baseline 1: amplitudes 1…20 (time-major): median 10.5, MAD 5 → 3σ limit 10.5 + 3·1.4826·5 = 32.7
    for (let t = 0; t < 4; t++) for (let ch = 0; ch < 5; ch++) c.data[2 * at(c, t, 1, ch, 0)] = 1 + t * 5 + ch;
    c.data[2 * at(c, 3, 1, 4, 0)] = 33; // above the limit
    c.data[2 * at(c, 3, 1, 3, 0)] = 32; // below
    expect(flagMadClip(c, 3)).toBe(1);
    expect(c.flags[at(c, 3, 1, 4, 0)]).toBe(1);
  });
  it('extend: across polarisations, then (time, channel) over baselines, then whole timesteps', () => {
    const c = small();
    c.flags[at(c, 0, 1, 0, 0)] = 1;
    flagExtend(c, { grow: 1 });
    expect(c.flags[at(c, 0, 1, 0, 1)]).toBe(1); // other pol
    const d = small();
    // channel 2 at time 1 flagged on 2 of 3 cross baselines (> 50 %) → all baselines
    d.flags[at(d, 1, 1, 2, 0)] = 1;
    d.flags[at(d, 1, 2, 2, 0)] = 1;
    flagExtend(d, { grow: 0.5 });
    for (let b = 0; b < 6; b++) expect(d.flags[at(d, 1, b, 2, 1)]).toBe(1);
    expect(d.flags[at(d, 1, 1, 3, 0)]).toBe(0);
    // time 3: 3 of 5 channels flagged everywhere → the whole timestep
    const e = small();
    flagManual(e, { times: [[3, 4]], channels: [[0, 3]] });
    flagExtend(e, { grow: 0.5 });
    expect(e.flags[at(e, 3, 4, 4, 0)]).toBe(1);
    expect(e.flags[at(e, 2, 4, 4, 0)]).toBe(0);
  });
  it('reset unflags everything and reports how many were flagged', () => {
    const c = small();
    flagAutocorr(c);
    expect(flagReset(c)).toBe(120);
    expect(count(c.flags)).toBe(0);
  });
});

describe('summary and strategy', () => {
  it('summary fractions by antenna, channel, time', () => {
    const c = small();
    flagManual(c, { baselines: [[1, 2]] }); // one of 6 baselines
    const s = flagSummary(c);
    expect(s.total).toBeCloseTo(1 / 6, 12);
    // antenna 0: baselines 0-0, 0-1, 0-2 → 0; antenna 1: 0-1, 1-1, 1-2 → 1/3; antenna 2 → 1/3
    expect(Array.from(s.byAntenna)).toEqual([0, 1 / 3, 1 / 3]);
    expect(s.byChannel[3]).toBeCloseTo(1 / 6, 12);
    expect(s.byTime[0]).toBeCloseTo(1 / 6, 12);
    expect(s.byBaseline[4]).toBe(1);
  });
  it('the default strategy is zeros → rfi → extend and keeps autocorrelations unflagged', () => {
    expect(defaultStrategy().map((s) => s.mode)).toEqual(['zeros', 'rfi', 'extend']);
    const c = small(24, 64, 2);
    c.data[2 * at(c, 5, 1, 7, 0)] = 0;
    const rep = applyStrategy(c, defaultStrategy());
    expect(rep.steps.map((s) => s.newlyFlagged)[0]).toBe(1);
    expect(c.flags[at(c, 5, 1, 7, 1)]).toBe(1); // extended across pols
    expect(c.flags[at(c, 5, 0, 7, 0)]).toBe(0); // autos untouched
    expect(rep.flagged).toBe(count(c.flags));
  });
});

describe('countFlags (four bytes at a time)', () => {
  it('equals a byte-by-byte count on odd lengths, unaligned views and non-0/1 bytes', async () => {
    const { countFlags } = await import('../../src/flagging/rfi.js');
    const buf = new Uint8Array(10_007);
    let s = 7;
    for (let i = 0; i < buf.length; i++) { s = (s * 1103515245 + 12345) & 0x7fffffff; buf[i] = s % 10 < 3 ? 1 : 0; }
    buf[17] = 2; buf[18] = 255; buf[4001] = 1;
    for (const v of [buf, buf.subarray(1), buf.subarray(3, 9_998), buf.subarray(4, 4)]) {
      let n = 0;
      for (let i = 0; i < v.length; i++) if (v[i] !== 0) n++;
      expect(countFlags(v)).toBe(n);
    }
  });
});
