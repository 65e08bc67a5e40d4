/**
 * Direct (pread) reads of unfiltered contiguous datasets: the bytes must be exactly those that
 * h5wasm (the HDF5 C library) returns, on our writer's files (superblock v2, compact links), on
 * real h5py-written files (superblock v0, symbol-table groups) and on h5wasm-written files; what
 * the parser does not handle must fall back to h5wasm; truncation must be refused clearly.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import h5wasm from 'h5wasm/node';
import { writeUvh5, type Uvh5WriteHeader } from '../../src/io/uvh5-write.js';
import { openUvh5, readUvh5Data } from '../../src/io/uvh5.js';
import { H5Builder, H5Reader, T, lookup3 } from '../../src/io/hdf5.js';
import { InputError } from '../../src/util/errors.js';
import { Rng } from '../../src/sim/random.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED = process.env.DSA110_SHARED ?? path.resolve(repoRoot, '..', 'shared');
const UVH5_DIR = path.join(SHARED, 'data', 'uvh5');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'uvh5-direct-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Every direct read in these tests, whatever the dataset size. */
const DIRECT = { directMinBytes: 0 };
const H5WASM = { direct: false };

function bytes(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return a.byteLength === b.byteLength && bytes(a).equals(bytes(b));
}

/** A small DSA-110-like header: nAnt antennas with autos, time-major, descending channels. */
function makeHeader(nAnt: number, nTimes: number, nFreqs: number): Uvh5WriteHeader {
  const bl: [number, number][] = [];
  for (let i = 0; i < nAnt; i++) for (let j = i; j < nAnt; j++) bl.push([i, j]);
  const nBlts = bl.length * nTimes;
  const rng = new Rng(7, 'hdr');
  const times = new Float64Array(nBlts);
  const ant1 = new Int32Array(nBlts);
  const ant2 = new Int32Array(nBlts);
  const uvw = new Float64Array(3 * nBlts);
  for (let t = 0; t < nTimes; t++) {
    for (let b = 0; b < bl.length; b++) {
      const k = t * bl.length + b;
      times[k] = 2460800.5 + (t + 0.5) * (12.884901888 / 86400);
      [ant1[k], ant2[k]] = bl[b];
      for (let d = 0; d < 3; d++) uvw[3 * k + d] = rng.range(-1000, 1000);
    }
  }
  const pos = new Float64Array(3 * nAnt);
  for (let i = 0; i < pos.length; i++) pos[i] = rng.range(-1500, 1500);
  return {
    freqs: Float64Array.from({ length: nFreqs }, (_, c) => 1.49875e9 - c * 244140.625),
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
  };
}

/** Write a simulated file with random data (NaN, -0 and subnormals included); returns the truth. */
function writeSimulated(file: string, nAnt = 6, nTimes = 4, nFreqs = 48): { vis: Float32Array; flags: Uint8Array; nsamples: Float32Array; nBls: number } {
  const h = makeHeader(nAnt, nTimes, nFreqs);
  const n = h.times.length * nFreqs * 2;
  const rng = new Rng(3, 'data');
  const vis = new Float32Array(2 * n);
  rng.fillNormal(vis, 100);
  vis[1] = NaN;
  vis[2] = -0;
  vis[3] = 1e-42; // subnormal
  const flags = new Uint8Array(n);
  for (let i = 0; i < n; i++) flags[i] = rng.uniform() < 0.2 ? 1 : 0;
  const nsamples = Float32Array.from({ length: n }, () => rng.range(0, 2));
  writeUvh5(file, h, { vis, flags, nsamples });
  return { vis, flags, nsamples, nBls: (nAnt * (nAnt + 1)) / 2 };
}

