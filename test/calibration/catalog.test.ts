import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  calibratorIndex, defaultCatalogPath, findCalibrator, jName, loadCalibratorCatalog, parseCalibratorCsv,
  parseVlaCalibratorList,
} from '../../src/calibration/catalog.js';
import { calibratorFluxJy, calibratorSpectrum, perleyButler2017 } from '../../src/calibration/fluxmodels.js';
import { InputError } from '../../src/util/errors.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED = process.env.DSA110_SHARED ?? path.resolve(repoRoot, '..', 'shared');
// NRAO VLA calibrator list, from dsa110/dsa110-calib (see shared/data/README.md).
const VLA_LIST = path.join(SHARED, 'data', 'catalogs', 'vlacalibrators.txt');
const DEG = Math.PI / 180;

describe('VLA calibrator list', () => {
  const cat = loadCalibratorCatalog(VLA_LIST);

  it('reads all 1,865 sources without unrecognised lines', () => {
    expect(cat.count).toBe(1865);
    expect(cat.warnings).toEqual([]);
    expect(cat.bandStart.length).toBe(1866);
    // 1,865 sources have 1042 rows at 20 cm (counted with grep on the file).
    expect(cat.bandName.filter((b) => b === '20cm').length).toBe(1042);
    expect(cat.bandName.length).toBe(1656 + 1042 + 932 + 917 + 765 + 163 + 67 + 6 + 1);
  });

  it('1331+305 = 3C286: names, position, 20 cm flux and band rows', () => {
    const c = findCalibrator(cat, '1331+305')!;
    expect(c).toBeDefined();
    expect(c.altName).toBe('3C286');
    expect(c.b1950).toBe('1328+307');
    expect(c.posCode).toBe('A');
    // 13h31m08.287984s, +30°30'32.958850" converted by hand: (13+31/60+8.287984/3600)·15°.
    expect(c.raRad).toBeCloseTo(3.5392577776233063, 12);
    expect(c.decRad).toBeCloseTo(0.5324852108722069, 12);
    expect(c.flux20cmJy).toBe(15.0);
    expect(c.bands.map((b) => b.band)).toEqual(['90cm', '20cm', '6cm', '3.7cm', '2cm', '1.3cm', '0.7cm']);
    const b20 = c.bands[1];
    expect(b20).toMatchObject({ code: 'L', quality: 'SSPP', fluxJy: 15 });
    expect(Number.isNaN(b20.uvminKl) && Number.isNaN(b20.uvmaxKl)).toBe(true);
    // " 3.7cm X  S P P P       5.23                      400   visplot": 400 is UVMAX.
    expect(c.bands[3]).toMatchObject({ quality: 'SPPP', fluxJy: 5.23, uvmaxKl: 400 });
    expect(Number.isNaN(c.bands[3].uvminKl)).toBe(true);
    // Spectral index from 15.00 Jy (20 cm) and 7.47 Jy (6 cm).
    expect(c.spectralIndex).toBeCloseTo(Math.log(7.47 / 15) / Math.log(4.86 / 1.4), 10);
  });

  it('finds 3C286 by every alias', () => {
    const i = calibratorIndex(cat, '1331+305');
    for (const alias of ['3C286', '3c 286', '3C 286', 'J1331+3030', 'J1331+305', '1328+307', 'B1328+307', ' 1331+305 ']) {
      expect(calibratorIndex(cat, alias)).toBe(i);
    }
    expect(findCalibrator(cat, 'NOT-A-SOURCE')).toBeUndefined();
  });

  it('1008+075 (3C237, the VLA test MS calibrator) with uvmax and misaligned rows', () => {
    const c = findCalibrator(cat, 'J1008+0730')!;
    expect(c.name).toBe('1008+075');
    expect(c.altName).toBe('3C237');
    expect(c.posCode).toBe('T');
    expect(c.raRad).toBeCloseTo(2.6529016265842156, 12);
    expect(c.decRad).toBeCloseTo(0.13097994026007195, 12);
    // " 20cm    L  X X S P       6.63                       15": 15 is in the UVMAX column.
    expect(c.bands[0]).toMatchObject({ band: '20cm', quality: 'XXSP', fluxJy: 6.63, uvmaxKl: 15 });
    expect(c.flux20cmJy).toBe(6.63);
  });

  it('handles irregular rows: uvmin column, missing quality codes, "?" flux, negative dec', () => {
    const c0 = findCalibrator(cat, '0006-063')!;
    // " 20cm    L  S X X X       1.60           45": 45 in the UVMIN column.
    expect(c0.bands[0]).toMatchObject({ fluxJy: 1.6, uvminKl: 45 });
    expect(c0.decRad).toBeCloseTo(-(6 + 23 / 60 + 35.3353 / 3600) * DEG, 12);
    // " 90cm    P  S               33           10" (3C161): one quality code.
    const c1 = findCalibrator(cat, '3C161')!;
    expect(c1.bands[0]).toMatchObject({ band: '90cm', quality: 'S---', fluxJy: 33, uvminKl: 10 });
    // "  2cm    U                0.00" (0253+180): no codes.
    const c2 = findCalibrator(cat, '0253+180')!;
    expect(c2.bands[2]).toMatchObject({ band: '2cm', quality: '----', fluxJy: 0 });
    // Position-reference survey codes are not alternate names.
    const c3 = findCalibrator(cat, '0001+192')!;
    expect(c3.altName).toBe('');
    expect(cat.posRef[c3.index]).toBe('Aug01 JVAS');
  });

  it('jName truncates like the J2000 designation', () => {
    expect(jName((13 + 31 / 60 + 8.29 / 3600) * 15 * DEG, (30 + 30 / 60 + 32.96 / 3600) * DEG)).toBe('J1331+3030');
    expect(jName(0.001, -0.5 * DEG)).toBe('J0000-0030');
  });

  it('a garbage file is refused with an InputError naming it', () => {
    expect(() => parseVlaCalibratorList('hello\nworld\n', '/x/cat.txt')).toThrow(InputError);
    expect(() => parseVlaCalibratorList('hello\nworld\n', '/x/cat.txt')).toThrow(/no calibrator entries/);
    expect(() => loadCalibratorCatalog('/nonexistent/cal.txt')).toThrow(/not found/);
  });

  it('default path resolves to the package data/ copy, overridable by DSA110_CALIBRATORS', () => {
    const saved = process.env.DSA110_CALIBRATORS;
    try {
      delete process.env.DSA110_CALIBRATORS;
      expect(defaultCatalogPath()).toBe(path.join(repoRoot, 'data', 'vlacalibrators.txt'));
      process.env.DSA110_CALIBRATORS = VLA_LIST;
      expect(defaultCatalogPath()).toBe(VLA_LIST);
      expect(loadCalibratorCatalog().count).toBe(1865);
    } finally {
      if (saved === undefined) delete process.env.DSA110_CALIBRATORS; else process.env.DSA110_CALIBRATORS = saved;
    }
  });

  it('the shared copy and the parsed text agree', () => {
    const again = parseVlaCalibratorList(readFileSync(VLA_LIST, 'utf8'));
    expect(again.count).toBe(cat.count);
  });
});

