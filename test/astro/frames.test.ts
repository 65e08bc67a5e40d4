import { describe, expect, it } from 'vitest';
import { ARCSEC, DEG, DSA110_SITE } from '../../src/astro/constants.js';
import {
  apparentToIcrs,
  bpnMatrix,
  hadecToIcrs,
  icrsToApparent,
  meridianIcrs,
  sourceHaDec,
  type Eop,
} from '../../src/astro/frames.js';
import { meanObliquity06, nutationIau2000b } from '../../src/astro/nutation.js';
import { pbMatrix, precessDateToJ2000, precessJ2000ToDate } from '../../src/astro/precession.js';
import { isoToJd, lastRad, utcToTt } from '../../src/astro/time.js';
import { angularSeparation } from '../../src/astro/uvw.js';

/** Angle difference in degrees, wrapped, as arcseconds. */
const dArcsec = (aDeg: number, bDeg: number): number => ((((aDeg - bDeg + 540) % 360) + 360) % 360 - 180) * 3600;

/** On-sky separation in arcseconds between (ra, dec) in radians and (raDeg, decDeg). */
const sepArcsec = (ra: number, dec: number, raDeg: number, decDeg: number): number =>
  angularSeparation(ra, dec, raDeg * DEG, decDeg * DEG) / ARCSEC;

// --- Reference values -------------------------------------------------------------------------
// All computed by hand with astropy 5.2.1 / pyerfa 2.0 (Debian python3-astropy), site
// EarthLocation.from_geodetic(−118.2817°, 37.2314°, 1222 m), Time(utc) with delta_ut1_utc = 0
// and polar motion forced to zero (astropy.coordinates get_polar_motion patched to return 0):
//  MERIDIAN: [utc, dec_app°, ra_icrs°, dec_icrs°] =
//     SkyCoord(HADec(ha=0, dec, obstime, location)).transform_to(ICRS())
//  HADEC:    [utc, name, ra°, dec°, ha°, dec_app°] = ICRS(ra, dec).transform_to(HADec(obstime, location))
//  TETE_GEO: [utc, name, ra°, dec°, ra_tete°, dec_tete°] = ICRS → TETE(obstime) (geocentric)
//  ERFA_NUT: [utc, dpsi, deps, pnm06a row-major] = erfa.nut00b(tt), erfa.pnm06a(tt) (TT = UTC + 69.184 s / 64.184 s in 2000)
const MERIDIAN: [string, number, number, number][] = [
  ['2025-10-21T14:23:19', 55.0, 127.33748873755563, 55.089003410067825],
  ['2025-10-02T00:12:00', 54.5734, 255.56214518358664, 54.60644480054484],
  ['2025-01-15T03:00:00', -20.0, 41.25032583695889, -20.10350297818406],
  ['2025-06-30T22:45:10', 85.0, 140.93768074552796, 85.10616860392942],
  ['2018-03-21T01:26:33', 16.0, 81.61923172774175, 15.987957600368148],
  ['2031-12-31T23:59:59', 71.2, 341.6848441477939, 71.02406810932034],
];
const HADEC: [string, string, number, number, number, number][] = [
  ['2025-10-21T14:23:19', '3C286', 202.784533, 30.509155, -75.24482508308206, 30.376873502663795],
  ['2025-10-21T14:23:19', '3C48', 24.422081, 33.159759, 103.03582318118318, 33.29373667471118],
  ['2025-10-21T14:23:19', 'CasA', 350.85, 58.815, 136.6856811929247, 58.96081152587726],
  ['2025-10-21T14:23:19', 'J1008+0730', 152.0, 7.5, -24.504361013215455, 7.375269467595724],
  ['2025-10-21T14:23:19', 'NCP-ish', 10.0, 89.5, 113.02577925596324, 89.64306026571306],
  ['2025-03-03T09:10:11', '3C286', 202.784533, 30.509155, -22.41621416643051, 30.375249945383008],
  ['2025-03-03T09:10:11', '3C48', 24.422081, 33.159759, 155.88821047120004, 33.28861133718256],
  ['2025-03-03T09:10:11', 'CasA', 350.85, 58.815, -170.45667417856234, 58.9527809023671],
  ['2025-03-03T09:10:11', 'J1008+0730', 152.0, 7.5, 28.32806419689364, 7.375179192403061],
  ['2025-03-03T09:10:11', 'NCP-ish', 10.0, 89.5, 167.56454138071697, 89.64071375319966],
  ['2019-07-04T20:00:00', '3C286', 202.784533, 30.509155, -98.75146720555072, 30.41423680632176],
  ['2019-07-04T20:00:00', '3C48', 24.422081, 33.159759, 79.55920217563167, 33.25401733994394],
  ['2019-07-04T20:00:00', 'CasA', 350.85, 58.815, 113.18196558462834, 58.916488852685255],
  ['2019-07-04T20:00:00', 'J1008+0730', 152.0, 7.5, -47.993519681219915, 7.406155645554999],
  ['2019-07-04T20:00:00', 'NCP-ish', 10.0, 89.5, 91.178762037961, 89.59902596216627],
];
const TETE_GEO: [string, string, number, number, number, number][] = [
  ['2025-10-21T14:23:19', '3C286', 202.784533, 30.509155, 203.07809700932168, 30.376908159662616],
  ['2025-10-21T14:23:19', '3C48', 24.422081, 33.159759, 24.797488793181888, 33.29369877358843],
  ['2025-10-21T14:23:19', 'CasA', 350.85, 58.815, 351.14771166531114, 58.960769868727006],
  ['2025-03-03T09:10:11', '3C286', 202.784533, 30.509155, 203.08119955770866, 30.37526361210747],
  ['2025-03-03T09:10:11', '3C48', 24.422081, 33.159759, 24.7769282532337, 33.2885954454221],
  ['2025-03-03T09:10:11', 'CasA', 350.85, 58.815, 351.1218710348979, 58.95279096971166],
];
const ERFA_NUT: [string, number, number, number[]][] = [
  ['2025-10-21T14:23:19', 1.2816720328434466e-05, 4.469402587384432e-05, [0.9999801271834997, -0.005782229473362253, -0.0025121823956234996, 0.0057821173520819615, 0.999983282073346, -5.1891673712445296e-05, 0.00251244044670763, 3.736490905736911e-05, 0.9999968431184496]],
  ['2025-10-02T00:12:00', 1.6328147580233146e-05, 4.5503540970534205e-05, [0.9999801874384723, -0.005773457956921594, -0.002508368740342218, 0.005773343975678906, 0.9999833327232359, -5.2678919031434734e-05, 0.0025086310721904406, 3.8196199771300954e-05, 0.9999968526506442]],
  ['2000-01-01T12:00:00', -6.754258698513216e-05, -2.797099730507557e-05, [0.9999999977211381, 6.189938499979681e-05, 2.6947905424166223e-05, -6.190013962362177e-05, 0.9999999976920988, 2.800312710382613e-05, -2.694617198562732e-05, -2.8004795119163095e-05, 0.9999999992448176]],
];

