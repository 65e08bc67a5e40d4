/**
 * Time scales and sidereal time.
 *
 * Conventions
 * - Julian dates are single doubles (resolution ≈ 40 µs near 2025, i.e. 0.0006″ of Earth
 *   rotation — far below what the pipeline needs).
 * - UT1 = UTC: we carry no IERS tables; |UT1 − UTC| < 0.9 s, which moves sidereal time by
 *   < 14″ in the worst case (≈ 0.01–0.1 s, i.e. < 1.5″, in 2025). Reference values in the tests
 *   were computed in astropy with UT1 = UTC as well.
 * - TT = UTC + (TAI − UTC) + 32.184 s with the leap-second table below (69.184 s since 2017);
 *   TT drives the precession/nutation arguments, where a 1 s error is irrelevant.
 */
import { DAY_S, DAYS_PER_CENTURY, JD_J2000, MJD_OFFSET, TT_MINUS_TAI, TWO_PI, ARCSEC } from './constants.js';
import { nutationIau2000b, meanObliquity06 } from './nutation.js';

/** JD of the Unix epoch 1970-01-01T00:00:00 UTC. */
const JD_UNIX_EPOCH = 2440587.5;

const ISO_RE =
  /^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*(Z|[+-]00:?00)?\s*$/i;

/**
 * UTC ISO-8601 timestamp → Julian date (UTC).
 * Accepts `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM`, `YYYY-MM-DDTHH:MM:SS[.sss…]`, with `T` or a space,
 * and an optional `Z` (or +00:00). Other time zones are refused, not silently shifted.
 */
export function isoToJd(iso: string): number {
  const m = ISO_RE.exec(iso);
  if (!m) throw new RangeError(`not a UTC ISO-8601 time: "${iso}" (expected YYYY-MM-DDTHH:MM:SS[.sss][Z])`);
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = m[4] !== undefined ? Number(m[4]) : 0;
  const minute = m[5] !== undefined ? Number(m[5]) : 0;
  const second = m[6] !== undefined ? Number(m[6]) : 0;
  const frac = m[7] !== undefined ? Number(m[7]) : 0;
  // Allow second = 60 only as a leap-second label; it is folded into the next minute.
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    throw new RangeError(`not a valid UTC time: "${iso}"`);
  }
  const ms = Date.UTC(year, month - 1, day, hour, minute, 0, 0);
  const check = new Date(ms);
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1) {
    throw new RangeError(`not a valid calendar date: "${iso}"`);
  }
  // Date.UTC maps years 0–99 to 1900+; guard against that.
  if (check.getUTCFullYear() !== year) throw new RangeError(`year out of range: "${iso}"`);
  return JD_UNIX_EPOCH + ms / 86_400_000 + (second + frac) / DAY_S;
}

/**
 * Julian date (UTC) → ISO-8601 `YYYY-MM-DDTHH:MM:SS[.fff]` (no zone suffix, like astropy "isot").
 * `fractionDigits` (0–6, default 3) decimals of the second, correctly rounded with carry.
 */
export function jdToIso(jd: number, fractionDigits = 3): string {
  if (!Number.isFinite(jd)) throw new RangeError(`jdToIso: not a finite Julian date: ${jd}`);
  const digits = Math.max(0, Math.min(6, Math.trunc(fractionDigits)));
  const scale = 10 ** digits;
  // Split into whole days and fraction to keep precision, then round to the output resolution.
  const dayNumber = Math.floor(jd - JD_UNIX_EPOCH);
  let units = Math.round((jd - JD_UNIX_EPOCH - dayNumber) * DAY_S * scale);
  let days = dayNumber;
  const unitsPerDay = DAY_S * scale;
  if (units >= unitsPerDay) {
    units -= unitsPerDay;
    days += 1;
  }
  const date = new Date(days * 86_400_000);
  const secsOfDay = Math.floor(units / scale);
  const fracUnits = units - secsOfDay * scale;
  const hh = Math.floor(secsOfDay / 3600);
  const mm = Math.floor((secsOfDay % 3600) / 60);
  const ss = secsOfDay % 60;
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const y = date.getUTCFullYear();
  let s =
    `${String(y).padStart(4, '0')}-${p2(date.getUTCMonth() + 1)}-${p2(date.getUTCDate())}` +
    `T${p2(hh)}:${p2(mm)}:${p2(ss)}`;
  if (digits > 0) s += '.' + String(fracUnits).padStart(digits, '0');
  return s;
}

export function jdToMjd(jd: number): number {
  return jd - MJD_OFFSET;
}
export function mjdToJd(mjd: number): number {
  return mjd + MJD_OFFSET;
}
/** JD (UTC) → Measurement Set TIME: MJD in seconds. */
export function jdToMjdSeconds(jd: number): number {
  return (jd - MJD_OFFSET) * DAY_S;
}
/** Measurement Set TIME (MJD seconds, UTC) → JD (UTC). */
export function mjdSecondsToJd(mjdSeconds: number): number {
  return mjdSeconds / DAY_S + MJD_OFFSET;
}

