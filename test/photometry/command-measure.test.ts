/**
 * `dsa110 photometry measure` through the CLI on synthetic imager products (SIN WCS, Gaussian
 * sources = restoring beam, beam-correlated noise, a Gaussian primary beam in `-pb.fits`).
 * The image holds apparent flux = intrinsic × pb; the measured (pb-corrected) flux must equal
 * the intrinsic flux that was injected.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { dsa110, tmpDir } from '../helpers/cli.js';
import { Registry } from '../../src/registry/db.js';
import { catalogCsv, fieldWcs, pbAt, writeEpoch } from './command-synth.js';

const PB_FWHM = 100; // pixels
const SIGMA = 0.5e-3; // Jy/beam
const MJD = 60950.25;
const wcs = fieldWcs(150, 40);

// name, pixel position, intrinsic flux (Jy)
const SOURCES = [
  { name: 'A', x: 64, y: 64, flux: 0.5 },
  { name: 'B', x: 40.3, y: 80.6, flux: 0.6 },
  { name: 'C', x: 95.2, y: 40.1, flux: 0.8 },
  { name: 'D', x: 30, y: 30.4, flux: 1.0 },
  { name: 'E', x: 100.4, y: 99.7, flux: 1.2 },
  { name: 'F', x: 20.6, y: 64.2, flux: 0.9 },
  { name: 'G', x: 64.5, y: 110.3, flux: 0.7 },
  { name: 'H', x: 80, y: 20, flux: 0.04 }, // apparent ≈ 22 mJy: SNR ≈ 40
  { name: 'LOWPB', x: 3, y: 3, flux: 0.5 }, // pb ≈ 0.13 < 0.2
  { name: 'FAINT', x: 50, y: 100, flux: 0.005 }, // catalogue 5 mJy < --min-mjy 10
];
const OUTSIDE = { name: 'OUT', x: -30, y: 64, mjy: 300 };
const MEASURED = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'];

let dir: string, good: string, noBeam: string, dateOnly: string, noPbSibling: string, csvCat: string, sqlCat: string;

const run = (db: string, args: string[]) => dsa110(['photometry', ...args], { env: { PIPELINE_DB: db } });

interface PhotRow { name: string; flux_jy: number; flux_err_jy: number; snr: number; pb: number; id: number; source_id: number; mjd: number; image_path: string }
function rows(db: string, image?: string): PhotRow[] {
  const reg = Registry.open(db, { create: false });
  try {
    return reg.db.prepare(`SELECT s.name, p.* FROM photometry p JOIN sources s ON s.id = p.source_id ${image ? 'WHERE p.image_path = ?' : ''} ORDER BY s.name`).all(...(image ? [image] : [])) as PhotRow[];
  } finally { reg.close(); }
}

beforeAll(async () => {
  dir = tmpDir('dsa110-phot-measure-');
  const src = SOURCES.map((s) => ({ x: s.x, y: s.y, fluxJy: s.flux }));
  good = await writeEpoch(dir, 'good', { wcs, mjd: MJD, sources: src, sigma: SIGMA, seed: 11, pbFwhmPix: PB_FWHM });
  noBeam = await writeEpoch(dir, 'nobeam', { wcs, mjd: MJD + 1, sources: src, sigma: SIGMA, seed: 12, pbFwhmPix: PB_FWHM, dropKeys: ['BMAJ', 'BMIN', 'BPA'] });
  dateOnly = await writeEpoch(dir, 'dateonly', { wcs, mjd: MJD + 2, sources: src, sigma: SIGMA, seed: 13, pbFwhmPix: PB_FWHM, dropKeys: ['MJD-OBS'] });
  noPbSibling = await writeEpoch(dir, 'nopb', { wcs, mjd: MJD + 3, sources: src, sigma: SIGMA, seed: 14, pbFwhmPix: PB_FWHM, writePb: false });
  const cat = SOURCES.map((s) => ({ name: s.name, x: s.x, y: s.y, mjy: s.flux * 1e3, snr: s.flux / 1e-3 }));
  csvCat = path.join(dir, 'cat.csv');
  // line 13 is bad (RA not a number), line 14 has a missing field
  writeFileSync(csvCat, catalogCsv(wcs, [...cat, OUTSIDE], ['BADRA,abc,40.0,100,,0', 'SHORT,150.0,40.0']));
  sqlCat = path.join(dir, 'cat.sqlite');
  const db = new Database(sqlCat);
  db.exec('CREATE TABLE catalog (name TEXT, ra_deg REAL, dec_deg REAL, flux_mjy REAL, snr REAL, resolved INTEGER)');
  const ins = db.prepare('INSERT INTO catalog VALUES (?, ?, ?, ?, ?, ?)');
  for (const r of [...cat, OUTSIDE]) { const [ra, dec] = wcs.pixelToWorldDeg(r.x, r.y); ins.run(r.name, +ra.toFixed(8), +dec.toFixed(8), r.mjy, (r as { snr?: number }).snr ?? null, 0); }
  ins.run('NULLRA', null, 40, 100, null, 0);
  db.close();
}, 30000);

describe('dsa110 photometry measure', () => {
  it('pb-corrected fluxes equal the injected intrinsic fluxes; skipped sources counted by reason; bad rows reported', () => {
    const db = path.join(dir, 'a.sqlite3');
    const r = run(db, ['measure', good, '--catalog', csvCat, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/cat\.csv: line 13: ra_deg is not a number: 'abc'/);
    expect(r.stderr).toMatch(/cat\.csv: line 14: expected 6 fields, found 3/);
    const j = JSON.parse(r.stdout.trim());
    expect(j.path).toBe(good);
    expect(j.measured).toBe(8);
    expect(j.skipped).toEqual({ outside: 1, low_pb: 1, blank: 0, faint: 1, no_data: 0 });
    expect(j.mjd).toBeCloseTo(MJD, 8);
    const got = rows(db);
    expect(got.map((g) => g.name)).toEqual(MEASURED);
    expect(j.median_snr).toBeCloseTo([...got.map((g) => g.snr)].sort((a, b) => a - b)[3] / 2 + [...got.map((g) => g.snr)].sort((a, b) => a - b)[4] / 2, 6);
    for (const g of got) {
      const s = SOURCES.find((x) => x.name === g.name)!;
      expect(g.pb).toBeCloseTo(pbAt(s.x, s.y, PB_FWHM), 3);
      expect(g.mjd).toBeCloseTo(MJD, 8);
      // pull within 4σ for every source; within 1 % for SNR ≥ 50
      expect(Math.abs(g.flux_jy - s.flux) / g.flux_err_jy, g.name).toBeLessThan(4);
      if (g.snr >= 50) expect(Math.abs(g.flux_jy / s.flux - 1), g.name).toBeLessThan(0.01);
    }
    expect(got.filter((g) => g.snr >= 50).length).toBe(7);
    // errors follow the beam-correlated noise model: err = σ·sqrt(4/3)/pb for an isolated point source
    const a = got.find((g) => g.name === 'A')!;
    expect(a.flux_err_jy / (SIGMA * Math.sqrt(4 / 3))).toBeGreaterThan(0.8);
    expect(a.flux_err_jy / (SIGMA * Math.sqrt(4 / 3))).toBeLessThan(1.25);
  });

  it('reports which sources were skipped and why with -v', () => {
    const db = path.join(dir, 'v.sqlite3');
    const r = run(db, ['measure', good, '--catalog', csvCat, '-v']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/OUT: outside the image/);
    expect(r.stderr).toMatch(/LOWPB: primary beam 0\.1\d\d below limit 0\.2/);
    expect(r.stderr).toMatch(/8 measured .*1 outside the image, 1 below pb 0\.2/);
    expect(r.stdout.trim()).toBe(good);
  });

  it('re-running replaces the rows (same ids, no duplicates)', () => {
    const db = path.join(dir, 'rerun.sqlite3');
    expect(run(db, ['measure', good, '--catalog', csvCat, '-q']).code).toBe(0);
    const first = rows(db);
    expect(run(db, ['measure', good, '--catalog', csvCat, '-q']).code).toBe(0);
    const second = rows(db);
    expect(second.length).toBe(8);
    expect(second.map((r) => [r.id, r.source_id, r.flux_jy])).toEqual(first.map((r) => [r.id, r.source_id, r.flux_jy]));
    const reg = Registry.open(db, { create: false });
    const nSrc = (reg.db.prepare('SELECT COUNT(*) AS n FROM sources').get() as { n: number }).n;
    const img = reg.db.prepare('SELECT * FROM photometry_images').all() as { image_path: string; n_measured: number; bmaj_deg: number }[];
    reg.close();
    expect(nSrc).toBe(8);
    expect(img.length).toBe(1);
    expect(img[0].n_measured).toBe(8);
    expect(img[0].bmaj_deg).toBeCloseTo(4 * 10 / 3600, 10);
  });

  it('without the primary beam (--no-pb) the fluxes are the apparent ones', () => {
    const db = path.join(dir, 'nopb.sqlite3');
    const r = run(db, ['measure', good, '--catalog', csvCat, '--no-pb', '-q']);
    expect(r.code).toBe(0);
    const got = rows(db);
    expect(got.map((g) => g.name)).toContain('LOWPB'); // no pb limit without a pb
    const d = got.find((g) => g.name === 'D')!, s = SOURCES.find((x) => x.name === 'D')!;
    expect(d.pb).toBe(1);
    expect(Math.abs(d.flux_jy / (s.flux * pbAt(s.x, s.y, PB_FWHM)) - 1)).toBeLessThan(0.01);
  });

  it('an image without BMAJ/BMIN fails clearly: exit 3 beside a good image, exit 1 alone', () => {
    const db = path.join(dir, 'nobeam.sqlite3');
    const r = run(db, ['measure', good, noBeam, '--catalog', csvCat]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/nobeam-image\.fits: no restoring beam in the header \(BMAJ\/BMIN/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.stdout.trim().split('\n')).toEqual([good]);
    expect(rows(db, noBeam).length).toBe(0);
    expect(rows(db, good).length).toBe(8);
    const alone = run(db, ['measure', noBeam, '--catalog', csvCat]);
    expect(alone.code).toBe(1);
    expect(alone.stdout).toBe('');
  });

  it('a missing -pb.fits sibling is an error naming it (exit 1)', () => {
    const r = run(path.join(dir, 'm.sqlite3'), ['measure', noPbSibling, '--catalog', csvCat]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nopb-pb\.fits not found \(use --no-pb/);
  });

  it('takes the time from DATE-OBS when MJD-OBS is absent', () => {
    const db = path.join(dir, 'date.sqlite3');
    expect(run(db, ['measure', dateOnly, '--catalog', csvCat, '-q']).code).toBe(0);
    const got = rows(db);
    expect(got.length).toBe(8);
    for (const g of got) expect(Math.abs(g.mjd - (MJD + 2))).toBeLessThan(2e-8); // DATE-OBS to the millisecond
  });

  it('reads an SQLite catalogue (table catalog) with the same results, reporting bad rows', () => {
    const dbA = path.join(dir, 'csvcat.sqlite3'), dbB = path.join(dir, 'sqlcat.sqlite3');
    expect(run(dbA, ['measure', good, '--catalog', csvCat, '-q']).code).toBe(0);
    const r = run(dbB, ['measure', good, '--catalog', sqlCat]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/cat\.sqlite: rowid 12: ra_deg is not a number/);
    const a = rows(dbA), b = rows(dbB);
    expect(b.map((x) => [x.name, x.flux_jy, x.flux_err_jy])).toEqual(a.map((x) => [x.name, x.flux_jy, x.flux_err_jy]));
  });

  it('--output writes a CSV of the measurements (and prints its path)', () => {
    const db = path.join(dir, 'out.sqlite3');
    const out = path.join(dir, 'phot.csv');
    const r = run(db, ['measure', good, '--catalog', csvCat, '--output', out, '-q']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(out);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('image_path,mjd,source,source_id,ra_deg,dec_deg,flux_jy,flux_err_jy,flux_raw_jy,local_rms_jy,snr,pb,chi2,flags');
    expect(lines.length).toBe(9);
    const reg = rows(db);
    for (const line of lines.slice(1)) {
      const c = line.split(',');
      const row = reg.find((x) => x.name === c[2])!;
      expect(Number(c[6])).toBe(row.flux_jy);
      expect(Number(c[7])).toBe(row.flux_err_jy);
      expect(Number(c[8])).toBeCloseTo(row.flux_jy * row.pb, 12);
    }
    rmSync(out);
  });

  it('usage errors exit 2', () => {
    const db = path.join(dir, 'u.sqlite3');
    expect(run(db, ['measure', good]).code).toBe(2); // --catalog required
    expect(run(db, ['measure', good, '--catalog', csvCat, '--pblimit', '2']).code).toBe(2);
    expect(run(db, ['variability', '--preset', 'wild']).code).toBe(2);
  });
});
