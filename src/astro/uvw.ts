/**
 * Baseline (u, v, w) coordinates and direction cosines.
 *
 * Conventions (as pyuvdata and the Measurement Set):
 * - baseline b = x(ant2) − x(ant1), antenna positions in ITRF/ECEF metres;
 * - with it, a point source of flux S at direction cosines (l, m, n) relative to the phase
 *   centre has visibility V = S·exp(+2πi(u·l + v·m + w·(n − 1))) (u, v, w in wavelengths);
 * - u points east, v north, w toward the phase centre.
 * ITRF is treated as the terrestrial frame of date (polar motion ignored unless an Eop is given
 * to uvwIcrs): hour angles are measured in the ITRF equatorial frame, as astropy's HADec does.
 */
import { DSA110_SITE, type Site } from './constants.js';
import { gcrsToItrfMatrix, icrsToObservedGcrs, type Eop } from './frames.js';

/**
 * (u, v, w) in metres of the ECEF baseline (bx, by, bz) for the direction with GREENWICH hour
 * angle `haGreenwichRad` and declination `decRad` (both in the ITRF equatorial frame).
 *
 * The Greenwich hour angle is H = GAST − RA_apparent = HA_local − lon (east longitude
 * positive): a source on the site's meridian (HA_local = 0) has H = −lon. Use
 * uvwFromLocalHaDec to pass a local hour angle and the site longitude instead.
 *
 * Writes out[offset..offset+2] (allocating a Float64Array(3) if out is omitted) and returns out.
 */
export function uvwFromHaDec(
  bx: number,
  by: number,
  bz: number,
  haGreenwichRad: number,
  decRad: number,
  out: Float64Array = new Float64Array(3),
  offset = 0,
): Float64Array {
  const sh = Math.sin(haGreenwichRad);
  const ch = Math.cos(haGreenwichRad);
  const sd = Math.sin(decRad);
  const cd = Math.cos(decRad);
  out[offset] = sh * bx + ch * by;
  out[offset + 1] = -sd * ch * bx + sd * sh * by + cd * bz;
  out[offset + 2] = cd * ch * bx - cd * sh * by + sd * bz;
  return out;
}

/** As uvwFromHaDec, for a LOCAL hour angle at east longitude lonRad (H = haLocal − lon). */
export function uvwFromLocalHaDec(
  bx: number,
  by: number,
  bz: number,
  haLocalRad: number,
  decRad: number,
  lonRad: number,
  out: Float64Array = new Float64Array(3),
  offset = 0,
): Float64Array {
  return uvwFromHaDec(bx, by, bz, haLocalRad - lonRad, decRad, out, offset);
}

/**
 * Rows u, v, w (ITRF unit vectors) for the direction at Greenwich hour angle H, declination δ:
 * a 3×3 row-major matrix M with uvw = M · b.
 */
export function haDecUvwMatrix(haGreenwichRad: number, decRad: number, out: Float64Array = new Float64Array(9)): Float64Array {
  const sh = Math.sin(haGreenwichRad);
  const ch = Math.cos(haGreenwichRad);
  const sd = Math.sin(decRad);
  const cd = Math.cos(decRad);
  out[0] = sh; out[1] = ch; out[2] = 0;
  out[3] = -sd * ch; out[4] = sd * sh; out[5] = cd;
  out[6] = cd * ch; out[7] = -cd * sh; out[8] = sd;
  return out;
}

function checkBaselineArgs(
  fn: string,
  out: Float64Array,
  outOffset: number,
  antEcef: Float64Array,
  ant1: Int32Array,
  ant2: Int32Array,
): void {
  if (ant1.length !== ant2.length) throw new RangeError(`${fn}: ant1 (${ant1.length}) and ant2 (${ant2.length}) differ in length`);
  if (out.length < outOffset + 3 * ant1.length) {
    throw new RangeError(`${fn}: out holds ${out.length} values, needs ${outOffset + 3 * ant1.length}`);
  }
  const nAnt = Math.floor(antEcef.length / 3);
  for (let k = 0; k < ant1.length; k++) {
    const a = ant1[k]!;
    const b = ant2[k]!;
    if (a < 0 || b < 0 || a >= nAnt || b >= nAnt) {
      throw new RangeError(`${fn}: baseline ${k} uses antenna index ${a < 0 || a >= nAnt ? a : b}, outside 0..${nAnt - 1}`);
    }
  }
}

/**
 * uvw = M · (x(ant2) − x(ant1)) for every baseline, with M a 3×3 row-major matrix of ITRF axes.
 * Projects each antenna once, then differences (N_ant·9 + N_bl·3 flops).
 */
