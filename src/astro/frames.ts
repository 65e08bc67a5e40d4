/**
 * Celestial frames: ICRS ↔ apparent (true equator and equinox of date, topocentric), and the
 * terrestrial hour-angle/declination frame the telescope sees.
 *
 * What "apparent" includes here (icrsToApparent), in order, as in ERFA atciq/atioq and
 * astropy's ICRS → TETE/HADec for a source at infinite distance:
 *   1. gravitational light deflection by the Sun (≤ 4 mas away from the Sun, 1.75″ at the limb);
 *   2. aberration, special-relativistic, for the observer's barycentric velocity = Earth's
 *      (≈ 30 km/s, annual aberration ≤ 20.5″) + the site's rotation velocity (diurnal aberration,
 *      ≤ 0.32″ cos φ); pass `site = null` for a geocentric observer;
 *   3. frame bias + IAU 2006 precession + IAU 2000B nutation (bpnMatrix).
 * Right ascension is measured from the true equinox, so local hour angle = LAST − RA.
 * Not included: refraction, annual parallax (sources are at infinity), polar motion (which is
 * terrestrial; see `Eop` and sourceHaDec).
 *
 * Earth's barycentric velocity and heliocentric position come from astronomy-engine (VSOP87
 * + its own lunar theory; velocity good to ~1e-4 relative → < 2 mas of aberration).
 *
 * Hour angle/declination (sourceHaDec, hadecToIcrs, meridianIcrs) are the coordinates in the
 * frame whose pole is the ITRF z axis and whose zero hour angle is the site's ITRF meridian:
 * exactly astropy's HADec frame (which also includes polar motion) and the frame in which uvw
 * are formed from ITRF baselines. With polar motion zero, HA = LAST − RA_apparent and
 * dec = dec_apparent.
 */
import { AstroTime, BaryState, Body, HelioVector } from 'astronomy-engine';
import { ARCSEC, DAY_S, DAYS_PER_CENTURY, DSA110_SITE, JD_J2000, type Site } from './constants.js';
import { geodeticToEcef } from './geodesy.js';
import { bpnMatrix, identity3, rotX, rotY, rotZ, vecToRaDec, matMul3 } from './precession.js';
import { gastRad, utcToTt, wrapPi } from './time.js';

export { bpnMatrix } from './precession.js';

/**
 * Earth orientation parameters. All default to 0: UT1 = UTC and no polar motion, because the
 * pipeline carries no IERS tables (the resulting error is ≲ 0.5″ in 2025).
 */
export interface Eop {
  /** UT1 − UTC, seconds. */
  dut1S?: number;
  /** Polar motion x_p, radians. */
  xpRad?: number;
  /** Polar motion y_p, radians. */
  ypRad?: number;
}

/** Astronomical unit, metres. */
const AU_M = 149597870700;
/** Schwarzschild radius of the Sun in AU (2GM☉/c²/AU), as ERFA. */
const SRS = 1.97412574336e-8;
/** Earth rotation rate, rad/s (ERFA OM: 1.00273781191135448 turns per UT1 day). */
const EARTH_OMEGA = (1.00273781191135448 * 2 * Math.PI) / DAY_S;
const C_AU_PER_DAY = (299792458 * DAY_S) / AU_M;

/** UTC Julian date → UT1 Julian date for the given EOP. */
export function utcToUt1(jdUtc: number, eop?: Eop): number {
  return jdUtc + (eop?.dut1S ?? 0) / DAY_S;
}

/**
 * Rotation matrix from true-of-date (TETE) to ITRF: W · R3(GAST) where
 * W = R1(−y_p)·R2(−x_p)·R3(s′) is the polar-motion matrix (SOFA pom00).
 */
export function todToItrfMatrix(jdUtc: number, eop?: Eop): Float64Array {
  const jdTt = utcToTt(jdUtc);
  const t = (jdTt - JD_J2000) / DAYS_PER_CENTURY;
  const sp = -47e-6 * t * ARCSEC; // TIO locator s′ (SOFA sp00)
  const r = identity3();
  rotZ(gastRad(utcToUt1(jdUtc, eop)) + sp, r);
  const xp = eop?.xpRad ?? 0;
  const yp = eop?.ypRad ?? 0;
  if (xp !== 0 || yp !== 0) {
    rotY(-xp, r);
    rotX(-yp, r);
  }
  return r;
}

/** Rotation matrix GCRS/ICRS → ITRF (ignoring the ~mas difference between GCRS and ICRS axes). */
export function gcrsToItrfMatrix(jdUtc: number, eop?: Eop): Float64Array {
  return matMul3(todToItrfMatrix(jdUtc, eop), bpnMatrix(utcToTt(jdUtc)));
}

