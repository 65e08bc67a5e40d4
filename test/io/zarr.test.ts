import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  writeArray,
  readArray,
  readArrayMeta,
  writeGroup,
  consolidateMetadata,
  pyJsonDumps,
  encodeStrings,
  decodeStrings,
  zarrPythonDefaultFill,
  ZarrDtype,
  ZarrData,
} from '../../src/io/zarr.js';
import { InputError } from '../../src/util/errors.js';

/*
 * Reference store written by zarr-python 2.13.6 / numpy 1.24.2 (Debian 12) by hand:
 *   st = zarr.DirectoryStore('ref.zarr', dimension_separator='.'); g = zarr.group(store=st)
 *   g.create_dataset(k, data=a, chunks=ch, compressor=None)   for the arrays in PY below
 *   g.create_dataset('zl', data=np.arange(10, dtype='<i4'), chunks=(10,), compressor=numcodecs.Zlib(level=1))
 *   g.create_dataset('nanf', shape=(2,), dtype='<f4', fill_value=np.nan, compressor=None)
 * The .zarray texts and chunk bytes (hex) below were printed from that store.
 */
const ZARRAY: Record<string, string> = {
  U8: '{\n    "chunks": [\n        3\n    ],\n    "compressor": null,\n    "dimension_separator": ".",\n    "dtype": "<U8",\n    "fill_value": "",\n    "filters": null,\n    "order": "C",\n    "shape": [\n        3\n    ],\n    "zarr_format": 2\n}',
  b1: '{\n    "chunks": [\n        2\n    ],\n    "compressor": null,\n    "dimension_separator": ".",\n    "dtype": "|b1",\n    "fill_value": false,\n    "filters": null,\n    "order": "C",\n    "shape": [\n        5\n    ],\n    "zarr_format": 2\n}',
  c8: '{\n    "chunks": [\n        1,\n        3\n    ],\n    "compressor": null,\n    "dimension_separator": ".",\n    "dtype": "<c8",\n    "fill_value": [\n        0.0,\n        0.0\n    ],\n    "filters": null,\n    "order": "C",\n    "shape": [\n        2,\n        3\n    ],\n    "zarr_format": 2\n}',
  f4: '{\n    "chunks": [\n        1,\n        2\n    ],\n    "compressor": null,\n    "dimension_separator": ".",\n    "dtype": "<f4",\n    "fill_value": 0.0,\n    "filters": null,\n    "order": "C",\n    "shape": [\n        2,\n        3\n    ],\n    "zarr_format": 2\n}',
  f8: '{\n    "chunks": [\n        2\n    ],\n    "compressor": null,\n    "dimension_separator": ".",\n    "dtype": "<f8",\n    "fill_value": 0.0,\n    "filters": null,\n    "order": "C",\n    "shape": [\n        3\n    ],\n    "zarr_format": 2\n}',
  i4: '{\n    "chunks": [\n        2,\n        2\n    ],\n    "compressor": null,\n    "dimension_separator": ".",\n    "dtype": "<i4",\n    "fill_value": 0,\n    "filters": null,\n    "order": "C",\n    "shape": [\n        3,\n        2\n    ],\n    "zarr_format": 2\n}',
  i8: '{\n    "chunks": [\n        3\n    ],\n    "compressor": null,\n    "dimension_separator": ".",\n    "dtype": "<i8",\n    "fill_value": 0,\n    "filters": null,\n    "order": "C",\n    "shape": [\n        3\n    ],\n    "zarr_format": 2\n}',
  nanf: '{\n    "chunks": [\n        2\n    ],\n    "compressor": null,\n    "dimension_separator": ".",\n    "dtype": "<f4",\n    "fill_value": "NaN",\n    "filters": null,\n    "order": "C",\n    "shape": [\n        2\n    ],\n    "zarr_format": 2\n}',
  u1: '{\n    "chunks": [\n        3\n    ],\n    "compressor": null,\n    "dimension_separator": ".",\n    "dtype": "|u1",\n    "fill_value": 0,\n    "filters": null,\n    "order": "C",\n    "shape": [\n        3\n    ],\n    "zarr_format": 2\n}',
  zl: '{\n    "chunks": [\n        10\n    ],\n    "compressor": {\n        "id": "zlib",\n        "level": 1\n    },\n    "dimension_separator": ".",\n    "dtype": "<i4",\n    "fill_value": 0,\n    "filters": null,\n    "order": "C",\n    "shape": [\n        10\n    ],\n    "zarr_format": 2\n}',
};
const CHUNKS: Record<string, string> = {
  'U8/0': '4400000053000000410000002d00000030000000300000003100000000000000e9000000ac20000000f6010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
  'b1/0': '0100',
  'b1/1': '0101',
  'b1/2': '0000',
  'c8/0.0': '0000803f00000040000060c00000803e0000000000000000',
  'c8/1.0': '00008040000080bf0000a04000000000000000000000c040',
  'f4/0.0': '000000000000c03f',
  'f4/0.1': '0000404000000000',
  'f4/1.0': '000090400000c040',
  'f4/1.1': '0000f04000000000',
  'f8/0': '9c7500883ce4377e00000000000004c0',
  'f8/1': '182d4454fb2109400000000000000000',
  'i4/0.0': '01000000feffffff03000000ffffff7f',
  'i4/1.0': '05000000060000000000000000000000',
  'i8/0': '0000000000010000ffffffffffffffff0700000000000000',
  'u1/0': '00ff07',
  // zlib level 1 as written by Python's zlib; Node's bundled zlib compresses differently, so only decoding is compared.
  'zl/0': '78010dc3890d00200c04a0d3fa75ff85858424194ecbe5f6787db61f02bc002e',
};
// The numpy arrays behind the store (same order as the create_dataset calls).
const PY: Record<string, { dtype: ZarrDtype; shape: number[]; chunks: number[]; data: ZarrData }> = {
  c8: { dtype: '<c8', shape: [2, 3], chunks: [1, 3], data: new Float32Array([1, 2, -3.5, 0.25, 0, 0, 4, -1, 5, 0, 0, 6]) },
  f4: { dtype: '<f4', shape: [2, 3], chunks: [1, 2], data: new Float32Array([0, 1.5, 3, 4.5, 6, 7.5]) },
  f8: { dtype: '<f8', shape: [3], chunks: [2], data: new Float64Array([1e300, -2.5, Math.PI]) },
  i4: { dtype: '<i4', shape: [3, 2], chunks: [2, 2], data: new Int32Array([1, -2, 3, 2 ** 31 - 1, 5, 6]) },
  i8: { dtype: '<i8', shape: [3], chunks: [3], data: new BigInt64Array([2n ** 40n, -1n, 7n]) },
  b1: { dtype: '|b1', shape: [5], chunks: [2], data: new Uint8Array([1, 0, 1, 1, 0]) },
  u1: { dtype: '|u1', shape: [3], chunks: [3], data: new Uint8Array([0, 255, 7]) },
  U8: { dtype: '<U8', shape: [3], chunks: [3], data: ['DSA-001', 'é€😀', ''] },
};

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
let tmp: string;
beforeEach(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'zarr-test-'));
});
afterEach(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

describe('byte compatibility with zarr-python 2', () => {
  it('writes .zgroup, .zarray and chunk files identical to zarr-python for every dtype', async () => {
    await writeGroup(tmp);
    expect(await fsp.readFile(path.join(tmp, '.zgroup'), 'utf8')).toBe('{\n    "zarr_format": 2\n}');
    for (const [name, a] of Object.entries(PY)) {
      const dir = path.join(tmp, name);
      await writeArray(dir, a.data, { shape: a.shape, chunks: a.chunks, dtype: a.dtype, fillValue: zarrPythonDefaultFill(a.dtype) });
      expect(await fsp.readFile(path.join(dir, '.zarray'), 'utf8'), name).toBe(ZARRAY[name]);
      const files = (await fsp.readdir(dir)).filter((f) => !f.startsWith('.')).sort();
      const expected = Object.keys(CHUNKS).filter((k) => k.startsWith(name + '/')).map((k) => k.slice(name.length + 1)).sort();
      expect(files, name).toEqual(expected);
      for (const f of files) expect(hex(await fsp.readFile(path.join(dir, f))), `${name}/${f}`).toBe(CHUNKS[`${name}/${f}`]);
    }
    // NaN fill value is written as the string "NaN", as zarr-python does.
    const nanDir = path.join(tmp, 'nanf');
    await writeArray(nanDir, new Float32Array([1, 2]), { shape: [2], chunks: [2], dtype: '<f4', fillValue: 'NaN' });
    expect(await fsp.readFile(path.join(nanDir, '.zarray'), 'utf8')).toBe(ZARRAY.nanf);
  });

  it('reads a store written by zarr-python (including a zlib chunk and a fill-only array)', async () => {
    for (const name of Object.keys(ZARRAY)) {
      await fsp.mkdir(path.join(tmp, name));
      await fsp.writeFile(path.join(tmp, name, '.zarray'), ZARRAY[name]);
    }
    for (const [k, h] of Object.entries(CHUNKS)) await fsp.writeFile(path.join(tmp, k), Buffer.from(h, 'hex'));
    for (const [name, a] of Object.entries(PY)) {
      const r = await readArray(path.join(tmp, name));
      expect(r.meta.shape).toEqual(a.shape);
      if (Array.isArray(a.data)) expect(r.data).toEqual(a.data);
      else expect(Array.from(r.data as ArrayLike<number | bigint>)).toEqual(Array.from(a.data as ArrayLike<number | bigint>));
    }
    const zl = await readArray(path.join(tmp, 'zl'));
    expect(Array.from(zl.data as Int32Array)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const nanf = await readArray(path.join(tmp, 'nanf')); // no chunk files: all fill_value
    expect(Array.from(nanf.data as Float32Array).every(Number.isNaN)).toBe(true);
  });
});

describe('round trips', () => {
  it('every dtype, irregular chunks in 3-D, zlib and gzip', async () => {
    const shape = [5, 4, 3];
    const n = 60;
    const cases: [ZarrDtype, ZarrData][] = [
      ['<c8', Float32Array.from({ length: 2 * n }, (_, i) => (i % 7) - 3.25 + i * 1e-3)],
      ['<f4', Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i)))],
      ['<f8', Float64Array.from({ length: n }, (_, i) => Math.exp(i / 7) * (i % 2 ? -1 : 1))],
      ['<i4', Int32Array.from({ length: n }, (_, i) => (i * 2654435761) | 0)],
      ['<i8', BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * 123456789012n - 5n)],
      ['|b1', Uint8Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0))],
      ['|u1', Uint8Array.from({ length: n }, (_, i) => (i * 37) & 255)],
      ['<U6', Array.from({ length: n }, (_, i) => `s${i}ü`.slice(0, 6))],
    ];
    for (const [dtype, data] of cases) {
      for (const [chunks, compressor] of [
        [[2, 3, 2], null],
        [[1, 4, 3], null],
        [[5, 4, 3], { id: 'zlib', level: 1 }],
        [[3, 3, 3], { id: 'gzip', level: 5 }],
      ] as const) {
        const dir = path.join(tmp, `${dtype.replace(/[<|]/g, '')}-${chunks.join('')}`);
        await writeArray(dir, data, { shape, chunks: [...chunks], dtype, compressor, dims: ['a', 'b', 'c'] });
        const r = await readArray(dir);
        expect(r.meta.dtype).toBe(dtype);
        expect(r.attrs._ARRAY_DIMENSIONS).toEqual(['a', 'b', 'c']);
        if (Array.isArray(data)) expect(r.data).toEqual(data);
        else expect(r.data, `${dtype} ${chunks}`).toEqual(data);
      }
    }
  });

  it('chunk layout: element (i,j,k) lands in chunk file "ci.cj.ck" at its C-order offset', async () => {
    // 4x5 int32 with chunks 3x2: element (3,4)=19 is in chunk "1.2" at local (0,0); padding is fill.
    const data = Int32Array.from({ length: 20 }, (_, i) => i);
    await writeArray(path.join(tmp, 'a'), data, { shape: [4, 5], chunks: [3, 2], dtype: '<i4', fillValue: -1 });
    const c12 = new Int32Array((await fsp.readFile(path.join(tmp, 'a', '1.2'))).buffer.slice(0));
    expect(Array.from(c12)).toEqual([19, -1, -1, -1, -1, -1]);
    const c01 = new Int32Array((await fsp.readFile(path.join(tmp, 'a', '0.1'))).buffer.slice(0));
    expect(Array.from(c01)).toEqual([2, 3, 7, 8, 12, 13]);
  });

  it('unicode strings are fixed-width UTF-32LE and too-long strings are refused', () => {
    const b = encodeStrings(['a😀'], 3);
    expect(hex(b)).toBe('6100000000f60100' + '00000000');
    expect(decodeStrings(b, 3)).toEqual(['a😀']);
    expect(() => encodeStrings(['abcd'], 3)).toThrow(/longer than <U3/);
  });

  it('JSON like Python json.dumps(indent=4, sort_keys=True, ensure_ascii=True)', () => {
    // python3 -c "import json; print(json.dumps({'b':[1,{}],'a':'é😀','c':[],'d':None}, indent=4, sort_keys=True))"
    expect(pyJsonDumps({ b: [1, {}], a: 'é😀', c: [], d: null })).toBe(
      '{\n    "a": "\\u00e9\\ud83d\\ude00",\n    "b": [\n        1,\n        {}\n    ],\n    "c": [],\n    "d": null\n}',
    );
  });
});