export function projectBaselines(
  out: Float64Array,
  m: Float64Array,
  antEcef: Float64Array,
  ant1: Int32Array,
  ant2: Int32Array,
  outOffset = 0,
  scratch?: Float64Array,
): Float64Array {
  const nAnt = Math.floor(antEcef.length / 3);
  const proj = scratch !== undefined && scratch.length >= 3 * nAnt ? scratch : new Float64Array(3 * nAnt);
  const m0 = m[0]!, m1 = m[1]!, m2 = m[2]!, m3 = m[3]!, m4 = m[4]!, m5 = m[5]!, m6 = m[6]!, m7 = m[7]!, m8 = m[8]!;
  // Positions relative to antenna 0 keep the products small (no cancellation at 6.4e6 m).
  const x0 = antEcef[0]!, y0 = antEcef[1]!, z0 = antEcef[2]!;
  for (let a = 0; a < nAnt; a++) {
    const x = antEcef[3 * a]! - x0;
    const y = antEcef[3 * a + 1]! - y0;
    const z = antEcef[3 * a + 2]! - z0;
    proj[3 * a] = m0 * x + m1 * y + m2 * z;
    proj[3 * a + 1] = m3 * x + m4 * y + m5 * z;
    proj[3 * a + 2] = m6 * x + m7 * y + m8 * z;
  }
  const nbl = ant1.length;
  for (let k = 0; k < nbl; k++) {
    const i = 3 * ant1[k]!;
    const j = 3 * ant2[k]!;
    const o = outOffset + 3 * k;
    out[o] = proj[j]! - proj[i]!;
    out[o + 1] = proj[j + 1]! - proj[i + 1]!;
    out[o + 2] = proj[j + 2]! - proj[i + 2]!;
  }
  return out;
}

/**
 * uvw (metres) of every baseline for the meridian direction HA = 0 at apparent declination
 * decAppRad: what the DSA-110 correlator stores (constant in time). out: 3·N_bl, [u, v, w] per
 * baseline. antEcef: 3·N_ant ITRF metres, indexed by ant1/ant2.
 */
export function uvwMeridian(
  out: Float64Array,
  antEcef: Float64Array,
  ant1: Int32Array,
  ant2: Int32Array,
  decAppRad: number,
  site: Site = DSA110_SITE,
): Float64Array {
  checkBaselineArgs('uvwMeridian', out, 0, antEcef, ant1, ant2);
  return projectBaselines(out, haDecUvwMatrix(-site.lonRad, decAppRad), antEcef, ant1, ant2);
}

export interface UvwIcrsOptions {
  /** Observer for diurnal aberration (default DSA-110); null = geocentric. */
  site?: Site | null;
  /** Earth orientation (default UT1 = UTC, no polar motion). */
  eop?: Eop;
  /** Write starting at this index of out (default 0). */
  outOffset?: number;
}

/**
 * ITRF rows of the (u, v, w) axes for an ICRS phase centre at jdUtc, as pyuvdata/CASA define
 * "J2000 uvw" for a fixed ICRS phase centre:
 *  - w is the direction in which the phase centre is actually seen (ICRS + light deflection +
 *    aberration, rotated to ITRF by bpn and sidereal time), so w agrees with the fringe-stopping
 *    w of the same direction formed from HA/dec (and phase rotation between the two is exact);
 *  - v is the image of ICRS north at the phase centre under that mapping (pyuvdata's
 *    "frame position angle"), u = v × w points east.
 * Omitting aberration (projecting on the bare ICRS axes) would tilt w by up to 20″, i.e. a
 * 25 cm w error on a 2.6 km baseline.
 * Returns a 3×3 row-major matrix M with uvw = M · b_ITRF.
 */
export function icrsUvwMatrix(
  jdUtc: number,
  raIcrsRad: number,
  decIcrsRad: number,
  site: Site | null = DSA110_SITE,
  eop?: Eop,
  out: Float64Array = new Float64Array(9),
): Float64Array {
  const w = icrsToObservedGcrs(raIcrsRad, decIcrsRad, jdUtc, site);
  // Image of a small step toward ICRS north (1e-6 rad: truncation error ~1e-10 rad).
  const eps = 1e-6;
  const decN = decIcrsRad + eps <= Math.PI / 2 ? decIcrsRad + eps : decIcrsRad - eps;
  const sign = decN > decIcrsRad ? 1 : -1;
  const pn = icrsToObservedGcrs(raIcrsRad, decN, jdUtc, site);
  let nx = sign * (pn[0]! - w[0]!);
  let ny = sign * (pn[1]! - w[1]!);
  let nz = sign * (pn[2]! - w[2]!);
  const dot = nx * w[0]! + ny * w[1]! + nz * w[2]!;
  nx -= dot * w[0]!;
  ny -= dot * w[1]!;
  nz -= dot * w[2]!;
  const nn = Math.hypot(nx, ny, nz);
  nx /= nn;
  ny /= nn;
  nz /= nn;
  // u = v × w (east).
  const ux = ny * w[2]! - nz * w[1]!;
  const uy = nz * w[0]! - nx * w[2]!;
  const uz = nx * w[1]! - ny * w[0]!;
  // Rotate the GCRS axes to ITRF: rows of (axes · G^T) where G maps GCRS → ITRF.
  const g = gcrsToItrfMatrix(jdUtc, eop);
  const axes = [ux, uy, uz, nx, ny, nz, w[0]!, w[1]!, w[2]!];
  for (let r = 0; r < 3; r++) {
    const a0 = axes[3 * r]!, a1 = axes[3 * r + 1]!, a2 = axes[3 * r + 2]!;
    for (let c = 0; c < 3; c++) out[3 * r + c] = g[3 * c]! * a0 + g[3 * c + 1]! * a1 + g[3 * c + 2]! * a2;
  }
  return out;
}

