import { describe, expect, it } from 'vitest';
import { ARCSEC, C_LIGHT, DEG, DSA110_SITE } from '../../src/astro/constants.js';
import { meridianIcrs, sourceHaDec } from '../../src/astro/frames.js';
import { isoToJd } from '../../src/astro/time.js';
import {
  angularSeparation,
  lmn,
  lmToRaDec,
  uvwFromHaDec,
  uvwFromLocalHaDec,
  uvwIcrs,
  uvwIcrsTimes,
  uvwMeridian,
} from '../../src/astro/uvw.js';

// ECEF (m) of six DSA-110 stations: astropy EarthLocation.from_geodetic(lon, lat, h, 'WGS84')
// of the rows in DSA110_Station_Coordinates.csv (DSA-117 with h = 1182.6 m).
const ECEF: Record<string, [number, number, number]> = {
  'DSA-001': [-2409761.2293577883, -4478100.498539612, 3838761.5183037138],
  'DSA-050': [-2409416.812960081, -4478285.819257405, 3838761.5183037138],
  'DSA-100': [-2409464.903488462, -4477968.5562953185, 3839099.148529821],
  'DSA-117': [-2410681.0830681263, -4477745.802429632, 3838598.8215907053],
  'DSA-116': [-2410521.9020279557, -4477836.382448174, 3838585.7231140467],
  'DSA-024': [-2409594.08765616, -4478190.437025781, 3838761.5183037138],
};
const NAMES = Object.keys(ECEF);
const ANT = new Float64Array(NAMES.flatMap((n) => ECEF[n]!));
const BLS: [string, string][] = [
  ['DSA-001', 'DSA-050'],
  ['DSA-001', 'DSA-117'],
  ['DSA-050', 'DSA-100'],
  ['DSA-024', 'DSA-116'],
  ['DSA-117', 'DSA-116'],
];
const A1 = Int32Array.from(BLS.map(([a]) => NAMES.indexOf(a)));
const A2 = Int32Array.from(BLS.map(([, b]) => NAMES.indexOf(b)));

// pyuvdata-style "ICRS uvw" computed by hand with astropy 5.2.1 (UT1 = UTC, polar motion 0):
//  - (ha, dec_app) = ICRS(ra, dec).transform_to(HADec(obstime, location=DSA-110 site));
//  - apparent axes in ITRF from the Greenwich hour angle H = ha − lon:
//      u = (sin H, cos H, 0), v = (−sin δ cos H, sin δ sin H, cos δ), w = (cos δ cos H, −cos δ sin H, sin δ);
//  - frame position angle pa = PA, in those axes, of the HADec image of the point 1e-6 rad north of
//    (ra, dec) in ICRS;  v_icrs = cos pa·v + sin pa·u, u_icrs = cos pa·u − sin pa·v;
//  - per baseline b = x(ant2) − x(ant1): [b·u_icrs, b·v_icrs, b·w, b·u, b·v]   (metres).
const CASES: { utc: string; ra: number; dec: number; pa: number; rows: number[][] }[] = [
  {
    utc: '2025-10-02T00:09:30', ra: 255.56214518358664, dec: 54.60644480054484, pa: -0.004227038896674365,
    rows: [
      [391.0674255093785, -5.148676696374712, 2.486621578816938, 391.08569533784976, -3.4955784024419487],
      [-980.1775018807411, -182.06004214348832, -67.20569278285133, -979.399172469755, -186.20165172204543],
      [-188.13300358772727, 407.31125534947336, 125.16457102393015, -189.85303821552608, 406.5123733093959],
      [-986.9776789411999, -193.09792220973506, -75.40792302812781, -986.1526313685738, -197.2681777041412],
      [182.9827510138216, -13.539566858652789, -6.9933082509250895, 183.03834836668457, -12.76597299473789],
    ],
  },
  {
    utc: '2025-10-02T00:14:30', ra: 255.56214518358664, dec: 54.60644480054484, pa: -0.004227047790306018,
    rows: [
      [391.0971550842601, 1.8230853906304416, -2.472872376406413, 391.0859547944539, 3.4762505452986314],
      [-977.5500441198259, -199.50682135167645, -54.80272581139369, -976.6979883765373, -203.6371774154922],
      [-193.76094355886323, 403.90049643102554, 127.60776366216255, -195.4665141242664, 403.0778536736517],
      [-984.2558566522083, -210.6646484417133, -62.919914876356174, -983.3565764716145, -214.8232505276578],
      [183.09162533131763, -10.276154448192523, -9.315083622379122, 183.13342726590005, -9.502127896003067],
    ],
  },
  {
    utc: '2025-10-21T14:23:19', ra: 202.784533, dec: 30.509155, pa: -0.0011419627769670194,
    rows: [
      [99.3813866927144, -191.37129032393366, 326.29249558014544, 99.59986073476394, -191.25767572264843],
      [-368.15098790986946, 322.4599822668874, -871.1456877114804, -368.51898507768743, 322.0393573771461],
      [199.54968283326852, 418.319009975113, -46.387342966496995, 199.071848084547, 418.54661547505043],
      [-374.062590671774, 313.8873994926049, -882.4114572267191, -374.42079441669097, 313.4600293636865],
      [42.31403248476958, -101.4445516227551, 147.08310236235386, 42.42985077105291, -101.3961644373698],
    ],
  },
  {
    utc: '2019-07-04T20:00:00', ra: 350.85, dec: 58.815, pa: -0.0004804841782728784,
    rows: [
      [-153.80228808419474, 307.9857430590842, -185.62344061444276, -153.95025260138848, 307.91180794435036],
      [498.15182694630397, -812.6421242659602, 299.7798099596601, 498.54223111166675, -812.4026763986155],
      [-160.071880912843, -63.80239807204242, 432.7457712724521, -160.0412063937124, -63.8793027103764],
      [504.77335883112625, -823.2255769888731, 290.86355349368114, 505.16884741353806, -822.9829463586699],
      [-68.01446236966264, 138.88168703327872, -98.99910764726519, -68.08118496928554, 138.84899113001057],
    ],
  },
];

