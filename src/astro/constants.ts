/**
 * Physical constants and the DSA-110 site. Angles in radians inside the library.
 */

/** Speed of light in vacuum, m/s. */
export const C_LIGHT = 299792458;

/** Degrees → radians (multiply). */
export const DEG = Math.PI / 180;
/** Arcseconds → radians (multiply). */
export const ARCSEC = Math.PI / (180 * 3600);
/** Hours of angle → radians (multiply). */
export const HOUR_ANGLE = Math.PI / 12;
/** 2π. */
export const TWO_PI = 2 * Math.PI;

/** DSA-110 dish diameter, metres. */
export const DISH_DIAMETER_M = 4.65;

export interface Site {
  /** Geodetic (WGS84) latitude, radians. */
  readonly latRad: number;
  /** East longitude, radians. */
  readonly lonRad: number;
  /** Height above the WGS84 ellipsoid, metres. */
  readonly heightM: number;
}

/** The DSA-110 array reference position at OVRO (37.2314° N, 118.2817° W, 1222 m). */
export const DSA110_SITE: Site = Object.freeze({
  latRad: 37.2314 * DEG,
  lonRad: -118.2817 * DEG,
  heightM: 1222,
});

/** WGS84 ellipsoid: equatorial radius (m) and flattening. */
export const WGS84_A = 6378137.0;
export const WGS84_F = 1 / 298.257223563;

/** TT − TAI, seconds (exact by definition). */
export const TT_MINUS_TAI = 32.184;
/** TAI − UTC, seconds, valid since 2017-01-01 (no leap second announced since). */
export const TAI_MINUS_UTC = 37;
/** TT − UTC, seconds (= 69.184 s since 2017). */
export const TT_MINUS_UTC = TT_MINUS_TAI + TAI_MINUS_UTC;

/** Julian date of the J2000.0 epoch (TT). */
export const JD_J2000 = 2451545.0;
/** JD − MJD. */
export const MJD_OFFSET = 2400000.5;
/** Seconds per day. */
export const DAY_S = 86400;
/** Days per Julian century. */
export const DAYS_PER_CENTURY = 36525;