/** Everything that depends only on time and observer, for the ICRS ↔ apparent transforms. */
interface ApparentContext {
  jdUtc: number;
  site: Site | null;
  bpn: Float64Array;
  /** Observer barycentric velocity / c, GCRS axes. */
  v: Float64Array;
  /** sqrt(1 − |v|²). */
  bm1: number;
  /** Unit vector Sun → observer. */
  eh: Float64Array;
  /** Sun–observer distance, AU. */
  em: number;
}

let cached: ApparentContext | null = null;

/** Gaussian gravitational constant squared: GM☉ in AU³/day². */
const GM_SUN_AU3_D2 = 2.959122082855911e-4;
/** Spacing (days) of the grid on which the ephemeris is evaluated. */
const EPHEM_GRID_D = 0.01;
const ephemCache = new Map<number, Float64Array>();

/**
 * Earth's heliocentric position (AU) and barycentric velocity (AU/day), J2000 mean equator axes
 * (≈ ICRS to 23 mas, irrelevant for aberration), for TT.
 *
 * astronomy-engine's BaryState costs ~1 ms (it sums all major planets), so it is evaluated on
 * a 0.01-day grid and carried to the requested time with the Sun's acceleration:
 * v(t) = v₀ − GM☉ r/|r|³ · Δt, r(t) = r₀ + v₀ Δt (|Δt| ≤ 0.005 d). The neglected lunar and
 * planetary accelerations change v by < 2e-4 m/s over that span: < 0.001 mas of aberration.
 * Evaluating on a fixed grid keeps results independent of call order.
 */
function earthState(jdTt: number): Float64Array {
  const key = Math.round((jdTt - JD_J2000) / EPHEM_GRID_D);
  let s0 = ephemCache.get(key);
  if (s0 === undefined) {
    const time = AstroTime.FromTerrestrialTime(key * EPHEM_GRID_D);
    const bary = BaryState(Body.Earth, time);
    const helio = HelioVector(Body.Earth, time);
    s0 = new Float64Array([helio.x, helio.y, helio.z, bary.vx, bary.vy, bary.vz]);
    if (ephemCache.size > 64) ephemCache.clear();
    ephemCache.set(key, s0);
  }
  const dt = jdTt - (JD_J2000 + key * EPHEM_GRID_D);
  const rx = s0[0]!, ry = s0[1]!, rz = s0[2]!;
  const r = Math.hypot(rx, ry, rz);
  const k = -GM_SUN_AU3_D2 / (r * r * r);
  return new Float64Array([
    rx + s0[3]! * dt,
    ry + s0[4]! * dt,
    rz + s0[5]! * dt,
    s0[3]! + k * rx * dt,
    s0[4]! + k * ry * dt,
    s0[5]! + k * rz * dt,
  ]);
}

function apparentContext(jdUtc: number, site: Site | null): ApparentContext {
  if (
    cached !== null &&
    cached.jdUtc === jdUtc &&
    (cached.site === site ||
      (cached.site !== null &&
        site !== null &&
        cached.site.latRad === site.latRad &&
        cached.site.lonRad === site.lonRad &&
        cached.site.heightM === site.heightM))
  ) {
    return cached;
  }
  const jdTt = utcToTt(jdUtc);
  const bpn = bpnMatrix(jdTt);
  const earth = earthState(jdTt);
  const v = new Float64Array([earth[3]! / C_AU_PER_DAY, earth[4]! / C_AU_PER_DAY, earth[5]! / C_AU_PER_DAY]);
  const ph = [earth[0]!, earth[1]!, earth[2]!];
  if (site !== null) {
    // Site velocity from Earth rotation: ω ẑ × r in ITRF, rotated to GCRS (polar motion and
    // UT1 − UTC are irrelevant at the 1e-9 level of this 1.5e-6 term).
    const [x, y] = geodeticToEcef(site.latRad, site.lonRad, site.heightM);
    const vt = [(-EARTH_OMEGA * y) / 299792458, (EARTH_OMEGA * x) / 299792458, 0];
    const g = gastRad(jdUtc);
    const cg = Math.cos(g);
    const sg = Math.sin(g);
    // TIRS → TOD: rotate by +GAST about z.
    const vtod = [cg * vt[0]! - sg * vt[1]!, sg * vt[0]! + cg * vt[1]!, 0];
    // TOD → GCRS: bpnᵀ.
    for (let i = 0; i < 3; i++) v[i]! += bpn[i]! * vtod[0]! + bpn[3 + i]! * vtod[1]! + bpn[6 + i]! * vtod[2]!;
    // Observer's offset from the geocentre is < 5e-5 AU: irrelevant for deflection.
  }
  const v2 = v[0]! * v[0]! + v[1]! * v[1]! + v[2]! * v[2]!;
  const em = Math.hypot(ph[0]!, ph[1]!, ph[2]!);
  const ctx: ApparentContext = {
    jdUtc,
    site,
    bpn,
    v,
    bm1: Math.sqrt(1 - v2),
    eh: new Float64Array([ph[0]! / em, ph[1]! / em, ph[2]! / em]),
    em,
  };
  cached = ctx;
  return ctx;
}