/**
 * TAI − UTC in seconds for a UTC Julian date (leap seconds since 1972; before that, 10 s is
 * returned — the pipeline never handles pre-1972 data).
 */
const LEAP_MJD = [
  41317, 41499, 41683, 42048, 42413, 42778, 43144, 43509, 43874, 44239, 44786, 45151, 45516, 46247,
  47161, 47892, 48257, 48804, 49169, 49534, 50083, 50630, 51179, 53736, 54832, 56109, 57204, 57754,
];
export function taiMinusUtc(jdUtc: number): number {
  const mjd = jdUtc - MJD_OFFSET;
  let n = 0;
  while (n < LEAP_MJD.length && mjd >= LEAP_MJD[n]!) n++;
  return n === 0 ? 10 : 9 + n;
}

/** UTC Julian date → TT Julian date. */
export function utcToTt(jdUtc: number): number {
  return jdUtc + (taiMinusUtc(jdUtc) + TT_MINUS_TAI) / DAY_S;
}

/** Earth rotation angle (IAU 2000), radians in [0, 2π). */
export function earthRotationAngle(jdUt1: number): number {
  // Split off the day fraction first to keep precision (as SOFA era00 does).
  const d = jdUt1 - JD_J2000;
  const f = jdUt1 % 1.0;
  const theta = TWO_PI * (f + 0.779057273264 + 0.00273781191135448 * d);
  return wrap2pi(theta);
}

/** Greenwich mean sidereal time, IAU 2006 (consistent with ERA and IAU 2006 precession), rad. */
export function gmstRad(jdUt1: number): number {
  // TT from UT1 taking UT1 = UTC; the polynomial is insensitive to seconds of error.
  const t = (utcToTt(jdUt1) - JD_J2000) / DAYS_PER_CENTURY;
  const poly =
    0.014506 +
    (4612.156534 + (1.3915817 + (-0.00000044 + (-0.000029956 + -0.0000000368 * t) * t) * t) * t) * t;
  return wrap2pi(earthRotationAngle(jdUt1) + poly * ARCSEC);
}

/**
 * Equation of the equinoxes (IAU 2006/2000B): Δψ cos εA plus the largest complementary terms
 * (truncation error < 10 µas).
 */
export function equationOfEquinoxes(jdTt: number): number {
  const t = (jdTt - JD_J2000) / DAYS_PER_CENTURY;
  const nut = nutationIau2000b(jdTt);
  const epsA = meanObliquity06(jdTt);
  // Fundamental arguments F, D, Ω (IERS 2003) for the complementary terms.
  const om = (450160.398036 + (-6962890.5271 + (7.4722 + (0.007702 - 0.00005939 * t) * t) * t) * t) * ARCSEC;
  const f = (335779.526232 + (1739527262.8478 + (-12.7512 + (-0.001037 + 0.00000417 * t) * t) * t) * t) * ARCSEC;
  const d = (1072260.70369 + (1602961601.209 + (-6.3706 + (0.006593 - 0.00003169 * t) * t) * t) * t) * ARCSEC;
  const a = 2 * (f - d);
  const ct =
    2640.96e-6 * Math.sin(om) - 0.39e-6 * Math.cos(om) +
    63.52e-6 * Math.sin(2 * om) - 0.02e-6 * Math.cos(2 * om) +
    11.75e-6 * Math.sin(a + 3 * om) + 0.01e-6 * Math.cos(a + 3 * om) +
    11.21e-6 * Math.sin(a + om) + 0.01e-6 * Math.cos(a + om) -
    4.55e-6 * Math.sin(a + 2 * om) +
    2.02e-6 * Math.sin(2 * f + 3 * om) +
    1.98e-6 * Math.sin(2 * f + om) -
    1.72e-6 * Math.sin(3 * om) -
    0.87e-6 * t * Math.sin(om);
  return nut.dpsi * Math.cos(epsA) + ct * ARCSEC;
}

/** Greenwich apparent sidereal time (IAU 2006 GMST + IAU 2000B equation of equinoxes), rad. */
export function gastRad(jdUt1: number): number {
  return wrap2pi(gmstRad(jdUt1) + equationOfEquinoxes(utcToTt(jdUt1)));
}

/** Local apparent sidereal time at east longitude `lonRad`, radians in [0, 2π). */
export function lastRad(jdUt1: number, lonRad: number): number {
  return wrap2pi(gastRad(jdUt1) + lonRad);
}

/** Local mean sidereal time at east longitude `lonRad`, radians in [0, 2π). */
export function lmstRad(jdUt1: number, lonRad: number): number {
  return wrap2pi(gmstRad(jdUt1) + lonRad);
}

/** Angle wrapped into [0, 2π). */
export function wrap2pi(a: number): number {
  const w = a % TWO_PI;
  return w < 0 ? w + TWO_PI : w;
}

/** Angle wrapped into (−π, π]. */
export function wrapPi(a: number): number {
  let w = wrap2pi(a);
  if (w > Math.PI) w -= TWO_PI;
  return w;
}
