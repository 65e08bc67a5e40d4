/**
 * WGS84 geodetic ↔ Earth-centred Earth-fixed (ITRF) coordinates, and local ENU axes.
 */
import { WGS84_A, WGS84_F } from './constants.js';

const E2 = WGS84_F * (2 - WGS84_F);

/** Geodetic (WGS84) latitude/longitude (rad) and height (m) → ECEF/ITRF [x, y, z] metres. */
export function geodeticToEcef(latRad: number, lonRad: number, heightM: number): [number, number, number] {
  const sl = Math.sin(latRad);
  const cl = Math.cos(latRad);
  const n = WGS84_A / Math.sqrt(1 - E2 * sl * sl);
  return [(n + heightM) * cl * Math.cos(lonRad), (n + heightM) * cl * Math.sin(lonRad), (n * (1 - E2) + heightM) * sl];
}

/**
 * ECEF/ITRF [x, y, z] metres → geodetic [latRad, lonRad, heightM] (WGS84), by Bowring's
 * method refined by iteration to < 1e-12 rad.
 */
export function ecefToGeodetic(x: number, y: number, z: number): [number, number, number] {
  const lon = Math.atan2(y, x);
  const p = Math.hypot(x, y);
  if (p < 1e-9) {
    // On the polar axis.
    const b = WGS84_A * (1 - WGS84_F);
    return [z >= 0 ? Math.PI / 2 : -Math.PI / 2, 0, Math.abs(z) - b];
  }
  let lat = Math.atan2(z, p * (1 - E2));
  let h = 0;
  for (let i = 0; i < 10; i++) {
    const sl = Math.sin(lat);
    const n = WGS84_A / Math.sqrt(1 - E2 * sl * sl);
    h = p / Math.cos(lat) - n;
    const next = Math.atan2(z, p * (1 - (E2 * n) / (n + h)));
    if (Math.abs(next - lat) < 1e-14) {
      lat = next;
      break;
    }
    lat = next;
  }
  return [lat, lon, h];
}

/**
 * 3×3 row-major matrix whose columns are the local East, North, Up unit vectors in ECEF, so
 * that ecef_vector = M · [e, n, u] (and [e, n, u] = Mᵀ · ecef_vector).
 */
export function enuToEcefMatrix(latRad: number, lonRad: number): Float64Array {
  const sl = Math.sin(latRad);
  const cl = Math.cos(latRad);
  const so = Math.sin(lonRad);
  const co = Math.cos(lonRad);
  // Columns: east = (−sinλ, cosλ, 0); north = (−sinφ cosλ, −sinφ sinλ, cosφ); up = (cosφ cosλ, cosφ sinλ, sinφ).
  return new Float64Array([-so, -sl * co, cl * co, co, -sl * so, cl * so, 0, cl, sl]);
}

/** ECEF vector → local [east, north, up] at (lat, lon). */
export function ecefToEnu(latRad: number, lonRad: number, dx: number, dy: number, dz: number): [number, number, number] {
  const m = enuToEcefMatrix(latRad, lonRad);
  return [
    m[0]! * dx + m[3]! * dy + m[6]! * dz,
    m[1]! * dx + m[4]! * dy + m[7]! * dz,
    m[2]! * dx + m[5]! * dy + m[8]! * dz,
  ];
}