/** Light deflection by the Sun then aberration (ERFA ldsun + ab), in place on p (unit, GCRS). */
function deflectAndAberrate(ctx: ApparentContext, p: Float64Array): void {
  // --- Deflection (ERFA ld with bm = 1, q = p for a source at infinity). ---
  const e = ctx.eh;
  const em2 = ctx.em * ctx.em;
  const dlim = 1e-6 / (em2 > 1 ? em2 : 1);
  const qdqpe = p[0]! * (p[0]! + e[0]!) + p[1]! * (p[1]! + e[1]!) + p[2]! * (p[2]! + e[2]!);
  const w = SRS / ctx.em / Math.max(qdqpe, dlim);
  // eq = e × q ; peq = p × eq
  const eq0 = e[1]! * p[2]! - e[2]! * p[1]!;
  const eq1 = e[2]! * p[0]! - e[0]! * p[2]!;
  const eq2 = e[0]! * p[1]! - e[1]! * p[0]!;
  let x = p[0]! + w * (p[1]! * eq2 - p[2]! * eq1);
  let y = p[1]! + w * (p[2]! * eq0 - p[0]! * eq2);
  let z = p[2]! + w * (p[0]! * eq1 - p[1]! * eq0);
  // --- Aberration (ERFA ab). ---
  const v = ctx.v;
  const bm1 = ctx.bm1;
  const pdv = x * v[0]! + y * v[1]! + z * v[2]!;
  const w1 = 1 + pdv / (1 + bm1);
  const w2 = SRS / ctx.em;
  const ax = x * bm1 + w1 * v[0]! + w2 * (v[0]! - pdv * x);
  const ay = y * bm1 + w1 * v[1]! + w2 * (v[1]! - pdv * y);
  const az = z * bm1 + w1 * v[2]! + w2 * (v[2]! - pdv * z);
  const r = Math.hypot(ax, ay, az);
  x = ax / r;
  y = ay / r;
  z = az / r;
  p[0] = x;
  p[1] = y;
  p[2] = z;
}

function radecToVec(ra: number, dec: number, out: Float64Array): Float64Array {
  const cd = Math.cos(dec);
  out[0] = cd * Math.cos(ra);
  out[1] = cd * Math.sin(ra);
  out[2] = Math.sin(dec);
  return out;
}

/** m · p into out (3-vectors). */
function mulVec(m: Float64Array, p: Float64Array, out: Float64Array): Float64Array {
  const x = p[0]!, y = p[1]!, z = p[2]!;
  out[0] = m[0]! * x + m[1]! * y + m[2]! * z;
  out[1] = m[3]! * x + m[4]! * y + m[5]! * z;
  out[2] = m[6]! * x + m[7]! * y + m[8]! * z;
  return out;
}

/** mᵀ · p into out (3-vectors). */
function mulVecT(m: Float64Array, p: Float64Array, out: Float64Array): Float64Array {
  const x = p[0]!, y = p[1]!, z = p[2]!;
  out[0] = m[0]! * x + m[3]! * y + m[6]! * z;
  out[1] = m[1]! * x + m[4]! * y + m[7]! * z;
  out[2] = m[2]! * x + m[5]! * y + m[8]! * z;
  return out;
}

/** ICRS unit vector → apparent (TETE, topocentric unless site = null) unit vector. */
function icrsVecToApparent(ctx: ApparentContext, p: Float64Array, out: Float64Array): Float64Array {
  const q = new Float64Array(p);
  deflectAndAberrate(ctx, q);
  return mulVec(ctx.bpn, q, out);
}

/** Apparent unit vector → ICRS unit vector (inverts deflection + aberration by iteration). */
function apparentVecToIcrs(ctx: ApparentContext, pApp: Float64Array, out: Float64Array): Float64Array {
  const target = mulVecT(ctx.bpn, pApp, new Float64Array(3));
  const p = new Float64Array(target);
  const f = new Float64Array(3);
  // Each pass reduces the error by ~|v| ≈ 1e-4; 4 passes reach < 1e-15 rad.
  for (let it = 0; it < 5; it++) {
    f.set(p);
    deflectAndAberrate(ctx, f);
    const dx = target[0]! - f[0]!;
    const dy = target[1]! - f[1]!;
    const dz = target[2]! - f[2]!;
    p[0]! += dx;
    p[1]! += dy;
    p[2]! += dz;
    const r = Math.hypot(p[0]!, p[1]!, p[2]!);
    p[0]! /= r;
    p[1]! /= r;
    p[2]! /= r;
    if (Math.abs(dx) + Math.abs(dy) + Math.abs(dz) < 1e-16) break;
  }
  out.set(p);
  return out;
}

