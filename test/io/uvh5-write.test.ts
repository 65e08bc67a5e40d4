/**
 * UVH5 writer: round trip through the reader bit for bit, the on-disk datatypes as HDF5 itself
 * (h5wasm = the HDF5 C library) reports them, atomic writes, and refusal of corrupt inputs.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeUvh5, Uvh5Writer, type Uvh5WriteHeader } from '../../src/io/uvh5-write.js';
import { readUvh5Data, readUvh5Meta } from '../../src/io/uvh5.js';
import { H5Reader, lookup3 } from '../../src/io/hdf5.js';
import { InputError } from '../../src/util/errors.js';
import { Rng } from '../../src/sim/random.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURES = path.resolve(here, '..', 'fixtures', 'uvh5');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'uvh5-write-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

function makeHeader(nAnt: number, nTimes: number, nFreqs: number): Uvh5WriteHeader {
  const bl: [number, number][] = [];
  for (let i = 0; i < nAnt; i++) for (let j = i; j < nAnt; j++) bl.push([i, j]);
  const nBlts = bl.length * nTimes;
  const rng = new Rng(5, 'hdr');
  const times = new Float64Array(nBlts);
  const ant1 = new Int32Array(nBlts);
  const ant2 = new Int32Array(nBlts);
  const uvw = new Float64Array(3 * nBlts);
  for (let t = 0; t < nTimes; t++) {
    for (let b = 0; b < bl.length; b++) {
      const k = t * bl.length + b;
      times[k] = 2460800.5 + (t + 0.5) * (12.884901888 / 86400);
      ant1[k] = bl[b][0];
      ant2[k] = bl[b][1];
      for (let d = 0; d < 3; d++) uvw[3 * k + d] = rng.range(-1000, 1000);
    }
  }
  const freqs = Float64Array.from({ length: nFreqs }, (_, c) => 1.49875e9 - c * 244140.625);
  const pos = new Float64Array(3 * nAnt);
  for (let i = 0; i < pos.length; i++) pos[i] = rng.range(-1500, 1500);
  return {
    freqs,
    channelWidth: 244140.625,
    polarizations: Int32Array.from([-5, -6]),
    times,
    integrationTime: 12.884901888,
    ant1,
    ant2,
    uvw,
    antennaNames: Array.from({ length: nAnt }, (_, i) => String(i + 1)),
    antennaNumbers: Int32Array.from({ length: nAnt }, (_, i) => i),
    antennaPositions: pos,
    latitudeDeg: 37.2314,
    longitudeDeg: -118.2817,
    altitudeM: 1222,
    phaseCenterDecRad: 0.6,
    history: 'round-trip test',
    extraKeywords: { note: 'hello', count: 7n },
  };
}

describe('lookup3 (HDF5 metadata checksum)', () => {
  it('matches the published hashlittle test vectors', () => {
    // lookup3.c driver: hashlittle("", 0, 0) = 0xdeadbeef; hashlittle("Four score and seven years ago", 30, 0) = 0x17770551
    expect(lookup3(new Uint8Array(0))).toBe(0xdeadbeef);
    expect(lookup3(Buffer.from('Four score and seven years ago'))).toBe(0x17770551);
    expect(lookup3(Buffer.from('Four score and seven years ago'), 1)).toBe(0xcd628161);
  });
});

describe('UVH5 writer', () => {
  it('round trip: data, flags, nsamples and metadata come back bit for bit', async () => {
    const h = makeHeader(5, 3, 8);
    const nBlts = h.times.length;
    const per = 8 * 2;
    const rng = new Rng(11, 'data');
    const vis = new Float32Array(2 * nBlts * per);
    rng.fillNormal(vis, 3);
    vis[5] = -0; // signed zero must survive
    const flags = new Uint8Array(nBlts * per);
    for (let i = 0; i < flags.length; i++) flags[i] = rng.uniform() < 0.1 ? 1 : 0;
    const nsamples = Float32Array.from({ length: nBlts * per }, () => rng.range(0, 2));
    const file = path.join(tmp, 'rt.hdf5');
    writeUvh5(file, h, { vis, flags, nsamples });
    const d = await readUvh5Data(file);
    expect(firstDiff(d.vis, vis)).toBe(-1);
    expect(firstDiff(d.flags, flags)).toBe(-1);
    expect(firstDiff(d.nsamples, nsamples)).toBe(-1);
    const m = d.meta;
    expect([m.nBlts, m.nBls, m.nTimes, m.nFreqs, m.nPols, m.nAnts, m.nAntsData, m.rank, m.visDtype]).toEqual([45, 15, 3, 8, 2, 5, 5, 4, 'c8']);
    expect(firstDiff(m.freqs, h.freqs)).toBe(-1);
    expect(firstDiff(m.times, h.times)).toBe(-1);
    expect(firstDiff(m.uvw, h.uvw)).toBe(-1);
    expect(firstDiff(m.ant1, h.ant1)).toBe(-1);
    expect(firstDiff(m.ant2, h.ant2)).toBe(-1);
    expect(firstDiff(m.antennaPositions, h.antennaPositions)).toBe(-1);
    expect(m.channelWidth.every((w) => w === 244140.625)).toBe(true);
    expect(m.integrationTime.every((w) => w === 12.884901888)).toBe(true);
    expect(Array.from(m.polarizations)).toEqual([-5, -6]);
    expect(m.antennaNames).toEqual(['1', '2', '3', '4', '5']);
    expect([m.telescopeName, m.instrument, m.phaseType, m.history]).toEqual(['OVRO_MMA', 'DSA', 'drift', 'round-trip test']);
    expect(m.phaseCenterDecApp).toBe(0.6);
    expect(m.haPhaseCenter).toBe(0);
    expect(m.extraKeywords).toMatchObject({ phase_center_dec: 0.6, ha_phase_center: 0, phase_center_epoch: 2000, note: 'hello', count: 7 });
    expect(m.telescopeLatLonAlt?.[0]).toBeCloseTo((37.2314 * Math.PI) / 180, 15);
    expect(m.antennaDiameters?.every((x) => x === 4.65)).toBe(true);
  });

  it('stores the datatypes h5py/numpy use: compound {r,i} f4, bool enum, f4 nsamples, rank 4, S strings', async () => {
    const h = makeHeader(3, 2, 4);
    const n = h.times.length * 4 * 2;
    const file = path.join(tmp, 'types.hdf5');
    writeUvh5(file, h, { vis: new Float32Array(2 * n), flags: new Uint8Array(n), nsamples: new Float32Array(n) });
    const r = await H5Reader.open(file);
    try {
      const v = r.meta('Data/visdata');
      expect(v.shape).toEqual([12, 1, 4, 2]);
      expect(v.type).toBe(6);
      expect(v.size).toBe(8);
      expect(v.compound_type?.members.map((m) => [m.name, m.offset, m.type, m.size])).toEqual([
        ['r', 0, 1, 4],
        ['i', 4, 1, 4],
      ]);
      const f = r.meta('Data/flags');
      expect(f.type).toBe(8);
      expect(f.size).toBe(1);
      expect(f.enum_type?.members).toEqual({ FALSE: 0, TRUE: 1 });
      expect(f.signed).toBe(true);
      const ns = r.meta('Data/nsamples');
      expect([ns.type, ns.size]).toEqual([1, 4]);
      expect(r.meta('Header/freq_array').shape).toEqual([1, 4]);
      expect(r.meta('Header/Nblts').shape).toEqual([]);
      expect(r.meta('Header/telescope_name').type).toBe(3);
      expect(r.meta('Header/ant_1_array').size).toBe(8);
    } finally {
      r.close();
    }
    const head = fs.readFileSync(file).subarray(0, 9);
    expect(Array.from(head)).toEqual([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 2]);
  });

  it('writes atomically: nothing at the final path until commit; abort leaves no file', () => {
    const h = makeHeader(2, 1, 2);
    const file = path.join(tmp, 'atomic.hdf5');
    const w = Uvh5Writer.create(file, h);
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.readdirSync(tmp).some((f) => f.startsWith('.atomic.hdf5.tmp-'))).toBe(true);
    w.abort();
    expect(fs.readdirSync(tmp).some((f) => f.includes('atomic'))).toBe(false);
    const w2 = Uvh5Writer.create(file, h);
    w2.commit();
    expect(fs.existsSync(file)).toBe(true);
    expect(fs.readdirSync(tmp).some((f) => f.startsWith('.atomic'))).toBe(false);
  });
});

describe('corrupt inputs are refused with an InputError naming the file', () => {
  async function expectRefused(file: string, re: RegExp): Promise<void> {
    let err: unknown;
    try {
      await readUvh5Meta(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).subject).toBe(file);
    expect((err as InputError).message).toMatch(re);
  }

  it('truncated file', async () => {
    const h = makeHeader(4, 2, 8);
    const n = h.times.length * 16;
    const good = path.join(tmp, 'good.hdf5');
    writeUvh5(good, h, { vis: new Float32Array(2 * n), flags: new Uint8Array(n), nsamples: new Float32Array(n) });
    const bytes = fs.readFileSync(good);
    const bad = path.join(tmp, 'truncated.hdf5');
    fs.writeFileSync(bad, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expectRefused(bad, /truncated/);
  });

  it('zero-length file', async () => {
    const f = path.join(tmp, 'empty.hdf5');
    fs.writeFileSync(f, '');
    await expectRefused(f, /empty/);
  });

  it('text file named .hdf5', async () => {
    const f = path.join(tmp, 'text.hdf5');
    fs.writeFileSync(f, 'this is not HDF5\n'.repeat(100));
    await expectRefused(f, /not an HDF5 file/);
  });

  it('missing file', async () => {
    await expectRefused(path.join(tmp, 'nope.hdf5'), /no such file/);
  });

  it('HDF5 but not UVH5', async () => {
    const f = path.join(tmp, 'plain.h5');
    const { H5Builder, T } = await import('../../src/io/hdf5.js');
    const b = new H5Builder();
    b.dataset('x', T.f64, [2], new Float64Array([1, 2]));
    b.create(f).close();
    await expectRefused(f, /not a UVH5 file/);
  });

  it('a dataset with an unknown HDF5 filter (fixture made with h5py, see fixtures README)', async () => {
    const f = path.join(FIXTURES, 'unknown_filter.uvh5');
    await expectRefused(f, /Data\/flags uses HDF5 filter 32099/);
    await expect(readUvh5Data(f)).rejects.toThrow(InputError);
  });
});
