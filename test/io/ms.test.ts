import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createMs, openMs, replaceColumn, appendHistory, MsTable } from '../../src/io/ms.js';
import { InputError, DsaError } from '../../src/util/errors.js';
import { TEMP_PATTERN } from '../../src/util/atomic.js';
import { makeMeta, cols, writeFixture } from './ms-fixture.js';

let tmp: string;
let P: string;
beforeEach(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'ms-test-'));
  P = path.join(tmp, 'G.ms.zarr');
});
afterEach(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

const json = async (...p: string[]) => JSON.parse(await fsp.readFile(path.join(...p), 'utf8'));

describe('MS round trip', () => {
  it('writes a table that reads back exactly, with the documented layout on disk', async () => {
    const m = await writeFixture(P);
    const ms = await openMs(P);
    const r = ms.meta;
    expect([r.nTimes, r.nBaselines, r.nChan, r.nPol]).toEqual([3, 15, 6, 2]);
    expect(r.time).toEqual(m.time);
    expect(r.interval).toEqual(m.interval);
    expect(r.exposure).toEqual(m.interval);
    expect(r.ant1).toEqual(m.ant1);
    expect(r.ant2).toEqual(m.ant2);
    expect(r.freq).toEqual(m.freq);
    expect(r.chanWidth).toEqual(m.chanWidth);
    expect(r.corrType).toEqual(m.corrType);
    expect(r.antennaNames).toEqual(m.antennaNames);
    expect(r.stationNames).toEqual(m.antennaNames);
    expect(r.antennaPositions).toEqual(m.antennaPositions);
    expect(r.dishDiameter).toEqual(m.dishDiameter);
    expect(r.phaseDir).toEqual(m.phaseDir);
    expect(r.meridianRa).toEqual(m.meridianRa);
    expect(r.meridianDec).toEqual(m.meridianDec);
    expect(r.telescope).toBe('DSA_110');
    expect(r.groupId).toBe('2025-10-02T00:12:00');
    expect(r.attrs).toMatchObject({ dsa110_ms_format: 1, telescope: 'DSA_110', group_id: m.groupId, created_by: 'test', note: 'fixture' });
    for (let t = 0; t < 3; t++) {
      const c = cols(m, t);
      expect(await ms.readTime('DATA', t)).toEqual(c.DATA);
      expect(await ms.readTime('FLAG', t)).toEqual(c.FLAG);
      expect(await ms.readTime('WEIGHT_SPECTRUM', t)).toEqual(c.WEIGHT_SPECTRUM);
      expect(await ms.readTime('UVW', t)).toEqual(c.UVW);
    }
    const all = await ms.readTimes('DATA', 1, 3);
    const n = 2 * 15 * 6 * 2;
    expect(all.subarray(0, n)).toEqual(cols(m, 1).DATA);
    expect(all.subarray(n)).toEqual(cols(m, 2).DATA);
    const buf = new Float32Array(n);
    expect(await ms.readTime('DATA', 2, buf)).toBe(buf); // caller buffer reused, no allocation
    expect(buf).toEqual(cols(m, 2).DATA);
    expect(ms.has('DATA')).toBe(true);
    expect(ms.has('MODEL_DATA')).toBe(false);
    expect(ms.history()).toEqual([{ command: 'convert', version: '0.1.0', args: ['a_sb00.hdf5'], time: '2025-10-02T00:20:00.000Z' }]);

    // On disk: MS names, dims for xarray, one time per chunk, chunk bytes = the C-order block.
    const za = await json(P, 'DATA', '.zarray');
    expect(za).toMatchObject({ shape: [3, 15, 6, 2], chunks: [1, 15, 6, 2], dtype: '<c8', compressor: null, dimension_separator: '.', zarr_format: 2 });
    expect((await json(P, 'DATA', '.zattrs'))._ARRAY_DIMENSIONS).toEqual(['time', 'baseline', 'frequency', 'polarization']);
    expect((await json(P, 'UVW', '.zattrs'))._ARRAY_DIMENSIONS).toEqual(['time', 'baseline', 'uvw']);
    const chunk = await fsp.readFile(path.join(P, 'DATA', '1.0.0.0'));
    expect(new Float32Array(chunk.buffer, chunk.byteOffset, chunk.byteLength / 4)).toEqual(cols(m, 1).DATA);
    expect((await fsp.readFile(path.join(P, 'FLAG', '2.0.0.0'))).equals(Buffer.from(cols(m, 2).FLAG))).toBe(true);
    expect((await json(P, '.zattrs')).dsa110_ms_format).toBe(1);
    const zm = await json(P, '.zmetadata');
    for (const k of ['DATA/.zarray', 'FLAG/.zarray', 'UVW/.zarray', 'time/.zarray', 'frequency/.zarray', 'ANTENNA/NAME/.zarray', 'OBSERVATION/TELESCOPE_NAME/.zarray', 'HISTORY/.zattrs', 'FIELD/PHASE_DIR/.zarray']) {
      expect(zm.metadata[k], k).toBeDefined();
    }
    expect((await fsp.readdir(tmp)).filter((n) => TEMP_PATTERN.test(n))).toEqual([]);
  });

  it('a new table replaces an old one at the same path; abort and incomplete commit leave no trace', async () => {
    await writeFixture(P);
    const m2 = makeMeta(2, 3, 4, 2);
    await writeFixture(P, m2);
    expect((await openMs(P)).meta.nTimes).toBe(2);

    const w = await createMs(path.join(tmp, 'X.ms.zarr'), makeMeta(), { fsync: false });
    await w.writeTime(0, cols(makeMeta(), 0));
    await expect(w.commit()).rejects.toThrow(/time index 1 was never written/);
    const w2 = await createMs(path.join(tmp, 'Y.ms.zarr'), makeMeta(), { fsync: false });
    await w2.abort();
    expect((await fsp.readdir(tmp)).sort()).toEqual(['G.ms.zarr']);
  });

  it('writeTime refuses wrong types, lengths and time indices', async () => {
    const m = makeMeta();
    const w = await createMs(P, m, { fsync: false });
    const c = cols(m, 0);
    await expect(w.writeTime(0, { ...c, DATA: c.DATA.subarray(1) })).rejects.toThrow(/DATA has 359 elements, expected 360/);
    await expect(w.writeTime(0, { ...c, FLAG: new Float32Array(c.FLAG.length) as unknown as Uint8Array })).rejects.toThrow(/FLAG must be a Uint8Array/);
    await expect(w.writeTime(3, c)).rejects.toThrow(/out of range/);
    await expect(w.writeTime(0, { ...c, MODEL_DATA: c.DATA })).rejects.toThrow(/MODEL_DATA was not declared/);
    await w.abort();
  });

  it('createMs refuses bad metadata (descending frequencies)', async () => {
    const m = makeMeta();
    m.freq = m.freq.slice().reverse();
    await expect(createMs(P, m)).rejects.toThrow(/ascending/);
  });
});

describe('openMs errors name the path', () => {
  const expectInputError = async (p: string, re: RegExp) => {
    const e = await openMs(p).then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).subject).toBe(p);
    expect((e as InputError).oneLine()).toMatch(re);
  };

  it('not a directory, missing, no .zgroup, not dsa110, wrong version', async () => {
    await expectInputError(path.join(tmp, 'nope.ms.zarr'), /does not exist/);
    const f = path.join(tmp, 'file.ms.zarr');
    await fsp.writeFile(f, 'x');
    await expectInputError(f, /not a directory/);
    const d = path.join(tmp, 'empty.ms.zarr');
    await fsp.mkdir(d);
    await expectInputError(d, /no \.zgroup/);
    await fsp.writeFile(path.join(d, '.zgroup'), '{"zarr_format": 2}');
    await expectInputError(d, /not a dsa110 MS table/);
    await writeFixture(P);
    const attrs = await json(P, '.zattrs');
    await fsp.writeFile(path.join(P, '.zattrs'), JSON.stringify({ ...attrs, dsa110_ms_format: 2 }));
    await expectInputError(P, /unsupported MS format version 2/);
  });

  it('shape, dtype and missing-array problems', async () => {
    await writeFixture(P);
    const za = await json(P, 'DATA', '.zarray');
    await fsp.writeFile(path.join(P, 'DATA', '.zarray'), JSON.stringify({ ...za, shape: [3, 15, 7, 2], chunks: [1, 15, 7, 2] }));
    await expectInputError(P, /DATA has shape \[3,15,7,2\], expected \[3,15,6,2\] \(time, baseline, frequency, polarization\)/);
    await fsp.writeFile(path.join(P, 'DATA', '.zarray'), JSON.stringify({ ...za, dtype: '<f4' }));
    await expectInputError(P, /DATA has dtype <f4, expected <c8/);
    await fsp.writeFile(path.join(P, 'DATA', '.zarray'), JSON.stringify(za));
    await fsp.rm(path.join(P, 'FLAG'), { recursive: true });
    await expectInputError(P, /missing array FLAG/);
    await fsp.rm(path.join(P, 'ANTENNA', 'POSITION'), { recursive: true });
    await expectInputError(P, /missing array ANTENNA\/POSITION/);
  });

  it('a truncated chunk is an InputError at read time', async () => {
    await writeFixture(P);
    await fsp.truncate(path.join(P, 'DATA', '1.0.0.0'), 100);
    const ms = await openMs(P);
    await expect(ms.readTime('DATA', 1)).rejects.toThrow(/truncated/);
    expect(await ms.readTime('DATA', 0)).toEqual(cols(ms.meta, 0).DATA);
  });
});

