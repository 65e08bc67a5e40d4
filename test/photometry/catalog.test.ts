import { describe, expect, it } from 'vitest';
import { RESOLVED_UNKNOWN, parseCatalogCsv } from '../../src/photometry/catalog.js';
import { InputError } from '../../src/util/errors.js';

describe('parseCatalogCsv', () => {
  const text = [
    '# NVSS-like test catalogue',
    'name,ra_deg,dec_deg,flux_mjy,snr,resolved',
    'J1,150.0,40.0,120.5,85,false',
    '"J2, with comma",150.1,40.1,33,,1',
    'J3,abc,40.0,10,5,0', // line 5: ra not a number
    'J4,150.2,40.2', // line 6: too few fields
    '',
    'J5,360.0,40.0,10,5,0', // line 8: ra out of range
    'J6,150.3,-91,10,5,0', // line 9: dec out of range
    'J7,150.4,40.4,12,7,maybe', // line 10: bad boolean
    ',150.5,40.5,12,7,0', // line 11: empty name
    'J8,150.6,40.6,,7,0', // line 12: flux empty
    'J9 , 10.25 , -5.5 , 1e3 , 200 , TRUE ',
  ].join('\n');

  it('keeps good rows with their values', () => {
    const { catalog: c } = parseCatalogCsv(text, 'cat.csv');
    expect(c.name).toEqual(['J1', 'J2, with comma', 'J9']);
    expect(Array.from(c.raDeg)).toEqual([150, 150.1, 10.25]);
    expect(Array.from(c.decDeg)).toEqual([40, 40.1, -5.5]);
    expect(Array.from(c.fluxMjy)).toEqual([120.5, 33, 1000]);
    expect(c.snr[0]).toBe(85);
    expect(Number.isNaN(c.snr[1])).toBe(true);
    expect(Array.from(c.resolved)).toEqual([0, 1, 1]);
  });

  it('reports each bad row with its line number and reason', () => {
    const { badRows } = parseCatalogCsv(text, 'cat.csv');
    expect(badRows.map((b) => b.line)).toEqual([5, 6, 8, 9, 10, 11, 12]);
    expect(badRows[0].reason).toMatch(/ra_deg is not a number: 'abc'/);
    expect(badRows[1].reason).toMatch(/expected 6 fields, found 3/);
    expect(badRows[2].reason).toMatch(/ra_deg 360 outside/);
    expect(badRows[3].reason).toMatch(/dec_deg -91 outside/);
    expect(badRows[4].reason).toMatch(/resolved is not a boolean/);
    expect(badRows[5].reason).toMatch(/empty name/);
    expect(badRows[6].reason).toMatch(/flux_mjy is not a number/);
  });

  it('accepts flux_jy (converted to mJy) and columns in any order; snr/resolved optional', () => {
    const { catalog: c, badRows } = parseCatalogCsv('dec_deg,flux_jy,name,ra_deg\r\n-30,0.25,A,12\r\n', 'x.csv');
    expect(badRows).toEqual([]);
    expect(c.name).toEqual(['A']);
    expect(c.fluxMjy[0]).toBe(250);
    expect(c.decDeg[0]).toBe(-30);
    expect(c.resolved[0]).toBe(RESOLVED_UNKNOWN);
  });

  it('throws InputError naming the file when required columns are missing or the file is empty', () => {
    expect(() => parseCatalogCsv('name,ra_deg,flux_mjy\nA,1,2\n', 'bad.csv')).toThrow(InputError);
    try {
      parseCatalogCsv('name,ra_deg,flux_mjy\nA,1,2\n', 'bad.csv');
    } catch (e) {
      expect((e as InputError).oneLine()).toMatch(/^bad\.csv: header line 1 lacks column\(s\) dec_deg/);
    }
    expect(() => parseCatalogCsv('\n# nothing\n', 'empty.csv')).toThrow(/empty/);
  });
});
