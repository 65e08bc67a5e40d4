/**
 * Frame bias + IAU 2006 precession (Fukushima–Williams angles) and the bias-precession-nutation
 * matrix, following the SOFA/ERFA routines pfw06, fw2m and pnm06a (with IAU 2000B nutation in
 * place of 2000A: < 1 mas difference).
 *
 * Matrices are 3×3 row-major Float64Array(9). A matrix M "from frame A to frame B" maps a
 * column vector in A to B: v_B = M · v_A.
 */
import { ARCSEC, DAYS_PER_CENTURY, JD_J2000 } from './constants.js';
import { meanObliquity06, nutationIau2000b } from './nutation.js';

/** Fukushima–Williams precession angles (γ̄, φ̄, ψ̄, εA), radians, IAU 2006, for TT. */
export function fukushimaWilliams06(jdTt: number): [number, number, number, number] {
  const t = (jdTt - JD_J2000) / DAYS_PER_CENTURY;
  const gamb =
    (-0.052928 + (10.556378 + (0.4932044 + (-0.00031238 + (-0.000002788 + 0.000000026 * t) * t) * t) * t) * t) * ARCSEC;
  const phib =
    (84381.412819 + (-46.811016 + (0.0511268 + (0.00053289 + (-0.00000044 - 0.0000000176 * t) * t) * t) * t) * t) *
    ARCSEC;
  const psib =
    (-0.041775 + (5038.481484 + (1.5584175 + (-0.00018522 + (-0.000026452 - 0.0000000148 * t) * t) * t) * t) * t) *
    ARCSEC;
  return [gamb, phib, psib, meanObliquity06(jdTt)];
}

/** Identity 3×3 (row-major). */
export function identity3(): Float64Array {
  return new Float64Array([1, 0, 0, 0, 1, 0, 0, 0, 1]);
}

/** m ← R1(θ)·m (SOFA eraRx: rotation of the frame about x by θ). */
export function rotX(theta: number, m: Float64Array): Float64Array {
  const s = Math.sin(theta);
  const c = Math.cos(theta);
  for (let j = 0; j < 3; j++) {
    const a1 = m[3 + j]!;
    const a2 = m[6 + j]!;
    m[3 + j] = c * a1 + s * a2;
    m[6 + j] = -s * a1 + c * a2;
  }
  return m;
}

/** m ← R2(θ)·m (SOFA eraRy). */
export function rotY(theta: number, m: Float64Array): Float64Array {
  const s = Math.sin(theta);
  const c = Math.cos(theta);
  for (let j = 0; j < 3; j++) {
    const a0 = m[j]!;
    const a2 = m[6 + j]!;
    m[j] = c * a0 - s * a2;
    m[6 + j] = s * a0 + c * a2;
  }
  return m;
}

/** m ← R3(θ)·m (SOFA eraRz). */
export function rotZ(theta: number, m: Float64Array): Float64Array {
  const s = Math.sin(theta);
  const c = Math.cos(theta);
  for (let j = 0; j < 3; j++) {
    const a0 = m[j]!;
    const a1 = m[3 + j]!;
    m[j] = c * a0 + s * a1;
    m[3 + j] = -s * a0 + c * a1;
  }
  return m;
}

/** Product a·b of 3×3 row-major matrices (new array, or into `out`, which must not alias). */
export function matMul3(a: Float64Array, b: Float64Array, out: Float64Array = new Float64Array(9)): Float64Array {
  for (let i = 0; i < 3; i++) {
    const a0 = a[3 * i]!;
    const a1 = a[3 * i + 1]!;
    const a2 = a[3 * i + 2]!;
    out[3 * i] = a0 * b[0]! + a1 * b[3]! + a2 * b[6]!;
    out[3 * i + 1] = a0 * b[1]! + a1 * b[4]! + a2 * b[7]!;
    out[3 * i + 2] = a0 * b[2]! + a1 * b[5]! + a2 * b[8]!;
  }
  return out;
}

/** Transpose of a 3×3 row-major matrix. */
export function transpose3(a: Float64Array, out: Float64Array = new Float64Array(9)): Float64Array {
  const t1 = a[1]!, t2 = a[2]!, t5 = a[5]!;
  out[0] = a[0]!; out[4] = a[4]!; out[8] = a[8]!;
  out[1] = a[3]!; out[3] = t1;
  out[2] = a[6]!; out[6] = t2;
  out[5] = a[7]!; out[7] = t5;
  return out;
}

/** Fukushima–Williams angles → rotation matrix R1(−ε)·R3(−ψ)·R1(φ)·R3(γ) (SOFA fw2m). */
export function fw2m(gamb: number, phib: number, psi: number, eps: number): Float64Array {
  const r = identity3();
  rotZ(gamb, r);
  rotX(phib, r);
  rotZ(-psi, r);
  rotX(-eps, r);
  return r;
}

/** Bias + precession matrix: GCRS → mean equator and equinox of date (IAU 2006). */
export function pbMatrix(jdTt: number): Float64Array {
  const [g, p, s, e] = fukushimaWilliams06(jdTt);
  return fw2m(g, p, s, e);
}

/**
 * Bias + precession + nutation matrix: GCRS/ICRS → true equator and equinox of date
 * (IAU 2006 precession, IAU 2000B nutation). Row-major 3×3.
 */
export function bpnMatrix(jdTt: number): Float64Array {
  const [g, p, s, e] = fukushimaWilliams06(jdTt);
  const nut = nutationIau2000b(jdTt);
  return fw2m(g, p, s + nut.dpsi, e + nut.deps);
}

/** Apply a 3×3 matrix to a unit vector given as (ra, dec); returns (ra ∈ [0, 2π), dec). */
export function rotateRaDec(m: Float64Array, ra: number, dec: number): [number, number] {
  const cd = Math.cos(dec);
  const x = cd * Math.cos(ra);
  const y = cd * Math.sin(ra);
  const z = Math.sin(dec);
  const X = m[0]! * x + m[1]! * y + m[2]! * z;
  const Y = m[3]! * x + m[4]! * y + m[5]! * z;
  const Z = m[6]! * x + m[7]! * y + m[8]! * z;
  return vecToRaDec(X, Y, Z);
}

/** Cartesian → (ra ∈ [0, 2π), dec). */
export function vecToRaDec(x: number, y: number, z: number): [number, number] {
  let ra = Math.atan2(y, x);
  if (ra < 0) ra += 2 * Math.PI;
  const dec = Math.atan2(z, Math.hypot(x, y));
  return [ra, dec];
}

/**
 * Precess ICRS/J2000 (ra, dec) to the mean equator and equinox of date (frame bias + IAU 2006
 * precession, no nutation, no aberration).
 */
export function precessJ2000ToDate(raRad: number, decRad: number, jdTt: number): [number, number] {
  return rotateRaDec(pbMatrix(jdTt), raRad, decRad);
}

/** Inverse of precessJ2000ToDate. */
export function precessDateToJ2000(raRad: number, decRad: number, jdTt: number): [number, number] {
  return rotateRaDec(transpose3(pbMatrix(jdTt)), raRad, decRad);
}
