/**
 * Primary beam: the power pattern of a uniformly illuminated circular aperture (Airy pattern),
 * the model the DSA-110 pipeline uses for its 4.65 m dishes.
 */
import { C_LIGHT, DISH_DIAMETER_M } from './constants.js';

/** x at which (2 J1(x)/x)² = 1/2. */
export const AIRY_HALF_POWER_X = 1.6163399483;
/** First zero of J1 (first null of the Airy pattern). */
export const BESSEL_J1_FIRST_ZERO = 3.8317059702075125;

/**
 * Bessel function of the first kind, order 1. Power series for |x| < 12 (cancellation costs
 * < 5 digits there), Hankel asymptotic expansion beyond (truncated at its smallest term,
 * < 1e-10). Absolute error < 1e-10 everywhere.
 */
export function besselJ1(x: number): number {
  const ax = Math.abs(x);
  if (ax < 12) {
    // J1(x) = Σ (−1)^k (x/2)^(2k+1) / (k! (k+1)!)
    const h = x / 2;
    const h2 = h * h;
    let term = h;
    let sum = h;
    for (let k = 1; k < 60; k++) {
      term *= -h2 / (k * (k + 1));
      sum += term;
      if (Math.abs(term) < 1e-17 * Math.abs(sum) + 1e-300) break;
    }
    return sum;
  }
  // Hankel: J1 = sqrt(2/(πx)) (P cos χ − Q sin χ), χ = x − 3π/4, μ = 4.
  const mu = 4;
  const z8 = 8 * ax;
  let p = 1;
  let q = 0;
  let term = 1;
  let prevAbs = Infinity;
  // term_k = Π_{j=1..k} (μ − (2j−1)²) / (j · 8x); P takes even k with alternating sign, Q odd.
  for (let k = 1; k < 60; k++) {
    term *= (mu - (2 * k - 1) * (2 * k - 1)) / (k * z8);
    const a = Math.abs(term);
    if (a > prevAbs) break; // asymptotic series: stop at the smallest term
    prevAbs = a;
    if (k % 2 === 0) p += (k % 4 === 0 ? 1 : -1) * term;
    else q += (k % 4 === 1 ? 1 : -1) * term;
    if (a < 1e-17) break;
  }
  const chi = ax - 0.75 * Math.PI;
  const r = Math.sqrt(2 / (Math.PI * ax)) * (p * Math.cos(chi) - q * Math.sin(chi));
  return x < 0 ? -r : r;
}

/** Airy power pattern as a function of x = π D sinθ / λ: (2 J1(x)/x)², 1 at x = 0. */
export function airyPowerX(x: number): number {
  if (Math.abs(x) < 1e-4) {
    // 2 J1(x)/x = 1 − x²/8 + x⁴/192 − …
    const a = 1 - (x * x) / 8;
    return a * a;
  }
  const a = (2 * besselJ1(x)) / x;
  return a * a;
}

/**
 * Primary-beam power response at angle thetaRad from the pointing centre:
 * (2 J1(x)/x)², x = π D sin θ / λ. Value 1 on axis.
 */
export function airyPower(thetaRad: number, freqHz: number, diameterM: number = DISH_DIAMETER_M): number {
  const x = (Math.PI * diameterM * Math.sin(thetaRad) * freqHz) / C_LIGHT;
  return airyPowerX(x);
}

/** Angle (rad) from the pointing centre at which airyPower = 1/2 (half the FWHM). */
export function airyHalfPowerRadius(freqHz: number, diameterM: number = DISH_DIAMETER_M): number {
  return Math.asin((AIRY_HALF_POWER_X * C_LIGHT) / (Math.PI * diameterM * freqHz));
}

/** Full width at half maximum of the Airy power beam, radians (2 × airyHalfPowerRadius). */
export function airyFwhm(freqHz: number, diameterM: number = DISH_DIAMETER_M): number {
  return 2 * airyHalfPowerRadius(freqHz, diameterM);
}
