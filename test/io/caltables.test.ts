import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeCaltable, readCaltable, caltablePath, KCalTable, BpCalTable, GpCalTable } from '../../src/io/caltables.js';
import { InputError, DsaError } from '../../src/util/errors.js';

let tmp: string;
beforeEach(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'cal-test-'));
});
afterEach(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

const common = {
  refant: 'DSA-003',
  sourceMs: '/data/ms/2025-10-02T00:12:00.ms.zarr',
  calibrator: '0834+555',
  validFromMjd: 60950.0,
  validToMjd: 60950.5,
  solint: 'inf',
  qa: { flagged_fraction: 0.125, median_snr: 42.5 },
  antennaNames: ['DSA-001', 'DSA-002', 'DSA-003'],
  corrType: new Int32Array([9, 12]),
};

describe('calibration tables', () => {
  it('kcal round trip with attributes; on-disk arrays are zlib-compressed with xarray dims', async () => {
    const p = caltablePath(path.join(tmp, '2025-10-02T00:12:00'), 'kcal');
    expect(p.endsWith('2025-10-02T00:12:00.kcal.zarr')).toBe(true);
    const t: KCalTable = { ...common, type: 'kcal', delayNs: new Float64Array([0.5, -1.25, 0, 0, 3.75, 2]), flags: new Uint8Array([0, 0, 0, 0, 1, 0]), attrs: { note: 'x' } };
    await writeCaltable(p, t);
    const r = await readCaltable(p, 'kcal');
    expect(r).toEqual({ ...t, snr: undefined, attrs: { note: 'x' } });
    const za = JSON.parse(await fsp.readFile(path.join(p, 'delay', '.zarray'), 'utf8'));
    expect(za).toMatchObject({ shape: [3, 2], dtype: '<f8', compressor: { id: 'zlib', level: 1 } });
    expect(JSON.parse(await fsp.readFile(path.join(p, 'delay', '.zattrs'), 'utf8'))).toEqual({ _ARRAY_DIMENSIONS: ['antenna', 'polarization'], units: 'ns' });
    const attrs = JSON.parse(await fsp.readFile(path.join(p, '.zattrs'), 'utf8'));
    expect(attrs).toMatchObject({ dsa110_caltable_format: 1, cal_type: 'kcal', refant: 'DSA-003', calibrator: '0834+555', valid_from_mjd: 60950, valid_to_mjd: 60950.5, solint: 'inf' });
    expect(JSON.parse(await fsp.readFile(path.join(p, '.zmetadata'), 'utf8')).metadata['delay/.zarray']).toBeDefined();
  });

  it('bpcal and gpcal round trip; rewriting replaces atomically', async () => {
    const nChan = 4;
    const bp: BpCalTable = {
      ...common,
      type: 'bpcal',
      freq: new Float64Array([1.311e9, 1.3111e9, 1.3112e9, 1.3113e9]),
      gains: Float32Array.from({ length: 2 * 3 * nChan * 2 }, (_, i) => Math.fround(Math.cos(i) * 1.5)),
      flags: Uint8Array.from({ length: 3 * nChan * 2 }, (_, i) => (i % 7 === 0 ? 1 : 0)),
      snr: Float32Array.from({ length: 3 * nChan * 2 }, (_, i) => 10 + i),
    };
    const pb = path.join(tmp, 'x.bpcal.zarr');
    await writeCaltable(pb, bp);
    expect(await readCaltable(pb)).toEqual({ ...bp, attrs: {} });
    const gp: GpCalTable = {
      ...common,
      type: 'gpcal',
      solint: '60s',
      time: new Float64Array([5218000000, 5218000060]),
      gains: Float32Array.from({ length: 2 * 2 * 3 * 2 }, (_, i) => i / 3),
      flags: new Uint8Array(12),
      snr: new Float32Array(12).fill(7),
    };
    const pg = path.join(tmp, 'x.gpcal.zarr');
    await writeCaltable(pg, gp);
    const rg = await readCaltable(pg);
    expect(rg).toEqual({ ...gp, attrs: {} });
    await writeCaltable(pg, { ...gp, snr: new Float32Array(12).fill(9) });
    expect(((await readCaltable(pg)) as GpCalTable).snr[0]).toBe(9);
    expect((await fsp.readdir(tmp)).sort()).toEqual(['x.bpcal.zarr', 'x.gpcal.zarr']);
  });

  it('refuses bad tables clearly', async () => {
    const kc: KCalTable = { ...common, type: 'kcal', delayNs: new Float64Array(5), flags: new Uint8Array(6) };
    await expect(writeCaltable(path.join(tmp, 'a.kcal.zarr'), kc)).rejects.toThrow(/delayNs has 5 values, expected 6/);
    await expect(writeCaltable(path.join(tmp, 'a.kcal.zarr'), { ...kc, delayNs: new Float64Array(6), refant: 'DSA-099' })).rejects.toThrow(/refant DSA-099/);
    expect(await fsp.readdir(tmp)).toEqual([]);
    const p = path.join(tmp, 'a.kcal.zarr');
    await writeCaltable(p, { ...kc, delayNs: new Float64Array(6) });
    await expect(readCaltable(p, 'bpcal')).rejects.toThrow(/is a kcal table, expected bpcal/);
    await expect(readCaltable(path.join(tmp, 'missing.zarr'))).rejects.toBeInstanceOf(InputError);
    const z = JSON.parse(await fsp.readFile(path.join(p, 'delay', '.zarray'), 'utf8'));
    await fsp.writeFile(path.join(p, 'delay', '.zarray'), JSON.stringify({ ...z, shape: [2, 2], chunks: [2, 2] }));
    await expect(readCaltable(p)).rejects.toThrow(/delay has .*shape \[2,2\], expected \[3,2\]|chunk decodes/);
    const attrs = JSON.parse(await fsp.readFile(path.join(p, '.zattrs'), 'utf8'));
    await fsp.writeFile(path.join(p, '.zattrs'), JSON.stringify({ ...attrs, dsa110_caltable_format: 7 }));
    const e = await readCaltable(p).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DsaError);
    expect((e as DsaError).oneLine()).toBe(`${p}: unsupported calibration table format 7 (this dsa110 reads 1)`);
  });
});