describe('uvwFromHaDec', () => {
  it('matches the textbook cases', () => {
    // Source on the Greenwich meridian at dec 0: w along +x, u along +y (east), v along +z.
    expect(Array.from(uvwFromHaDec(10, 20, 30, 0, 0))).toEqual([20, 30, 10]);
    // At the pole (dec 90°) w = bz and (u, v) rotate with hour angle.
    const r = uvwFromHaDec(1, 0, 5, Math.PI / 2, Math.PI / 2);
    expect(r[2]).toBeCloseTo(5, 12);
    expect(Math.hypot(r[0]!, r[1]!)).toBeCloseTo(1, 12);
  });
  it('local hour angle form: H = HA_local − lon, writing at an offset', () => {
    const out = new Float64Array(6);
    uvwFromLocalHaDec(3, -4, 5, 0.3, 0.7, DSA110_SITE.lonRad, out, 3);
    const ref = uvwFromHaDec(3, -4, 5, 0.3 - DSA110_SITE.lonRad, 0.7);
    expect(Array.from(out.subarray(3))).toEqual(Array.from(ref));
    expect(out[0]).toBe(0);
  });
  it('w is the geometric delay b·ŝ for the direction (HA, dec) and |uvw| = |b|', () => {
    const b = [ECEF['DSA-117']![0] - ECEF['DSA-001']![0], ECEF['DSA-117']![1] - ECEF['DSA-001']![1], ECEF['DSA-117']![2] - ECEF['DSA-001']![2]];
    const ha = 0.2;
    const dec = 0.9;
    const hg = ha - DSA110_SITE.lonRad;
    // Direction at local HA in ITRF: longitude of the sub-source point = lon − HA.
    const s = [Math.cos(dec) * Math.cos(DSA110_SITE.lonRad - ha), Math.cos(dec) * Math.sin(DSA110_SITE.lonRad - ha), Math.sin(dec)];
    const r = uvwFromHaDec(b[0]!, b[1]!, b[2]!, hg, dec);
    expect(r[2]).toBeCloseTo(b[0]! * s[0]! + b[1]! * s[1]! + b[2]! * s[2]!, 9);
    expect(Math.hypot(r[0]!, r[1]!, r[2]!)).toBeCloseTo(Math.hypot(b[0]!, b[1]!, b[2]!), 9);
  });
});