describe('direct reads: simulated DSA-110 files (our writer)', () => {
  const file = path.join(tmp, 'sim.hdf5');
  const truth = writeSimulated(file);

  it('Data/visdata, flags and nsamples are read directly, bit-identical to h5wasm and to what was written', async () => {
    const r = await H5Reader.open(file, DIRECT);
    try {
      for (const ds of ['Data/visdata', 'Data/flags', 'Data/nsamples']) {
        expect(r.directReason(ds)).toBe('');
        expect(r.directExtent(ds)?.size).toBe(ds === 'Data/visdata' ? truth.vis.byteLength : ds === 'Data/flags' ? truth.flags.length : truth.nsamples.byteLength);
      }
    } finally {
      r.close();
    }
    const a = await readUvh5Data(file, DIRECT);
    const b = await readUvh5Data(file, H5WASM);
    for (const k of ['vis', 'flags', 'nsamples'] as const) {
      expect(sameBytes(a[k], b[k])).toBe(true);
      expect(sameBytes(a[k], truth[k])).toBe(true);
    }
    expect(Number.isNaN(a.vis[1]) && Object.is(a.vis[2], -0) && a.vis[3] === Math.fround(1e-42)).toBe(true);
  });

  it('streaming slices (one integration, and an odd range) match the h5wasm path', async () => {
    const hd = await openUvh5(file, DIRECT);
    const hh = await openUvh5(file, H5WASM);
    try {
      const nb = truth.nBls;
      for (const [s, e] of [[0, nb], [2 * nb, 3 * nb], [5, 47], [hd.meta.nBlts - 1, hd.meta.nBlts]]) {
        const a = hd.readBlts(s, e);
        const b = hh.readBlts(s, e);
        for (const k of ['vis', 'flags', 'nsamples'] as const) expect(sameBytes(a[k], b[k])).toBe(true);
        const per = 48 * 2;
        expect(sameBytes(a.vis, truth.vis.subarray(2 * s * per, 2 * e * per))).toBe(true);
      }
    } finally {
      hd.close();
      hh.close();
    }
  });

  it('header arrays read directly equal h5wasm (time_array, uvw_array, int64 antenna arrays)', async () => {
    const rd = await H5Reader.open(file, DIRECT);
    const rh = await H5Reader.open(file, H5WASM);
    try {
      for (const ds of ['Header/time_array', 'Header/uvw_array', 'Header/ant_1_array', 'Header/ant_2_array', 'Header/freq_array']) {
        expect(rd.directReason(ds)).toBe('');
        expect(sameBytes(rd.numeric(ds) as Float64Array, rh.numeric(ds) as Float64Array)).toBe(true);
      }
    } finally {
      rd.close();
      rh.close();
    }
  });
});