describe('replaceColumn and history', () => {
  it('replaces FLAG, creates MODEL_DATA, updates .zmetadata and HISTORY', async () => {
    const m = await writeFixture(P);
    let ms: MsTable = await openMs(P);
    const n = m.nBaselines * m.nChan * m.nPol;
    await replaceColumn(ms, 'FLAG', (t) => Uint8Array.from({ length: n }, (_, i) => (i === t ? 1 : 0)), {
      history: { command: 'flag', version: '0.1.0', args: ['--aoflagger'] },
      fsync: true,
    });
    await replaceColumn(ms, 'MODEL_DATA', async (t) => new Float32Array(2 * n).fill(t + 0.5));
    expect(ms.has('MODEL_DATA')).toBe(true);
    ms = await openMs(P);
    for (let t = 0; t < 3; t++) {
      const f = await ms.readTime('FLAG', t);
      expect(f.reduce((a, b) => a + b, 0)).toBe(1);
      expect(f[t]).toBe(1);
      expect((await ms.readTime('MODEL_DATA', t)).every((v) => v === t + 0.5)).toBe(true);
      expect(await ms.readTime('DATA', t)).toEqual(cols(m, t).DATA); // untouched
    }
    expect(ms.history().map((h) => h.command)).toEqual(['convert', 'flag']);
    expect(ms.history()[1].args).toEqual(['--aoflagger']);
    expect((await json(P, '.zmetadata')).metadata['MODEL_DATA/.zarray'].shape).toEqual([3, 15, 6, 2]);
    expect((await fsp.readdir(P)).filter((x) => x.startsWith('.') && !['.zgroup', '.zattrs', '.zmetadata'].includes(x))).toEqual([]);
    await expect(replaceColumn(ms, 'FLAG', () => new Uint8Array(3))).rejects.toThrow(/FLAG has 3 elements, expected 180/);
    await expect(replaceColumn(ms, 'DATA' as 'FLAG', () => new Uint8Array(n))).rejects.toThrow(/cannot be replaced/);
  });

  it('appendHistory: concurrent appends are all kept, in .zattrs and .zmetadata', async () => {
    await writeFixture(P);
    await Promise.all(Array.from({ length: 8 }, (_, i) => appendHistory(P, { command: `c${i}`, version: '1', args: [String(i)] })));
    const ms = await openMs(P);
    const cmds = ms.history().map((h) => h.command);
    expect(cmds.length).toBe(9);
    expect(new Set(cmds)).toEqual(new Set(['convert', 'c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7']));
    expect((await json(P, '.zmetadata')).metadata['HISTORY/.zattrs'].entries.length).toBe(9);
    expect(ms.history()[1].time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    await expect(appendHistory(tmp, { command: 'x', version: '1', args: [] })).rejects.toBeInstanceOf(InputError);
    await expect(appendHistory(P, { command: 'x' } as never)).rejects.toBeInstanceOf(DsaError);
  });
});