describe('uvwMeridian', () => {
  it('equals uvwFromHaDec at HA = 0 and is east-positive for an east baseline', () => {
    const out = new Float64Array(3 * BLS.length);
    const dec = 54.5734 * DEG;
    uvwMeridian(out, ANT, A1, A2, dec);
    for (let k = 0; k < BLS.length; k++) {
      const i = A1[k]!, j = A2[k]!;
      const r = uvwFromLocalHaDec(ANT[3 * j]! - ANT[3 * i]!, ANT[3 * j + 1]! - ANT[3 * i + 1]!, ANT[3 * j + 2]! - ANT[3 * i + 2]!, 0, dec, DSA110_SITE.lonRad);
      for (let c = 0; c < 3; c++) expect(out[3 * k + c]).toBeCloseTo(r[c]!, 9);
    }
    // DSA-001 → DSA-050 runs east along the E–W arm (same latitude): u ≈ +391 m, v ≈ w ≈ small.
    expect(out[0]).toBeGreaterThan(390);
    expect(Math.abs(out[1]!)).toBeLessThan(5);
  });
  it('refuses bad antenna indices and short outputs', () => {
    expect(() => uvwMeridian(new Float64Array(3), ANT, Int32Array.of(0), Int32Array.of(99), 0)).toThrow(/99/);
    expect(() => uvwMeridian(new Float64Array(2), ANT, Int32Array.of(0), Int32Array.of(1), 0)).toThrow(/needs 3/);
  });
});

describe('uvwIcrs against a pyuvdata-style astropy computation', () => {
  it.each(CASES)('$utc: ICRS uvw within 1 mm on every baseline', (c) => {
    const out = new Float64Array(3 * BLS.length);
    uvwIcrs(out, ANT, A1, A2, isoToJd(c.utc), c.ra * DEG, c.dec * DEG);
    for (let k = 0; k < BLS.length; k++) {
      for (let q = 0; q < 3; q++) expect(Math.abs(out[3 * k + q]! - c.rows[k]![q]!)).toBeLessThan(1e-3);
    }
  });
  it.each(CASES)('$utc: ICRS uvw = apparent uvw rotated about w by the frame position angle', (c) => {
    const jd = isoToJd(c.utc);
    const out = new Float64Array(3 * BLS.length);
    uvwIcrs(out, ANT, A1, A2, jd, c.ra * DEG, c.dec * DEG);
    const [ha, decApp] = sourceHaDec(c.ra * DEG, c.dec * DEG, jd);
    for (let k = 0; k < BLS.length; k++) {
      const i = A1[k]!, j = A2[k]!;
      const app = uvwFromLocalHaDec(ANT[3 * j]! - ANT[3 * i]!, ANT[3 * j + 1]! - ANT[3 * i + 1]!, ANT[3 * j + 2]! - ANT[3 * i + 2]!, ha, decApp, DSA110_SITE.lonRad);
      // Apparent (u, v) match astropy's too.
      expect(Math.abs(app[0]! - c.rows[k]![3]!)).toBeLessThan(1e-3);
      expect(Math.abs(app[1]! - c.rows[k]![4]!)).toBeLessThan(1e-3);
      // Same w (same direction), same |uv|, and the uv rotation angle is the frame PA.
      expect(Math.abs(out[3 * k + 2]! - app[2]!)).toBeLessThan(1e-6);
      expect(Math.hypot(out[3 * k]!, out[3 * k + 1]!)).toBeCloseTo(Math.hypot(app[0]!, app[1]!), 6);
      const rot = Math.atan2(app[0]!, app[1]!) - Math.atan2(out[3 * k]!, out[3 * k + 1]!);
      // (u, v)_icrs = R(−pa)(u, v)_app: the angle measured from v toward u differs by pa.
      expect(Math.abs(rot - c.pa)).toBeLessThan(1e-6);
    }
  });
  it('a source at the phase centre has zero phase; a source off-centre has the analytic phase', () => {
    const jd = isoToJd('2025-10-02T00:12:00');
    const [ra0, dec0] = meridianIcrs(jd, 54.5734 * DEG);
    const out = new Float64Array(3 * BLS.length);
    uvwIcrs(out, ANT, A1, A2, jd, ra0, dec0);
    const [l, m, n] = lmn(ra0, dec0, ra0, dec0);
    expect(Math.abs(l) + Math.abs(m) + Math.abs(n - 1)).toBeLessThan(1e-15);
    // Fringe-stopped data at the meridian and ICRS uvw of the meridian point at mid-time share w:
    // the rephasing V·exp(2πi(w_old − w_new)/λ) is the identity there.
    const mer = new Float64Array(3 * BLS.length);
    uvwMeridian(mer, ANT, A1, A2, 54.5734 * DEG);
    const lambda = C_LIGHT / 1.4e9;
    for (let k = 0; k < BLS.length; k++) {
      expect(Math.abs(((mer[3 * k + 2]! - out[3 * k + 2]!) / lambda) * 2 * Math.PI)).toBeLessThan(1e-3);
    }
  });
  it('uvwIcrsTimes lays out (time, baseline, 3) identical to per-time calls', () => {
    const jds = [isoToJd('2025-10-02T00:09:30'), isoToJd('2025-10-02T00:14:30')];
    const all = new Float64Array(3 * BLS.length * 2);
    uvwIcrsTimes(all, ANT, A1, A2, jds, CASES[0]!.ra * DEG, CASES[0]!.dec * DEG);
    for (let t = 0; t < 2; t++) {
      const one = new Float64Array(3 * BLS.length);
      uvwIcrs(one, ANT, A1, A2, jds[t]!, CASES[0]!.ra * DEG, CASES[0]!.dec * DEG);
      for (let q = 0; q < one.length; q++) expect(all[t * one.length + q]).toBeCloseTo(one[q]!, 9);
    }
  });
});

