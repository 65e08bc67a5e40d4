import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { REPO } from '../helpers/cli.js';
import type { Cube } from '../../src/flagging/types.js';
import { applyStrategy, applyStrategyAsync, defaultStrategy } from '../../src/flagging/strategy.js';
import { flagZeros, flagZerosRange } from '../../src/flagging/modes.js';
import { flagRfiParallelCount } from '../../src/flagging/parallel.js';

/** A small cube of noise with RFI, exact zeros (dropped packets) and NaNs, in shared memory. */
function cube(): Cube {
  const nAnt = 10, nTime = 12, nChan = 64, nPol = 2;
  const nBl = (nAnt * (nAnt + 1)) / 2, n = nTime * nBl * nChan * nPol;
  const data = new Float32Array(new SharedArrayBuffer(8 * n)), flags = new Uint8Array(new SharedArrayBuffer(n));
  const ant1 = new Int32Array(nBl), ant2 = new Int32Array(nBl);
  for (let i = 0, b = 0; i < nAnt; i++) for (let j = i; j < nAnt; j++, b++) { ant1[b] = i; ant2[b] = j; }
  let s = 99;
  const u = (): number => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
  for (let i = 0; i < 2 * n; i++) data[i] = u() + u() + u() - 1.5;
  const at = (t: number, b: number, c: number, p: number): number => ((t * nBl + b) * nChan + c) * nPol + p;
  for (let t = 0; t < nTime; t++) for (let b = 0; b < nBl; b++) { data[2 * at(t, b, 20, 0)] += 30; data[2 * at(t, b, 20, 1)] += 30; }
  for (let b = 3; b < nBl; b += 7) for (let c = 0; c < 16; c++) { const i = at(4, b, c, 0); data[2 * i] = 0; data[2 * i + 1] = 0; }
  for (let b = 1; b < nBl; b += 11) data[2 * at(7, b, 33, 1) + 1] = NaN;
  flags[at(0, 2, 5, 0)] = 1;
  return { nTime, nBl, nChan, nPol, data, flags, ant1, ant2 };
}

describe('zeros fused into the parallel rfi pass', () => {
  it('flagZerosRange over all baselines equals flagZeros', () => {
    const a = cube(), b = cube();
    const n1 = flagZeros(a);
    let n2 = 0;
    for (let b0 = 0; b0 < b.nBl; b0 += 7) n2 += flagZerosRange(b, b0, Math.min(b.nBl, b0 + 7));
    expect(n2).toBe(n1);
    expect(n1).toBeGreaterThan(0);
    expect(Buffer.from(b.flags).equals(Buffer.from(a.flags))).toBe(true);
  });

  it('the fused strategy (worker threads from the build) gives the serial strategy\'s flags and step counts', async () => {
    const dist = path.join(REPO, 'dist', 'src', 'flagging');
    // the worker path needs the compiled worker script (npm test builds first)
    expect(existsSync(path.join(dist, 'rfiWorker.js'))).toBe(true);
    const par = await import(pathToFileURL(path.join(dist, 'parallel.js')).href) as { flagRfiParallelCount: typeof flagRfiParallelCount };
    const strat = await import(pathToFileURL(path.join(dist, 'strategy.js')).href) as { applyStrategyAsync: typeof applyStrategyAsync };
    const ref = cube(), fused = cube();
    const r1 = applyStrategy(ref, defaultStrategy());
    const r2 = await strat.applyStrategyAsync(fused, defaultStrategy(), (c, o, z) => par.flagRfiParallelCount(c, o, { workers: 2, chunkBaselines: 8 }, z), true);
    expect(Buffer.from(fused.flags).equals(Buffer.from(ref.flags))).toBe(true);
    expect(r2.steps.map((s) => [s.mode, s.newlyFlagged])).toEqual(r1.steps.map((s) => [s.mode, s.newlyFlagged]));
    expect(r2.steps[0].newlyFlagged).toBeGreaterThan(0);
  });
});