describe('CSV catalogue', () => {
  const text = [
    'name,ra_deg,dec_deg,flux_jy,spectral_index',
    'SRC A,202.784533,30.509155,15.0,-0.5',
    'bad ra,abc,10,1',
    'SRC_B,10.5,-20.25,2.5,',
    'neg flux,10,10,-1',
    ',1,1,1',
    'dec out,10,95,1',
    'SRC C,359.9,89.9,0.7',
  ].join('\n');

  it('parses good rows and reports bad ones with line numbers', () => {
    const cat = parseCalibratorCsv(text, 'cals.csv');
    expect(cat.count).toBe(3);
    expect(cat.name).toEqual(['SRC A', 'SRC_B', 'SRC C']);
    expect(cat.raRad[0]).toBeCloseTo(202.784533 * DEG, 12);
    expect(cat.decRad[1]).toBeCloseTo(-20.25 * DEG, 12);
    expect(cat.flux20cmJy[1]).toBe(2.5);
    expect(cat.spectralIndex[0]).toBe(-0.5);
    expect(Number.isNaN(cat.spectralIndex[1])).toBe(true);
    expect(cat.warnings).toHaveLength(4);
    expect(cat.warnings[0]).toMatch(/cals\.csv:3: bad ra_deg/);
    expect(cat.warnings[1]).toMatch(/cals\.csv:5: bad flux_jy/);
    expect(cat.warnings[2]).toMatch(/cals\.csv:6: empty name/);
    expect(cat.warnings[3]).toMatch(/cals\.csv:7: bad dec_deg/);
    expect(calibratorIndex(cat, 'src a')).toBe(0);
    expect(calibratorIndex(cat, 'SRC B')).toBe(1);
    // Spectral index used on request: 15·(2.8/1.4)^−0.5.
    expect(calibratorFluxJy(cat, 0, 2.8e9, { useSpectralIndex: true })).toBeCloseTo(15 / Math.SQRT2, 10);
    expect(calibratorFluxJy(cat, 0, 2.8e9)).toBe(15);
  });

  it('headerless CSV and an all-bad CSV', () => {
    const cat = parseCalibratorCsv('X,1,2,3\nY,4,5,6,0.1\n');
    expect(cat.count).toBe(2);
    expect(() => parseCalibratorCsv('name,ra_deg,dec_deg,flux_jy\nA,x,y,z\n', 'b.csv')).toThrow(/b\.csv.*no valid calibrator rows|no valid/);
  });
});

describe('Perley–Butler 2017 flux models', () => {
  it('3C286 is 15.06 Jy at 1.405 GHz', () => {
    expect(perleyButler2017('3C286', 1.405e9)).toBeCloseTo(15.0569, 3);
    expect(perleyButler2017('3C 286', 1.405e9)).toBeCloseTo(15.0569, 3);
  });
  it('the other standard calibrators at 1.4 GHz (polynomials evaluated by hand in Python)', () => {
    expect(perleyButler2017('3C48', 1.4e9)).toBeCloseTo(16.2554, 3);
    expect(perleyButler2017('3C138', 1.4e9)).toBeCloseTo(8.5641, 3);
    expect(perleyButler2017('3C147', 1.4e9)).toBeCloseTo(22.1702, 3);
    expect(perleyButler2017('3C295', 1.4e9)).toBeCloseTo(22.4993, 3);
    expect(perleyButler2017('3C196', 1.4e9)).toBeCloseTo(14.4289, 3);
    expect(perleyButler2017('1008+075', 1.4e9)).toBeUndefined();
  });
  it('catalogue sources: PB2017 for 3C286, flat 20 cm flux for others', () => {
    const cat = loadCalibratorCatalog(VLA_LIST);
    const f = new Float64Array([1.311e9, 1.405e9, 1.499e9]);
    const s = calibratorSpectrum(cat, calibratorIndex(cat, '3C286'), f);
    expect(s[1]).toBeCloseTo(15.0569, 3);
    expect(s[0]).toBeGreaterThan(s[2]);
    const o = calibratorSpectrum(cat, calibratorIndex(cat, '1008+075'), f);
    expect(Array.from(o)).toEqual([6.63, 6.63, 6.63]);
  });
});