/**
 * ICRS (ra, dec) → apparent (ra, dec) of date: light deflection, annual + diurnal aberration,
 * bias-precession-nutation (see the file comment). `site = null` gives the geocentric apparent
 * place (astropy TETE without location). Radians; ra ∈ [0, 2π).
 */
export function icrsToApparent(
  raRad: number,
  decRad: number,
  jdUtc: number,
  site: Site | null = DSA110_SITE,
): [number, number] {
  const ctx = apparentContext(jdUtc, site);
  const p = icrsVecToApparent(ctx, radecToVec(raRad, decRad, new Float64Array(3)), new Float64Array(3));
  return vecToRaDec(p[0]!, p[1]!, p[2]!);
}

/** Inverse of icrsToApparent (iterated to < 1e-12 rad). */
export function apparentToIcrs(
  raRad: number,
  decRad: number,
  jdUtc: number,
  site: Site | null = DSA110_SITE,
): [number, number] {
  const ctx = apparentContext(jdUtc, site);
  const p = apparentVecToIcrs(ctx, radecToVec(raRad, decRad, new Float64Array(3)), new Float64Array(3));
  return vecToRaDec(p[0]!, p[1]!, p[2]!);
}

/**
 * Local hour angle and declination of an ICRS source as seen from `site` at jdUtc (astropy
 * HADec; with eop omitted HA = LAST − RA_apparent, dec = dec_apparent). HA ∈ (−π, π], radians.
 */
export function sourceHaDec(
  raIcrsRad: number,
  decIcrsRad: number,
  jdUtc: number,
  site: Site = DSA110_SITE,
  eop?: Eop,
): [number, number] {
  const ctx = apparentContext(jdUtc, site);
  const p = icrsVecToApparent(ctx, radecToVec(raIcrsRad, decIcrsRad, new Float64Array(3)), new Float64Array(3));
  const t = mulVec(todToItrfMatrix(jdUtc, eop), p, new Float64Array(3));
  const haGreenwich = Math.atan2(-t[1]!, t[0]!);
  const dec = Math.atan2(t[2]!, Math.hypot(t[0]!, t[1]!));
  return [wrapPi(haGreenwich + site.lonRad), dec];
}

/** ICRS position of the direction at local hour angle haRad and (apparent) declination decRad. */
export function hadecToIcrs(
  haRad: number,
  decRad: number,
  jdUtc: number,
  site: Site = DSA110_SITE,
  eop?: Eop,
): [number, number] {
  const ctx = apparentContext(jdUtc, site);
  const hg = haRad - site.lonRad;
  const cd = Math.cos(decRad);
  const t = new Float64Array([cd * Math.cos(hg), -cd * Math.sin(hg), Math.sin(decRad)]);
  const pApp = mulVecT(todToItrfMatrix(jdUtc, eop), t, new Float64Array(3));
  const p = apparentVecToIcrs(ctx, pApp, new Float64Array(3));
  return vecToRaDec(p[0]!, p[1]!, p[2]!);
}

/**
 * ICRS position of the meridian point (HA = 0, apparent dec = decAppRad) at jdUtc: the DSA-110
 * phase centre of a drift-scan group. Equals astropy
 * `HADec(ha=0, dec, obstime, location).transform_to(ICRS())` (with the same EOP).
 */
export function meridianIcrs(
  jdUtc: number,
  decAppRad: number,
  site: Site = DSA110_SITE,
  eop?: Eop,
): [number, number] {
  return hadecToIcrs(0, decAppRad, jdUtc, site, eop);
}

/**
 * Observed direction of an ICRS source as a unit vector on GCRS axes: the ICRS direction with
 * light deflection and (annual + diurnal, unless site = null) aberration applied, before
 * precession-nutation. This is where the source is actually seen; bpnMatrix · it = apparent.
 */
export function icrsToObservedGcrs(
  raRad: number,
  decRad: number,
  jdUtc: number,
  site: Site | null = DSA110_SITE,
  out: Float64Array = new Float64Array(3),
): Float64Array {
  const ctx = apparentContext(jdUtc, site);
  radecToVec(raRad, decRad, out);
  deflectAndAberrate(ctx, out);
  return out;
}