describe('direction cosines and separations', () => {
  it('lmn: east is +l, north is +m, unit norm, inverse', () => {
    const [l, m, n] = lmn(10.01 * DEG, 40 * DEG, 10 * DEG, 40 * DEG);
    expect(l).toBeCloseTo(Math.cos(40 * DEG) * Math.sin(0.01 * DEG), 12);
    expect(l).toBeGreaterThan(0);
    expect(l * l + m * m + n * n).toBeCloseTo(1, 14);
    const [, m2] = lmn(10 * DEG, 40.5 * DEG, 10 * DEG, 40 * DEG);
    expect(m2).toBeCloseTo(Math.sin(0.5 * DEG), 12);
    const [r, d] = lmToRaDec(0.03, -0.02, 200 * DEG, 60 * DEG);
    const [l3, m3] = lmn(r, d, 200 * DEG, 60 * DEG);
    expect(l3).toBeCloseTo(0.03, 13);
    expect(m3).toBeCloseTo(-0.02, 13);
  });
  it('angularSeparation: known separations, tiny and antipodal', () => {
    expect(angularSeparation(0, 0, Math.PI / 2, 0)).toBeCloseTo(Math.PI / 2, 14);
    expect(angularSeparation(1, 0.5, 1, 0.5 + 1 * ARCSEC) / ARCSEC).toBeCloseTo(1, 9);
    expect(angularSeparation(0, 0.3, Math.PI, -0.3)).toBeCloseTo(Math.PI, 12);
    // 3C286 to 3C48 against the haversine formula (an independent form).
    const a = [202.784533 * DEG, 30.509155 * DEG], b = [24.422081 * DEG, 33.159759 * DEG];
    const hav = Math.sin((b[1]! - a[1]!) / 2) ** 2 + Math.cos(a[1]!) * Math.cos(b[1]!) * Math.sin((b[0]! - a[0]!) / 2) ** 2;
    expect(angularSeparation(a[0]!, a[1]!, b[0]!, b[1]!)).toBeCloseTo(2 * Math.asin(Math.sqrt(hav)), 12);
  });
});