describe('nutation and precession', () => {
  it.each(ERFA_NUT)('%s: IAU 2000B nutation matches ERFA nut00b to 0.02 mas', (iso, dpsi, deps) => {
    const n = nutationIau2000b(utcToTt(isoToJd(iso)));
    // Our values carry the IAU 2006 J2 factors (≈ 1e-6 relative): a few µas.
    expect(Math.abs(n.dpsi - dpsi) / ARCSEC).toBeLessThan(2e-5);
    expect(Math.abs(n.deps - deps) / ARCSEC).toBeLessThan(2e-5);
  });
  it.each(ERFA_NUT)('%s: bias-precession-nutation matrix matches ERFA pnm06a to 1 mas', (iso, _p, _e, m) => {
    const b = bpnMatrix(utcToTt(isoToJd(iso)));
    for (let i = 0; i < 9; i++) expect(Math.abs(b[i]! - m[i]!)).toBeLessThan(1e-3 * ARCSEC);
  });
  it('mean obliquity at J2000 is 84381.406″', () => {
    expect(meanObliquity06(2451545.0) / ARCSEC).toBeCloseTo(84381.406, 6);
  });
  it('bias-precession at J2000 is the frame bias only (≈ 23 mas), and precession is ~50″/yr', () => {
    const [ra, dec] = precessJ2000ToDate(0, 0, 2451545.0);
    expect(Math.hypot(ra > Math.PI ? ra - 2 * Math.PI : ra, dec) / ARCSEC).toBeLessThan(0.03);
    // The vernal equinox point moves ≈ 5028.8″/century in ecliptic longitude: after 25 years
    // a J2000 source at (0, 0) has mean-of-date RA ≈ 25·50.29″·cos ε.
    const [ra25] = precessJ2000ToDate(0, 0, 2451545.0 + 25 * 365.25);
    expect(ra25 / ARCSEC).toBeCloseTo(25 * 5028.8e-2 * Math.cos(23.4393 * DEG), -1);
    const [r2, d2] = precessDateToJ2000(...precessJ2000ToDate(1.2, 0.7, 2460950.5), 2460950.5);
    expect(Math.abs(r2 - 1.2) + Math.abs(d2 - 0.7)).toBeLessThan(1e-14);
    // pbMatrix is a rotation.
    const m = pbMatrix(2460950.5);
    const det =
      m[0]! * (m[4]! * m[8]! - m[5]! * m[7]!) - m[1]! * (m[3]! * m[8]! - m[5]! * m[6]!) + m[2]! * (m[3]! * m[7]! - m[4]! * m[6]!);
    expect(det).toBeCloseTo(1, 14);
  });
});

