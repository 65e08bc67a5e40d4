/**
 * Reading real UVH5 files from /work/shared/data/uvh5 (see its README.md for provenance and the
 * published sums of |visdata|, which were computed there with h5py/numpy).
 */
import { describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openUvh5, readUvh5Data, readUvh5Meta } from '../../src/io/uvh5.js';
import { InputError } from '../../src/util/errors.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED = process.env.DSA110_SHARED ?? path.resolve(repoRoot, '..', 'shared');
const U = (f: string): string => path.join(SHARED, 'data', 'uvh5', f);

function sumAbs(vis: Float32Array): number {
  let s = 0;
  for (let i = 0; i < vis.length; i += 2) s += Math.hypot(vis[i], vis[i + 1]);
  return s;
}
/** Index of the first difference (-1 if equal); vitest's toEqual is slow on large typed arrays. */
function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}
function flagFraction(f: Uint8Array): number {
  let n = 0;
  for (const x of f) n += x;
  return n / f.length;
}

describe('readUvh5 on real files', () => {
  it('HERA rank-4 complex128 drift (pyuvdata zen.2458661.23480.HH)', async () => {
    const d = await readUvh5Data(U('zen.2458661.23480.HH.uvh5'));
    const m = d.meta;
    expect([m.rank, m.visDtype, m.nBlts, m.nFreqs, m.nPols, m.nTimes]).toEqual([4, 'c16', 200, 4, 2, 20]);
    expect(m.phaseType).toBe('drift');
    expect(Array.from(m.polarizations)).toEqual([-5, -6]);
    expect(d.vis.length).toBe(2 * 200 * 4 * 2);
    expect(Math.abs(sumAbs(d.vis) / 7.025458e8 - 1)).toBeLessThan(1e-6);
    expect(m.telescopeName).toBe('HERA');
    // HERA at lat -30.72°: ECEF z negative, |r| ~ 6.37e6 m
    expect(m.telescopeLocation[2]).toBeLessThan(-3.2e6);
    expect(Math.hypot(...m.telescopeLocation)).toBeGreaterThan(6.37e6);
  });

  it('same data rank-3 with a sidereal ICRS phase_center_catalog group', async () => {
    const d = await readUvh5Data(U('zen.2458661.23480.HH_oldproj_icrs.uvh5'));
    expect(d.meta.rank).toBe(3);
    expect(d.meta.phaseType).toBe('sidereal');
    expect(d.meta.phaseCenter?.frame).toBe('icrs');
    expect(d.meta.phaseCenter?.ra).toBeCloseTo(3.502185879515176, 12);
    expect(d.meta.phaseCenter?.dec).toBeCloseTo(-0.17855186342047605, 12);
    expect(Math.abs(sumAbs(d.vis) / 7.025458e8 - 1)).toBeLessThan(1e-6);
  });

  it('HERA raw int32 compound, unprojected catalog entry, nsamples all 0', async () => {
    const d = await readUvh5Data(U('zen.2458432.34569.uvh5'));
    expect([d.meta.visDtype, d.meta.rank, d.meta.nBlts, d.meta.nFreqs, d.meta.nPols, d.meta.nTimes]).toEqual(['i4', 3, 80, 64, 4, 8]);
    expect(d.meta.phaseType).toBe('unprojected');
    expect(Math.abs(sumAbs(d.vis) / 2.521848e10 - 1)).toBeLessThan(1e-6);
    expect(d.nsamples.every((x) => x === 0)).toBe(true);
    expect(d.meta.nAnts).toBe(6);
  });

  it('MWA: 128 antennas, 8256 baselines with autos, 1.55 % flagged (LZF flags)', async () => {
    const d = await readUvh5Data(U('1061315448_20130823175130_mini_vv_07_01.uvh5'));
    const m = d.meta;
    expect([m.nAnts, m.nBls, m.nBlts, m.nFreqs, m.nPols, m.rank, m.visDtype]).toEqual([128, 8256, 8256, 1, 4, 4, 'c16']);
    expect(m.freqs[0]).toBe(1.88815e8);
    expect(m.channelWidth[0]).toBe(40000);
    expect(Math.abs(sumAbs(d.vis) / 5.31327e7 - 1)).toBeLessThan(1e-6);
    expect(flagFraction(d.flags)).toBeCloseTo(0.0155, 4);
    expect(m.extraKeywords['GRIDNAME']).toBe('EOR1');
    expect(m.extraKeywords['GPSTIME']).toBe(1061315448);
  });

  it('HERA XRS rank-3 complex64, 60 × 1024, 11.5 % real RFI flags, per-channel widths', async () => {
    const d = await readUvh5Data(U('zen.2458116.61019.xx.HH.XRS_downselected.new_shape.uvh5'));
    const m = d.meta;
    expect([m.nBlts, m.nFreqs, m.nPols, m.nTimes, m.rank, m.visDtype]).toEqual([180, 1024, 1, 60, 3, 'c8']);
    expect(m.uniqueTimes.length).toBe(60);
    expect(m.channelWidth.length).toBe(1024);
    expect(Math.abs(sumAbs(d.vis) / 1.262227e9 - 1)).toBeLessThan(1e-6);
    expect(flagFraction(d.flags)).toBeGreaterThan(0.1145);
    expect(flagFraction(d.flags)).toBeLessThan(0.1155);
  });

  it('ATA subbands: structure, pol order XX XY YX YY, sidereal 3C286 catalog, adjacent frequencies', async () => {
    const a = await readUvh5Meta(U('ata.LoA.C0352.uvh5_60647_62965_9760406_3c286_0001.uvh5'));
    const b = await readUvh5Meta(U('ata.LoA.C0544.uvh5_60647_62965_9760406_3c286_0001.uvh5'));
    expect([a.nBlts, a.nFreqs, a.nPols, a.nAnts, a.rank, a.visDtype]).toEqual([406, 16, 4, 42, 3, 'c8']);
    expect(Array.from(a.polarizations)).toEqual([-5, -7, -8, -6]);
    expect(a.phaseType).toBe('sidereal');
    expect(a.phaseCenter?.name).toBe('3c286');
    expect(a.phaseCenter?.dec).toBeCloseTo(0.5324852119872784, 12);
    expect(a.freqs.length).toBe(16);
    expect(b.freqs[0]).not.toBe(a.freqs[0]);
  });

  it('streaming readBlts slices concatenate to the whole', async () => {
    const whole = await readUvh5Data(U('zen.2458116.61019.xx.HH.XRS_downselected.new_shape.uvh5'));
    const h = await openUvh5(U('zen.2458116.61019.xx.HH.XRS_downselected.new_shape.uvh5'));
    try {
      const a = h.readBlts(0, 77);
      const b = h.readBlts(77, 180);
      const per = 1024;
      expect(firstDiff(a.vis, whole.vis.subarray(0, 2 * 77 * per))).toBe(-1);
      expect(firstDiff(b.vis, whole.vis.subarray(2 * 77 * per))).toBe(-1);
      expect(firstDiff(b.flags, whole.flags.subarray(77 * per))).toBe(-1);
      expect(firstDiff(a.nsamples, whole.nsamples.subarray(0, 77 * per))).toBe(-1);
      expect(() => h.readBlts(100, 181)).toThrow(InputError);
    } finally {
      h.close();
    }
  });

  it('refuses the transposed-axes file (never misreads it)', async () => {
    const f = U('edge_cases/zen.2459114.60020.sum.downsample_transpose.uvh5');
    await expect(readUvh5Data(f)).rejects.toThrow(InputError);
    await expect(readUvh5Meta(f)).rejects.toThrow(/transposed/);
  });

  it('refuses the baseline-dependent-averaging file clearly', async () => {
    const f = U('edge_cases/zen.2459122.30030.sum.bda.downsampled.uvh5');
    await expect(readUvh5Meta(f)).rejects.toThrow(/Nblts=559 != Nbls\*Ntimes=120\*15/);
  });
});
