import { describe, expect, it } from 'vitest';
import { sirOperator1D, sirOperator2D } from '../../src/flagging/sir.js';
import { rng } from './rfiSim.js';

const seq = (s: string): Uint8Array => Uint8Array.from(s.split('').map((c) => (c === 'x' ? 1 : 0)));
const str = (f: Uint8Array): string => Array.from(f).map((v) => (v ? 'x' : '.')).join('');
const sir = (s: string, eta: number, missing?: string): string => {
  const f = seq(s);
  sirOperator1D(f, eta, missing === undefined ? undefined : seq(missing));
  return str(f);
};

/** Brute force from the definition: flag i if some interval containing it is ≥ (1−η) flagged. */
function bruteForce(f: Uint8Array, eta: number): Uint8Array {
  const n = f.length;
  const out = Uint8Array.from(f);
  for (let a = 0; a < n; a++) {
    let k = 0;
    for (let b = a; b < n; b++) {
      k += f[b];
      if (k >= (1 - eta) * (b - a + 1) - 1e-9) out.fill(1, a, b + 1);
    }
  }
  return out;
}

describe('SIR operator, by hand (η = 0.2: an interval qualifies at ≥ 80 % flagged)', () => {
  it('a single flag does not grow (1 of 2 = 50 %)', () => {
    expect(sir('..x..', 0.2)).toBe('..x..');
  });
  it('a run of 4 grows by one on each side (4 of 5 = 80 %), a run of 3 does not', () => {
    expect(sir('...xxxx...', 0.2)).toBe('..xxxxxx..');
    expect(sir('...xxx...', 0.2)).toBe('...xxx...');
  });
  it('a run of 8 grows by two (8 of 10)', () => {
    expect(sir('....xxxxxxxx....', 0.2)).toBe('..xxxxxxxxxxxx..');
  });
  it('two runs of 4 with a gap of 2 merge (8 of 10); each run still extends by one outwards', () => {
    // outward, 8 of 11 (73 %) does not qualify, but each run of 4 alone plus one neighbour does
    expect(sir('...xxxx..xxxx...', 0.2)).toBe('..xxxxxxxxxxxx..');
  });
  it('η = 0 changes nothing; η = 0.5 lets one flag take one neighbour', () => {
    expect(sir('.x..xx.', 0)).toBe('.x..xx.');
    expect(sir('...x...', 0.5)).toBe('..xxx..');
  });
  it('missing samples are skipped: a run of 4 extends past a missing sample', () => {
    // sample 7 is missing: the neighbour beyond it (8) is the run's right neighbour
    expect(sir('...xxxx.....', 0.2, '.......x....')).toBe('..xxxxx.x...');
  });
});

describe('SIR operator: linear-time algorithm = definition', () => {
  it('matches the O(n²) brute force on random sequences', () => {
    const r = rng(7);
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + Math.floor(r() * 60);
      const p = r();
      const f = new Uint8Array(n).map(() => (r() < p ? 1 : 0));
      const eta = [0.1, 0.2, 0.3, 0.4, 0.5][trial % 5];
      const fast = Uint8Array.from(f);
      sirOperator1D(fast, eta);
      expect(str(fast)).toBe(str(bruteForce(f, eta)));
    }
  });
  it('2-D: time first, then frequency, on the result', () => {
    const nT = 6, nC = 10;
    const f = new Uint8Array(nT * nC);
    for (let t = 1; t < 5; t++) f[t * nC + 2] = 1; // 4 in time at channel 2
    sirOperator2D(f, nT, nC, 0.2, 0.2);
    // time: rows 0..5 of channel 2 flagged (4 → 6); frequency: single flags per row do not grow
    for (let t = 0; t < nT; t++) for (let c = 0; c < nC; c++) expect(f[t * nC + c]).toBe(c === 2 ? 1 : 0);
  });
  it('2-D with missing samples equals the 1-D operator on every column, then every row', () => {
    // sirOperator2D skips columns with no (non-missing) flag; the result must not change
    const r = rng(19);
    for (let trial = 0; trial < 20; trial++) {
      const nT = 24, nC = 50 + trial;
      const f = new Uint8Array(nT * nC).map(() => (r() < 0.04 ? 1 : 0));
      for (let t = 3; t < 9; t++) f[t * nC + 5] = 1; // a run in time to grow
      const missing = new Uint8Array(nT * nC).map(() => (r() < 0.05 ? 1 : 0));
      const fast = Uint8Array.from(f);
      sirOperator2D(fast, nT, nC, 0.2, 0.3, missing);
      const ref = Uint8Array.from(f);
      for (let c = 0; c < nC; c++) {
        const col = new Uint8Array(nT), mis = new Uint8Array(nT);
        for (let t = 0; t < nT; t++) { col[t] = ref[t * nC + c]; mis[t] = missing[t * nC + c]; }
        sirOperator1D(col, 0.2, mis);
        for (let t = 0; t < nT; t++) ref[t * nC + c] = col[t];
      }
      for (let t = 0; t < nT; t++) {
        const row = ref.subarray(t * nC, (t + 1) * nC);
        sirOperator1D(row, 0.3, missing.subarray(t * nC, (t + 1) * nC));
      }
      expect(str(fast)).toBe(str(ref));
    }
  });
  it('2-D without missing samples (the dense path, lines with too few flags skipped) equals the brute force per column, then per row', () => {
    const r = rng(31);
    for (let trial = 0; trial < 40; trial++) {
      const nT = 5 + Math.floor(r() * 30), nC = 3 + Math.floor(r() * 80);
      const p = [0.02, 0.1, 0.3, 0.6][trial % 4];
      const f = new Uint8Array(nT * nC).map(() => (r() < p ? 1 : 0));
      const etaT = [0.1, 0.2, 0.3, 0.5][(trial >> 2) % 4], etaF = [0.2, 0.4, 0.15][trial % 3];
      const fast = Uint8Array.from(f);
      sirOperator2D(fast, nT, nC, etaT, etaF);
      const ref = Uint8Array.from(f);
      for (let c = 0; c < nC; c++) {
        const col = new Uint8Array(nT);
        for (let t = 0; t < nT; t++) col[t] = ref[t * nC + c];
        const g = bruteForce(col, etaT);
        for (let t = 0; t < nT; t++) ref[t * nC + c] = g[t];
      }
      for (let t = 0; t < nT; t++) ref.set(bruteForce(ref.subarray(t * nC, (t + 1) * nC), etaF), t * nC);
      expect(str(fast)).toBe(str(ref));
    }
  });
});
