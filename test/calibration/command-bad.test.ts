/**
 * dsa110 calibrate / apply on bad input: no calibrator in the beam (with and without
 * --if-transit), all data flagged, too few antennas (QA failure → set registered as failed),
 * not an MS, an MS without DATA, apply with no valid calibration, several MS with one failing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openMs, replaceColumn } from '../../src/io/ms.js';
import { loadCalibratorCatalog } from '../../src/calibration/catalog.js';
import { findTransitingCalibrators } from '../../src/calibration/transit.js';
import { msPointingDecApp, msTimeRangeMjd } from '../../src/calibration/ms-io.js';
import { Registry } from '../../src/registry/db.js';
import { tmpDir } from '../helpers/cli.js';
import { run, simulateMs } from './command-synth.js';

let dir: string;
let fieldMs: string; // no calibrator within 1° (dec 70°, 2025-06-01T12:00)
let calMs: string; // 3C286 transit, 12 antennas
let fewMs: string; // 3C286 transit, 8 antennas (QA: < 10 good antennas)

function caltableRows(db: string): Record<string, unknown>[] {
  if (!existsSync(db)) return [];
  const reg = Registry.open(db);
  try {
    return reg.db.prepare('SELECT * FROM caltables').all() as Record<string, unknown>[];
  } finally {
    reg.close();
  }
}

beforeAll(async () => {
  dir = tmpDir('dsa110-cal-bad-');
  const small = { subbands: 2, channelsPerSubband: 8, integrations: 6, noiseJy: 0.5, seed: 3 };
  fieldMs = (await simulateMs(path.join(dir, 'field'), { ...small, antennas: 12, start: '2025-06-01T12:00:00', dec: 70, nsrc: 3 })).ms[0];
  calMs = (await simulateMs(path.join(dir, 'cal'), { ...small, antennas: 12, calibrator: '3C286' })).ms[0];
  fewMs = (await simulateMs(path.join(dir, 'few'), { ...small, antennas: 8, calibrator: '3C286' })).ms[0];
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('calibrate: no calibrator in the beam', () => {
  it('precondition: the packaged catalogue has no calibrator within 1° of the field', async () => {
    const ms = await openMs(fieldMs);
    const r = msTimeRangeMjd(ms.meta);
    const m = findTransitingCalibrators(loadCalibratorCatalog(), {
      decAppRad: msPointingDecApp(ms.meta), startJdUtc: r.start + 2400000.5, endJdUtc: r.end + 2400000.5,
    });
    expect(m).toEqual([]);
  });

  it('exits 1 with a clear message; nothing registered', () => {
    const db = path.join(dir, 'none.sqlite3');
    const r = run(['--db', db, 'calibrate', fieldMs]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(fieldMs);
    expect(r.stderr).toMatch(/no calibrator .* within 1° of the meridian pointing/);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(caltableRows(db)).toEqual([]);
  });

  it('a named calibrator that does not transit: exit 1 naming it', () => {
    const r = run(['--db', path.join(dir, 'named.sqlite3'), 'calibrate', '--calibrator', '3C286', fieldMs]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/calibrator 3C286 within 1°/);
  });

  it('--if-transit: exit 0, nothing printed, nothing registered, no caltables written', () => {
    const db = path.join(dir, 'if.sqlite3');
    const out = path.join(dir, 'if-out');
    const r = run(['--db', db, 'calibrate', '--calibrator', 'auto', '--if-transit', '--output-dir', out, fieldMs]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/no calibrator transits/);
    expect(caltableRows(db)).toEqual([]);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });
});

describe('calibrate: unusable data', () => {
  it('all data flagged → exit 1, no caltable written or registered', async () => {
    const flagged = path.join(dir, 'flagged.ms.zarr');
    cpSync(calMs, flagged, { recursive: true });
    const ms = await openMs(flagged);
    const all = new Uint8Array(ms.meta.nBaselines * ms.meta.nChan * ms.meta.nPol).fill(1);
    await replaceColumn(ms, 'FLAG', () => all, { fsync: false });
    const db = path.join(dir, 'flagged.sqlite3');
    const out = path.join(dir, 'flagged-out');
    const r = run(['--db', db, 'calibrate', '--calibrator', '3C286', '--output-dir', out, flagged]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/flagged/);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(caltableRows(db)).toEqual([]);
    expect(existsSync(out) ? readdirSync(out).filter((n) => n.endsWith('.zarr')) : []).toEqual([]);
  });

  it('fewer than 10 antennas → QA fails: set registered as failed, exit 1', () => {
    const db = path.join(dir, 'few.sqlite3');
    const r = run(['--db', db, 'calibrate', '--calibrator', '3C286', fewMs]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/failed QA \(.*only 8 good antennas \(need 10\)/);
    const rows = caltableRows(db);
    expect(rows.map((x) => x.type).sort()).toEqual(['BP', 'G', 'K']);
    expect(rows.every((x) => x.status === 'failed' && x.n_antennas_good === 8)).toBe(true);
    // A failed set is never picked by apply.
    const a = run(['--db', db, 'apply', fewMs]);
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/no calibration valid for/);
  });

  it('not an MS, and an MS without DATA: exit 1 naming the path', () => {
    const notMs = path.join(dir, 'notms.txt');
    writeFileSync(notMs, 'hello\n');
    const r1 = run(['--db', path.join(dir, 'x.sqlite3'), 'calibrate', notMs]);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toContain(notMs);
    expect(r1.stderr).not.toMatch(/internal error/);
    const noData = path.join(dir, 'nodata.ms.zarr');
    cpSync(calMs, noData, { recursive: true });
    rmSync(path.join(noData, 'DATA'), { recursive: true });
    const r2 = run(['--db', path.join(dir, 'x.sqlite3'), 'calibrate', noData]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain(noData);
    expect(r2.stderr).toMatch(/DATA/);
    const r3 = run(['--db', path.join(dir, 'x.sqlite3'), 'apply', noData]);
    expect(r3.code).toBe(1);
    expect(r3.stderr).toContain(noData);
  });

  it('bad option values are usage errors (exit 2)', () => {
    expect(run(['calibrate', '--gain-solint', 'soon', calMs]).code).toBe(2);
    expect(run(['calibrate', '--no-k', '--no-bp', '--no-g', calMs]).code).toBe(2);
  });
});

describe('apply: no valid calibration, partial failure', () => {
  it('no set in the registry → exit 1 with the MS and its mid-time', () => {
    const r = run(['--db', path.join(dir, 'empty.sqlite3'), 'apply', calMs]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`no calibration valid for ${calMs.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(2025-`));
  });

  it('--tables with several MS, one not an MS → exit 3; the good one is calibrated', () => {
    const db = path.join(dir, 'partial.sqlite3');
    const out = path.join(dir, 'partial-cal');
    const c = run(['--db', db, 'calibrate', '--calibrator', '3C286', '--output-dir', out, '--prefix', 'p', calMs]);
    expect(c.code, c.stderr).toBe(0);
    const tables = c.stdout.trim().split('\n');
    expect(tables.map((t) => path.basename(t))).toEqual(['p.kcal.zarr', 'p.bpcal.zarr', 'p.gpcal.zarr']);
    const bad = path.join(dir, 'missing.ms.zarr');
    const r = run(['--db', db, 'apply', calMs, bad, '--tables', ...tables]);
    expect(r.code).toBe(3);
    expect(r.stdout.trim()).toBe(calMs);
    expect(r.stderr).toContain(bad);
  });
});