describe('the brief table (astropy HADec → ICRS with astropy default EOP)', () => {
  // The table in the brief was produced by astropy with its bundled IERS-B values extrapolated
  // to 2025: UT1 − UTC = −0.0192085 s, x_p = 1.696848e-7 rad, y_p = 1.405960e-6 rad (0.29″).
  // (Found by re-running astropy: HADec(ha=0, dec, obstime, location).transform_to(ICRS()).)
  const eop: Eop = { dut1S: -0.0192085, xpRad: 1.696847883883376e-7, ypRad: 1.4059596752176543e-6 };
  const TABLE: [string, number, number, number, number][] = [
    ['2025-10-21T14:23:19', 55.0, 127.833213, 127.337341, 55.089069],
    ['2025-10-02T00:12:00', 54.5734, 255.694224, 255.562, 54.606511],
  ];
  it.each(TABLE)('%s dec %f: LST and meridian ICRS within 0.01″ (table rounding 0.002″)', (iso, dec, lst, ra, decI) => {
    const jd = isoToJd(iso);
    expect(Math.abs(dArcsec(lastRad(jd + eop.dut1S! / 86400, DSA110_SITE.lonRad) / DEG, lst))).toBeLessThan(0.01);
    const [r, d] = meridianIcrs(jd, dec * DEG, DSA110_SITE, eop);
    expect(Math.abs(dArcsec(r / DEG, ra))).toBeLessThan(0.01);
    expect(Math.abs(dArcsec(d / DEG, decI))).toBeLessThan(0.01);
  });
  it.each(TABLE)('%s dec %f: without EOP (UT1 = UTC, no polar motion) still within 0.5″', (iso, dec, _lst, ra, decI) => {
    const [r, d] = meridianIcrs(isoToJd(iso), dec * DEG);
    expect(sepArcsec(r, d, ra, decI)).toBeLessThan(0.5);
  });
});

describe('ICRS ↔ apparent against astropy (UT1 = UTC, no polar motion)', () => {
  it.each(MERIDIAN)('meridian point %s dec %f → ICRS within 0.005″', (iso, dec, ra, decI) => {
    const [r, d] = meridianIcrs(isoToJd(iso), dec * DEG);
    expect(sepArcsec(r, d, ra, decI)).toBeLessThan(0.005);
  });
  it.each(HADEC)('%s %s → HADec within 0.005″', (iso, _name, ra, dec, ha, decApp) => {
    const [h, d] = sourceHaDec(ra * DEG, dec * DEG, isoToJd(iso));
    expect(Math.abs(dArcsec(h / DEG, ha)) * Math.cos(decApp * DEG)).toBeLessThan(0.005);
    expect(Math.abs(dArcsec(d / DEG, decApp))).toBeLessThan(0.005);
    // Without polar motion, HA = LAST − RA_apparent and dec = dec_apparent (up to s′ ≈ 12 µas).
    const jd = isoToJd(iso);
    const [raApp, decApp2] = icrsToApparent(ra * DEG, dec * DEG, jd);
    expect(Math.abs(dArcsec((lastRad(jd, DSA110_SITE.lonRad) - raApp) / DEG, h / DEG))).toBeLessThan(1e-4);
    expect(Math.abs(decApp2 - d)).toBeLessThan(1e-12);
    // And back.
    const [r2, d2] = hadecToIcrs(h, d, jd);
    expect(sepArcsec(r2, d2, ra, dec)).toBeLessThan(1e-6);
  });
  it.each(TETE_GEO)('%s %s → geocentric TETE within 0.005″, and back', (iso, _name, ra, dec, raT, decT) => {
    const jd = isoToJd(iso);
    const [a, d] = icrsToApparent(ra * DEG, dec * DEG, jd, null);
    expect(sepArcsec(a, d, raT, decT)).toBeLessThan(0.005);
    const [r2, d2] = apparentToIcrs(a, d, jd, null);
    expect(sepArcsec(r2, d2, ra, dec)).toBeLessThan(1e-6);
  });
  it('aberration matters: geocentric and topocentric differ by the diurnal term (≤ 0.32″)', () => {
    const jd = isoToJd('2025-10-21T14:23:19');
    const [a1, d1] = icrsToApparent(202.784533 * DEG, 30.509155 * DEG, jd, null);
    const [a2, d2] = icrsToApparent(202.784533 * DEG, 30.509155 * DEG, jd);
    const s = angularSeparation(a1, d1, a2, d2) / ARCSEC;
    expect(s).toBeGreaterThan(0.01);
    expect(s).toBeLessThan(0.32);
  });
  it('meridian point at transit: the source at meridianIcrs has HA = 0 and the input dec', () => {
    const jd = isoToJd('2025-10-02T00:12:00');
    const [r, d] = meridianIcrs(jd, 54.5734 * DEG);
    const [h, dd] = sourceHaDec(r, d, jd);
    expect(Math.abs(h) / ARCSEC).toBeLessThan(1e-6);
    expect(Math.abs(dd - 54.5734 * DEG) / ARCSEC).toBeLessThan(1e-6);
  });
});
