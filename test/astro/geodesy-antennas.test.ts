import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadStations, parseStations, stationEcef, defaultStationsPath } from '../../src/astro/antennas.js';
import { DEG, DSA110_SITE } from '../../src/astro/constants.js';
import { packageDataPath } from '../../src/astro/data-path.js';
import { ecefToEnu, ecefToGeodetic, enuToEcefMatrix, geodeticToEcef } from '../../src/astro/geodesy.js';
import { InputError } from '../../src/util/errors.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED = process.env['DSA110_SHARED'] ?? path.resolve(repoRoot, '..', 'shared');

// astropy EarthLocation.from_geodetic(lon, lat, height) (WGS84) → x, y, z metres, by hand.
const ASTROPY_ECEF: number[][] = [
  [37.2333752, -118.2856408, 1182.6, -2409761.2293577883, -4478100.498539612, 3838761.5183037138],
  [37.2315343, -118.2966607, 1182.6, -2410681.0830681263, -4477745.802429632, 3838598.8215907053],
  [-33.0, 151.0, -20.0, -4683114.499634956, 2595892.756137362, -3453947.748397199],
  [89.99, 10, 0, 1099.9709646490603, 193.95455906354647, 6356752.216773795],
  [37.2314, -118.2817, 1222, -2409530.9381540837, -4478410.679586582, 3838610.7905518697],
];

describe('geodesy', () => {
  it.each(ASTROPY_ECEF)('geodetic (%f, %f, %f) → ECEF matches astropy to 0.1 mm, and back', (lat, lon, h, x, y, z) => {
    const [X, Y, Z] = geodeticToEcef(lat * DEG, lon * DEG, h);
    expect(Math.abs(X - x)).toBeLessThan(1e-4);
    expect(Math.abs(Y - y)).toBeLessThan(1e-4);
    expect(Math.abs(Z - z)).toBeLessThan(1e-4);
    const [la, lo, hh] = ecefToGeodetic(x, y, z);
    expect(Math.abs(la - lat * DEG)).toBeLessThan(1e-11);
    expect(Math.abs(lo - lon * DEG)).toBeLessThan(1e-12);
    expect(Math.abs(hh - h)).toBeLessThan(1e-4);
  });
  it('ENU matrix: up is the ellipsoid normal, east is horizontal, orthonormal', () => {
    const m = enuToEcefMatrix(DSA110_SITE.latRad, DSA110_SITE.lonRad);
    // 1 m straight up from the site is +1 in "up".
    const [x0, y0, z0] = geodeticToEcef(DSA110_SITE.latRad, DSA110_SITE.lonRad, 0);
    const [x1, y1, z1] = geodeticToEcef(DSA110_SITE.latRad, DSA110_SITE.lonRad, 1);
    const enu = ecefToEnu(DSA110_SITE.latRad, DSA110_SITE.lonRad, x1 - x0, y1 - y0, z1 - z0);
    expect(enu[0]).toBeCloseTo(0, 8);
    expect(enu[1]).toBeCloseTo(0, 8);
    expect(enu[2]).toBeCloseTo(1, 8);
    expect(m[6]).toBe(0); // east has no z component
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b < 3; b++) {
        const dot = m[a]! * m[b]! + m[3 + a]! * m[3 + b]! + m[6 + a]! * m[6 + b]!;
        expect(dot).toBeCloseTo(a === b ? 1 : 0, 14);
      }
    }
  });
});

describe('DSA-110 stations', () => {
  afterEach(() => {
    delete process.env['DSA110_ANTENNAS_CSV'];
  });
  it('loads the 117 stations from the package copy, DSA-117 elevation defaulted', () => {
    const s = loadStations();
    expect(s.names.length).toBe(117);
    expect(s.names[0]).toBe('DSA-001');
    expect(s.numbers[116]).toBe(117);
    expect(s.heightM[116]).toBe(1182.6);
    expect(s.heightM[115]).toBe(1178.1);
    expect(s.latRad[0]! / DEG).toBeCloseTo(37.2333752, 10);
    expect(s.lonRad[0]! / DEG).toBeCloseTo(-118.2856408, 10);
    // ECEF against astropy (table above): DSA-001 and DSA-117.
    expect(Math.abs(s.ecef[0]! - ASTROPY_ECEF[0]![3]!)).toBeLessThan(1e-4);
    expect(Math.abs(s.ecef[3 * 116 + 2]! - ASTROPY_ECEF[1]![5]!)).toBeLessThan(1e-4);
    const sub = stationEcef(s, [117, 1]);
    expect(sub[3]).toBe(s.ecef[0]);
    expect(() => stationEcef(s, [118])).toThrow(/DSA-118/);
  });
  it('the package copy is byte-identical to the shared reference file', async () => {
    const { readFileSync } = await import('node:fs');
    const a = readFileSync(packageDataPath('DSA110_Station_Coordinates.csv'));
    const b = readFileSync(path.join(SHARED, 'data', 'antennas', 'DSA110_Station_Coordinates.csv'));
    expect(a.equals(b)).toBe(true);
    expect(packageDataPath('x')).toBe(path.join(repoRoot, 'data', 'x'));
  });
  it('DSA110_ANTENNAS_CSV overrides the default path', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dsa110-ant-'));
    const f = path.join(dir, 'ants.csv');
    writeFileSync(f, ',,,,\n,,,,\n,x,,,\n,,,,\n,,,,\n,Station Number,Latitude,Longitude,Elevation (meters)\n,DSA-005,37.2,-118.3,1200\n');
    process.env['DSA110_ANTENNAS_CSV'] = f;
    expect(defaultStationsPath()).toBe(f);
    const s = loadStations();
    expect(s.names).toEqual(['DSA-005']);
    expect(s.numbers[0]).toBe(5);
  });
  it('refuses broken files with the file and line named', () => {
    const head = ',,,,\n,,,,\n,,,,\n,,,,\n,,,,\n,Station Number,Latitude,Longitude,Elevation (meters)\n';
    const err = (() => {
      try {
        parseStations(head + ',DSA-001,abc,-118.3,1200\n', 'f.csv');
      } catch (e) {
        return e as InputError;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(InputError);
    expect(err!.oneLine()).toBe('f.csv:7: bad latitude "abc" for DSA-001');
    expect(() => parseStations(head + ',ANT1,37,-118.3,1200\n', 'f.csv')).toThrow(InputError);
    expect(() => parseStations(head, 'f.csv')).toThrow(/no stations/);
    expect(() => parseStations('a,b\n1,2\n', 'g.csv')).toThrow(/no header row/);
    expect(() => loadStations('/nonexistent/ants.csv')).toThrow(/cannot read the station coordinate file \(ENOENT\)/);
  });
});
