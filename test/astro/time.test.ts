import { describe, expect, it } from 'vitest';
import { DEG, DSA110_SITE, TT_MINUS_UTC } from '../../src/astro/constants.js';
import {
  gastRad,
  gmstRad,
  isoToJd,
  jdToIso,
  jdToMjd,
  jdToMjdSeconds,
  lastRad,
  mjdSecondsToJd,
  mjdToJd,
  taiMinusUtc,
  utcToTt,
} from '../../src/astro/time.js';

/** Difference of two angles in degrees, wrapped to (−180, 180], in arcseconds. */
const dArcsec = (aDeg: number, bDeg: number): number => ((((aDeg - bDeg + 540) % 360) + 360) % 360 - 180) * 3600;

describe('ISO ↔ JD', () => {
  it('parses known epochs', () => {
    expect(isoToJd('2000-01-01T12:00:00')).toBe(2451545.0);
    expect(isoToJd('2000-01-01T12:00:00Z')).toBe(2451545.0);
    expect(isoToJd('1970-01-01T00:00:00')).toBe(2440587.5);
    // MJD 60950 = 2025-10-02 (astropy Time('2025-10-02').mjd).
    expect(jdToMjd(isoToJd('2025-10-02T00:00:00'))).toBe(60950);
    expect(jdToMjd(isoToJd('2025-10-02T00:12:00'))).toBeCloseTo(60950 + 12 / 1440, 9);
    expect(isoToJd('2025-10-02 06:00:00.250')).toBeCloseTo(2460950.75 + 0.25 / 86400, 9);
    expect(isoToJd('2025-10-02T06:00')).toBe(2460950.75);
  });
  it('refuses malformed or non-UTC times', () => {
    expect(() => isoToJd('2025-13-02T00:00:00')).toThrow(/2025-13-02/);
    expect(() => isoToJd('2025-02-30T00:00:00')).toThrow(/calendar/);
    expect(() => isoToJd('2025-10-02T00:00:00+02:00')).toThrow();
    expect(() => isoToJd('yesterday')).toThrow();
  });
  it('formats with rounding and carry', () => {
    expect(jdToIso(2451545.0)).toBe('2000-01-01T12:00:00.000');
    expect(jdToIso(isoToJd('2025-10-02T00:12:00'), 0)).toBe('2025-10-02T00:12:00');
    expect(jdToIso(isoToJd('2025-12-31T23:59:59.9996'), 3)).toBe('2026-01-01T00:00:00.000');
    expect(jdToIso(isoToJd('2025-10-21T14:23:19.123'), 3)).toBe('2025-10-21T14:23:19.123');
    for (const s of ['2018-03-21T01:26:33.500', '1999-12-31T23:59:59.000', '2031-06-15T08:00:00.125']) {
      expect(jdToIso(isoToJd(s))).toBe(s);
    }
  });
  it('MJD and MS TIME (MJD seconds) round-trip', () => {
    const jd = isoToJd('2025-10-02T00:12:00');
    expect(jdToMjdSeconds(jd)).toBeCloseTo(60950 * 86400 + 720, 3);
    expect(mjdSecondsToJd(jdToMjdSeconds(jd))).toBeCloseTo(jd, 10);
    expect(mjdToJd(jdToMjd(jd))).toBe(jd);
  });
});

describe('time scales', () => {
  it('TAI − UTC from the leap-second table', () => {
    expect(taiMinusUtc(isoToJd('2025-10-02T00:00:00'))).toBe(37);
    expect(taiMinusUtc(isoToJd('2016-12-31T23:59:59'))).toBe(36);
    expect(taiMinusUtc(isoToJd('2017-01-01T00:00:00'))).toBe(37);
    expect(taiMinusUtc(isoToJd('2000-01-01T00:00:00'))).toBe(32);
    expect(taiMinusUtc(isoToJd('1972-07-01T00:00:00'))).toBe(11);
  });
  it('TT = UTC + 69.184 s in 2025', () => {
    const jd = isoToJd('2025-10-02T00:12:00');
    expect((utcToTt(jd) - jd) * 86400).toBeCloseTo(TT_MINUS_UTC, 4);
    expect(TT_MINUS_UTC).toBeCloseTo(69.184, 12);
  });
});

// astropy 5.2.1: Time(utc, location=(−118.2817°, 37.2314°, 1222 m)), delta_ut1_utc = 0,
// .sidereal_time('apparent') / ('mean') / ('apparent', longitude=0)  [degrees].
const ASTROPY_SIDEREAL: [string, number, number, number][] = [
  ['2025-10-21T14:23:19', 127.8332928458406, 127.83261932407261, 246.1149928458406],
  ['2025-10-02T00:12:00', 255.69430390674137, 255.69344566663503, 13.976003906741333],
  ['2000-01-01T12:00:00', 162.17537236053676, 162.17892243054146, 280.45707236053676],
  ['2018-03-21T01:26:33', 81.87710906391824, 81.88041440051781, 200.15880906391826],
  ['2030-06-15T08:00:00.5', 265.3766143951103, 265.37240462353526, 23.658314395110285],
];
// ERFA gmst06(2451545.0, 0, 2451545.0, 64.184/86400) (UT1 = UTC, TT = UTC + 64.184 s), radians.
const ERFA_GMST06: [string, number][] = [['2000-01-01T12:00:00', 4.89496128360561]];

describe('sidereal time', () => {
  it.each(ASTROPY_SIDEREAL)('%s matches astropy (LAST, LMST, GAST) to < 5 mas', (iso, last, lmst, gast) => {
    const jd = isoToJd(iso);
    expect(Math.abs(dArcsec(lastRad(jd, DSA110_SITE.lonRad) / DEG, last))).toBeLessThan(0.005);
    expect(Math.abs(dArcsec((gmstRad(jd) + DSA110_SITE.lonRad) / DEG, lmst))).toBeLessThan(0.005);
    expect(Math.abs(dArcsec(gastRad(jd) / DEG, gast))).toBeLessThan(0.005);
  });
  it('GMST at J2000.0 (ERFA gmst06)', () => {
    for (const [iso, g] of ERFA_GMST06) expect(Math.abs(dArcsec(gmstRad(isoToJd(iso)) / DEG, g / DEG))).toBeLessThan(0.001);
  });
  it('reproduces the brief table LSTs (astropy defaults, UT1 − UTC = −0.0192085 s) to < 0.01″', () => {
    // The table was made with astropy's bundled IERS-B values extrapolated to 2025.
    const dut1 = -0.0192085 / 86400;
    expect(Math.abs(dArcsec(lastRad(isoToJd('2025-10-21T14:23:19') + dut1, DSA110_SITE.lonRad) / DEG, 127.833213))).toBeLessThan(0.01);
    expect(Math.abs(dArcsec(lastRad(isoToJd('2025-10-02T00:12:00') + dut1, DSA110_SITE.lonRad) / DEG, 255.694224))).toBeLessThan(0.01);
  });
});