/**
 * uvw (metres) in the J2000/ICRS frame of every baseline for a fixed ICRS phase centre at one
 * time (see icrsUvwMatrix for the definition). out: 3·N_bl from opts.outOffset.
 */
export function uvwIcrs(
  out: Float64Array,
  antEcef: Float64Array,
  ant1: Int32Array,
  ant2: Int32Array,
  jdUtc: number,
  raIcrsRad: number,
  decIcrsRad: number,
  opts: UvwIcrsOptions = {},
): Float64Array {
  const off = opts.outOffset ?? 0;
  checkBaselineArgs('uvwIcrs', out, off, antEcef, ant1, ant2);
  const m = icrsUvwMatrix(jdUtc, raIcrsRad, decIcrsRad, opts.site === undefined ? DSA110_SITE : opts.site, opts.eop);
  return projectBaselines(out, m, antEcef, ant1, ant2, off);
}

/**
 * uvwIcrs for many times: out laid out (time, baseline, 3), length 3·N_bl·N_t.
 */
export function uvwIcrsTimes(
  out: Float64Array,
  antEcef: Float64Array,
  ant1: Int32Array,
  ant2: Int32Array,
  jdUtc: Float64Array | readonly number[],
  raIcrsRad: number,
  decIcrsRad: number,
  opts: Omit<UvwIcrsOptions, 'outOffset'> = {},
): Float64Array {
  const nbl = ant1.length;
  if (out.length < 3 * nbl * jdUtc.length) {
    throw new RangeError(`uvwIcrsTimes: out holds ${out.length} values, needs ${3 * nbl * jdUtc.length}`);
  }
  checkBaselineArgs('uvwIcrsTimes', out, 0, antEcef, ant1, ant2);
  const site = opts.site === undefined ? DSA110_SITE : opts.site;
  const m = new Float64Array(9);
  const scratch = new Float64Array(antEcef.length);
  for (let t = 0; t < jdUtc.length; t++) {
    icrsUvwMatrix(jdUtc[t]!, raIcrsRad, decIcrsRad, site, opts.eop, m);
    projectBaselines(out, m, antEcef, ant1, ant2, 3 * nbl * t, scratch);
  }
  return out;
}

/**
 * Direction cosines (l, m, n) of (ra, dec) relative to the phase centre (ra0, dec0), SIN
 * projection: l toward east (increasing RA), m toward north.
 */
export function lmn(raRad: number, decRad: number, ra0Rad: number, dec0Rad: number): [number, number, number] {
  const da = raRad - ra0Rad;
  const cd = Math.cos(decRad);
  const sd = Math.sin(decRad);
  const cd0 = Math.cos(dec0Rad);
  const sd0 = Math.sin(dec0Rad);
  const cda = Math.cos(da);
  return [cd * Math.sin(da), sd * cd0 - cd * sd0 * cda, sd * sd0 + cd * cd0 * cda];
}

/** Inverse of lmn for n ≥ 0 (the visible hemisphere): (l, m) → (ra ∈ [0, 2π), dec). */
export function lmToRaDec(l: number, m: number, ra0Rad: number, dec0Rad: number): [number, number] {
  const r2 = l * l + m * m;
  if (r2 > 1) throw new RangeError(`lmToRaDec: l² + m² = ${r2} > 1`);
  const n = Math.sqrt(1 - r2);
  const cd0 = Math.cos(dec0Rad);
  const sd0 = Math.sin(dec0Rad);
  const dec = Math.asin(m * cd0 + n * sd0);
  let ra = ra0Rad + Math.atan2(l, n * cd0 - m * sd0);
  ra %= 2 * Math.PI;
  if (ra < 0) ra += 2 * Math.PI;
  return [ra, dec];
}

/** Great-circle angle between two directions (Vincenty formula: accurate at all separations). */
export function angularSeparation(ra1: number, dec1: number, ra2: number, dec2: number): number {
  const dra = ra2 - ra1;
  const s1 = Math.sin(dec1), c1 = Math.cos(dec1), s2 = Math.sin(dec2), c2 = Math.cos(dec2);
  const sdr = Math.sin(dra), cdr = Math.cos(dra);
  const num1 = c2 * sdr;
  const num2 = c1 * s2 - s1 * c2 * cdr;
  return Math.atan2(Math.hypot(num1, num2), s1 * s2 + c1 * c2 * cdr);
}