describe('consolidated metadata and errors', () => {
  it('.zmetadata lists groups and arrays but not hidden temps', async () => {
    await writeGroup(tmp, { x: 1 });
    await writeArray(path.join(tmp, 'A'), new Float64Array([1, 2]), { shape: [2], dtype: '<f8', dims: ['n'] });
    await writeGroup(path.join(tmp, 'SUB'));
    await writeArray(path.join(tmp, 'SUB', 'B'), new Int32Array([3]), { shape: [1], dtype: '<i4' });
    await writeArray(path.join(tmp, '.A.tmp-1-abcdef012345'), new Float64Array([1]), { shape: [1], dtype: '<f8' });
    await consolidateMetadata(tmp);
    const zm = JSON.parse(await fsp.readFile(path.join(tmp, '.zmetadata'), 'utf8'));
    expect(zm.zarr_consolidated_format).toBe(1);
    expect(Object.keys(zm.metadata).sort()).toEqual(['.zattrs', '.zgroup', 'A/.zarray', 'A/.zattrs', 'SUB/.zgroup', 'SUB/B/.zarray']);
    expect(zm.metadata['A/.zattrs']._ARRAY_DIMENSIONS).toEqual(['n']);
    expect(zm.metadata['.zattrs'].x).toBe(1);
  });

  it('refuses what it cannot read exactly, naming the file', async () => {
    const dir = path.join(tmp, 'x');
    await writeArray(dir, new Float32Array(8), { shape: [2, 4], chunks: [1, 4], dtype: '<f4' });
    // truncated chunk
    await fsp.truncate(path.join(dir, '1.0'), 10);
    await expect(readArray(dir)).rejects.toThrow(/1\.0.*|truncated/);
    await expect(readArray(dir)).rejects.toBeInstanceOf(InputError);
    // missing chunk with no fill value
    await fsp.rm(path.join(dir, '1.0'));
    await expect(readArray(dir)).rejects.toThrow(/missing chunk/);
    // blosc (zarr-python's default) is not supported: refuse clearly
    const z = JSON.parse(await fsp.readFile(path.join(dir, '.zarray'), 'utf8'));
    z.compressor = { id: 'blosc', cname: 'lz4', clevel: 5, shuffle: 1 };
    await fsp.writeFile(path.join(dir, '.zarray'), JSON.stringify(z));
    await expect(readArrayMeta(dir)).rejects.toThrow(/unsupported compressor "blosc"/);
    z.compressor = null;
    z.dtype = '>f4';
    await fsp.writeFile(path.join(dir, '.zarray'), JSON.stringify(z));
    await expect(readArrayMeta(dir)).rejects.toThrow(/unsupported dtype ">f4"/);
    z.dtype = '<f4';
    z.order = 'F';
    await fsp.writeFile(path.join(dir, '.zarray'), JSON.stringify(z));
    await expect(readArrayMeta(dir)).rejects.toThrow(/order/);
    await fsp.writeFile(path.join(dir, '.zarray'), '{"zarr_format": 2, "shape": [');
    await expect(readArrayMeta(dir)).rejects.toThrow(/corrupt \.zarray/);
  });
});
