/**
 * `dsa110 convert` on the real UVH5 files in ../shared/data/uvh5 (pyuvdata and hera_cal test data,
 * see that folder's README): rephasing must not change amplitudes, so the sum of |DATA| equals the
 * published sum of |visdata|; flags are carried over.
 */
import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import { openMs } from '../../src/io/ms.js';
import { dsa110, SHARED, tmpDir } from '../helpers/cli.js';

const UVH5 = path.join(SHARED, 'data', 'uvh5');

const CASES: { file: string; sum: number; shape: [number, number, number, number]; flagged?: number; telescope: string; mode: string }[] = [
  { file: 'zen.2458661.23480.HH.uvh5', sum: 7.025458e8, shape: [20, 10, 4, 2], telescope: 'HERA', mode: 'zenith' },
  { file: 'zen.2458661.23480.HH_oldproj_icrs.uvh5', sum: 7.025458e8, shape: [20, 10, 4, 2], telescope: 'HERA', mode: 'catalog' },
  { file: 'zen.2458432.34569.uvh5', sum: 2.521848e10, shape: [8, 10, 64, 4], telescope: 'HERA', mode: 'zenith' },
  { file: '1061315448_20130823175130_mini_vv_07_01.uvh5', sum: 5.31327e7, shape: [1, 8256, 1, 4], flagged: 0.0155, telescope: 'MWA', mode: 'zenith' },
  { file: 'zen.2458116.61019.xx.HH.XRS_downselected.new_shape.uvh5', sum: 1.262227e9, shape: [60, 3, 1024, 1], flagged: 0.115, telescope: 'HERA', mode: 'zenith' },
];

async function sumAbs(p: string): Promise<{ sum: number; flagged: number; ascending: boolean }> {
  const ms = await openMs(p);
  const m = ms.meta;
  let sum = 0, nf = 0, n = 0;
  for (let t = 0; t < m.nTimes; t++) {
    const d = await ms.readTime('DATA', t);
    const f = await ms.readTime('FLAG', t);
    for (let i = 0; i < f.length; i++) { sum += Math.hypot(d[2 * i]!, d[2 * i + 1]!); nf += f[i]!; n++; }
  }
  let ascending = true;
  for (let c = 1; c < m.nChan; c++) if (!(m.freq[c]! > m.freq[c - 1]!)) ascending = false;
  return { sum, flagged: nf / n, ascending };
}

describe('convert real UVH5 files (single-file groups)', () => {
  const out = tmpDir();
  const db = path.join(out, 'db.sqlite3');
  for (const c of CASES) {
    it(`${c.file}: sum |DATA| = ${c.sum.toExponential(6)}`, async () => {
      const r = dsa110(['--db', db, 'convert', '--expected-subbands', '1', '-o', out, '--json', path.join(UVH5, c.file)]);
      expect(r.code, r.stderr).toBe(0);
      const prod = JSON.parse(r.stdout.trim());
      expect(prod.kind).toBe('ms');
      expect([prod.n_times, prod.n_baselines, prod.n_chan, prod.n_pol]).toEqual(c.shape);
      const s = await sumAbs(prod.path);
      expect(s.sum / c.sum - 1).toBeLessThan(1e-6);
      expect(1 - s.sum / c.sum).toBeLessThan(1e-6);
      expect(s.ascending).toBe(true);
      if (c.flagged !== undefined) expect(s.flagged).toBeCloseTo(c.flagged, 3);
      const ms = await openMs(prod.path);
      expect(ms.meta.attrs.phase_mode).toBe(c.mode);
      expect(ms.meta.telescope).toBe(c.telescope);
      expect(ms.history().map((h) => h.command)).toEqual(['convert']);
    });
  }

  it('refuses the transposed and baseline-dependent-averaging edge cases with clear errors and no output', () => {
    const d = tmpDir();
    for (const f of ['zen.2459114.60020.sum.downsample_transpose.uvh5', 'zen.2459122.30030.sum.bda.downsampled.uvh5']) {
      const r = dsa110(['--db', path.join(d, 'db.sqlite3'), 'convert', '--expected-subbands', '1', '-o', d, path.join(UVH5, 'edge_cases', f)]);
      expect(r.code, f).toBe(1);
      expect(r.stderr).toContain(f);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(readdirSync(d).filter((n) => n.includes('.ms.zarr'))).toEqual([]);
    expect(existsSync(path.join(d, 'db.sqlite3'))).toBe(true);
    const failed = dsa110(['--db', path.join(d, 'db.sqlite3'), 'registry', 'list', 'groups', '--state', 'failed']);
    expect(failed.stdout.trim().split('\n')).toHaveLength(2);
  });
});