describe('direct reads: truncated files are refused via the fast path', () => {
  it('file cut short after open, before the first read: InputError naming the file and dataset', async () => {
    const file = path.join(tmp, 'cut-before.hdf5');
    writeSimulated(file);
    const h = await openUvh5(file, DIRECT); // HDF5 validated the full file here
    try {
      const probe = await H5Reader.open(file, DIRECT);
      const ext = probe.directExtent('Data/visdata');
      probe.close();
      expect(ext).not.toBeNull();
      fs.truncateSync(file, (ext?.addr ?? 0) + Math.floor((ext?.size ?? 0) / 2));
      let err: unknown;
      try {
        h.readBlts(0, h.meta.nBlts);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      expect(String((err as Error).message)).toMatch(/truncated file: dataset Data\/visdata needs bytes .* but the file has only \d+ bytes/);
      expect((err as InputError).subject).toBe(file);
    } finally {
      h.close();
    }
  });

  it('file cut short between reads: the short read is refused, never zero-filled', async () => {
    const file = path.join(tmp, 'cut-between.hdf5');
    const truth = writeSimulated(file);
    const h = await openUvh5(file, DIRECT);
    try {
      const first = h.readBlts(0, truth.nBls);
      expect(sameBytes(first.vis, truth.vis.subarray(0, first.vis.length))).toBe(true);
      const probe = await H5Reader.open(file, DIRECT);
      const ext = probe.directExtent('Data/visdata');
      probe.close();
      fs.truncateSync(file, (ext?.addr ?? 0) + Math.floor((ext?.size ?? 0) / 2));
      expect(() => h.readBlts(truth.nBls, h.meta.nBlts)).toThrow(/truncated file: dataset Data\/visdata/);
    } finally {
      h.close();
    }
  });

  it('the h5wasm path refuses a file cut short after open too (HDF5 itself would zero-fill)', async () => {
    const file = path.join(tmp, 'cut-h5wasm.hdf5');
    writeSimulated(file);
    const h = await openUvh5(file, H5WASM);
    try {
      fs.truncateSync(file, fs.statSync(file).size - 5000);
      expect(() => h.readBlts(0, h.meta.nBlts)).toThrow(/truncated file: it shrank from \d+ to \d+ bytes while open \(reading Data\/visdata\)/);
    } finally {
      h.close();
    }
  });
});

describe('direct reads: real files', () => {
  const realFiles = [
    ...fs.readdirSync(UVH5_DIR).filter((f) => f.endsWith('.uvh5')),
    ...fs.readdirSync(path.join(UVH5_DIR, 'edge_cases')).map((f) => path.join('edge_cases', f)),
  ].map((f) => path.join(UVH5_DIR, f));

  it('h5py-written superblock v0 file: contiguous visdata read directly = h5wasm (whole, row slices, fallback hyperslab)', async () => {
    const file = path.join(UVH5_DIR, 'edge_cases', 'zen.2459114.60020.sum.downsample_transpose.uvh5');
    const rd = await H5Reader.open(file, DIRECT);
    const rh = await H5Reader.open(file, H5WASM);
    try {
      const ds = 'Data/visdata';
      expect(rd.meta(ds).shape).toEqual([12, 1, 4, 1536]);
      expect(rd.directReason(ds)).toBe('');
      expect(rh.directReason(ds)).toBe('direct reads disabled');
      const cases: [number[], number[]][] = [
        [[0, 0, 0, 0], [12, 1, 4, 1536]],
        [[3, 0, 0, 0], [6, 1, 4, 1536]],
        [[11, 0, 2, 0], [1, 1, 2, 1536]], // one row, trailing dims whole: still one byte range
        [[2, 0, 1, 100], [5, 1, 2, 700]], // not one byte range: h5wasm path in both readers
      ];
      for (const [off, cnt] of cases) {
        const n = cnt.reduce((x, y) => x * y, 1) * 8;
        const a = new Uint8Array(n);
        const b = new Uint8Array(n);
        rd.readRaw(ds, off, cnt, a);
        rh.readRaw(ds, off, cnt, b);
        expect(sameBytes(a, b)).toBe(true);
      }
      // and the reader still refuses the file itself (axes transposed)
      await expect(readUvh5Data(file, DIRECT)).rejects.toThrow(/transposed/);
    } finally {
      rd.close();
      rh.close();
    }
  });

  it('every contiguous numeric dataset in every real file reads identically both ways', async () => {
    let direct = 0;
    for (const file of realFiles) {
      const rd = await H5Reader.open(file, DIRECT);
      const rh = await H5Reader.open(file, H5WASM);
      try {
        for (const group of ['Header', 'Data']) {
          for (const name of rd.names(group)) {
            const ds = `${group}/${name}`;
            if (rd.kind(ds) !== 'dataset') continue;
            const m = rd.meta(ds);
            if (!m.shape || m.shape.length === 0 || m.shape.some((s) => s === 0)) continue;
            if (rd.directReason(ds) !== '') continue;
            direct++;
            const n = m.shape.reduce((x, y) => x * y, 1) * m.size;
            const a = new Uint8Array(n);
            const b = new Uint8Array(n);
            rd.readRaw(ds, m.shape.map(() => 0), m.shape, a);
            rh.readRaw(ds, m.shape.map(() => 0), m.shape, b);
            expect(sameBytes(a, b), `${file} ${ds}`).toBe(true);
          }
        }
        // pyuvdata writes header arrays contiguous: the parser must find them in h5py's format
        expect(rd.directReason('Header/time_array'), file).toBe('');
        // and every real file stores Data/ chunked (flags, nsamples LZF): h5wasm reads those
        expect(rd.directReason('Data/flags'), file).toBe('chunked');
      } finally {
        rd.close();
        rh.close();
      }
    }
    expect(direct).toBeGreaterThan(50);
  });

  it('sums of |visdata| from README.md are unchanged with direct reads on', async () => {
    // README: zen.2458116.61019.xx.HH.XRS_downselected.new_shape.uvh5, sum |visdata| = 1.262227e9
    const d = await readUvh5Data(path.join(UVH5_DIR, 'zen.2458116.61019.xx.HH.XRS_downselected.new_shape.uvh5'), DIRECT);
    let s = 0;
    for (let i = 0; i < d.vis.length; i += 2) s += Math.hypot(d.vis[i], d.vis[i + 1]);
    expect(Math.abs(s / 1.262227e9 - 1)).toBeLessThan(1e-6);
  });
});

describe('direct reads: other HDF5 layouts', () => {
  it('old-style groups with hundreds of links (v1 B-tree, many symbol nodes) are navigated', async () => {
    await h5wasm.ready;
    const file = path.join(tmp, 'many-links-v0.h5');
    const f = new h5wasm.File(file, 'w', { libver: ['earliest', 'latest'] });
    const g = f.create_group('G');
    for (let i = 0; i < 300; i++) g.create_dataset({ name: `d${i}`, data: Float32Array.from({ length: 200 }, (_, k) => k * (i + 1)), shape: [10, 20] });
    f.create_dataset({ name: 'chunked', data: new Int32Array(200).fill(3), shape: [10, 20], chunks: [5, 20] });
    f.close();
    expect(fs.readFileSync(file).subarray(8, 9)[0]).toBe(0); // superblock version 0
    const r = await H5Reader.open(file, DIRECT);
    try {
      for (const i of [0, 1, 150, 299]) {
        const ds = `G/d${i}`;
        expect(r.directReason(ds)).toBe('');
        const v = r.numeric(ds) as Float64Array;
        expect([v[0], v[1], v[199]]).toEqual([0, i + 1, 199 * (i + 1)]);
      }
      expect(r.directReason('chunked')).toBe('chunked');
      expect(r.numeric('chunked')?.every((x) => x === 3)).toBe(true);
    } finally {
      r.close();
    }
  });

  it('dense link storage falls back to h5wasm and still reads correctly', async () => {
    await h5wasm.ready;
    const file = path.join(tmp, 'dense.h5');
    const f = new h5wasm.File(file, 'w'); // h5wasm default: new-style groups, dense beyond 8 links
    const g = f.create_group('G');
    for (let i = 0; i < 20; i++) g.create_dataset({ name: `d${i}`, data: Float64Array.from({ length: 50 }, (_, k) => k - i), shape: [50] });
    f.close();
    const r = await H5Reader.open(file, DIRECT);
    try {
      expect(r.directReason('G/d7')).toBe('group uses dense link storage');
      const v = r.numeric('G/d7') as Float64Array;
      expect([v[0], v[49]]).toEqual([-7, 42]);
    } finally {
      r.close();
    }
  });

  it('big-endian data are never read raw: h5wasm converts them', async () => {
    const file = path.join(tmp, 'be.h5');
    const vals = [1.5, -2.25, 3e10, 4.5];
    const be = Buffer.alloc(16);
    vals.forEach((v, i) => be.writeFloatBE(v, 4 * i));
    new H5Builder().dataset('be', T.f32, [4], be).create(file).close(false);
    // Our writer only writes little-endian: flip the datatype's byte-order bit (float class,
    // version 1: bytes 11 20 1f 00 04 00 00 00) and re-checksum the object header.
    const buf = fs.readFileSync(file);
    const at = buf.indexOf(Buffer.from([0x11, 0x20, 0x1f, 0x00, 0x04, 0x00, 0x00, 0x00]));
    expect(at).toBeGreaterThan(0);
    buf[at + 1] |= 0x01;
    const oh = buf.lastIndexOf(Buffer.from('OHDR'), at);
    const sizeBytes = 1 << (buf[oh + 5] & 3);
    const chunk = buf.readUIntLE(oh + 6, sizeBytes);
    const end = oh + 6 + sizeBytes + chunk;
    buf.writeUInt32LE(lookup3(buf.subarray(oh, end)), end);
    fs.writeFileSync(file, buf);
    const r = await H5Reader.open(file, DIRECT);
    try {
      expect(r.meta('be').littleEndian).toBe(false);
      expect(r.directReason('be')).toBe('big-endian data');
      expect(Array.from(r.numeric('be') as Float64Array)).toEqual(vals.map(Math.fround));
    } finally {
      r.close();
    }
  });
});
