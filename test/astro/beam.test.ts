import { describe, expect, it } from 'vitest';
import {
  AIRY_HALF_POWER_X,
  BESSEL_J1_FIRST_ZERO,
  airyFwhm,
  airyHalfPowerRadius,
  airyPower,
  airyPowerX,
  besselJ1,
} from '../../src/astro/beam.js';
import { C_LIGHT, DEG, DISH_DIAMETER_M } from '../../src/astro/constants.js';

// scipy.special.j1 values, computed by hand (scipy 1.10, Debian).
const J1: [number, number][] = [
  [0.5, 0.24226845767487387],
  [1, 0.44005058574493355],
  [2, 0.5767248077568734],
  [-3, -0.33905895852593654],
  [10, 0.04347274616886141],
  [11.9, -0.22898324966192404],
  [12.1, -0.21574897337692486],
  [20, 0.0668331241758502],
  [50, -0.09751182812517509],
];

describe('Bessel J1', () => {
  it.each(J1)('J1(%f) to 1e-9', (x, v) => {
    expect(Math.abs(besselJ1(x) - v)).toBeLessThan(1e-9);
  });
  it('first two zeros', () => {
    expect(Math.abs(besselJ1(BESSEL_J1_FIRST_ZERO))).toBeLessThan(1e-12);
    expect(Math.abs(besselJ1(7.0155866698156187))).toBeLessThan(1e-12);
    expect(besselJ1(0)).toBe(0);
  });
});

describe('Airy beam', () => {
  it('is 1 on axis, 1/2 at x = 1.6163399483, 0 at the first null', () => {
    expect(airyPowerX(0)).toBe(1);
    expect(airyPower(0, 1.4e9)).toBe(1);
    // scipy brentq((2 J1(x)/x)² − 1/2) = 1.616339948310703
    expect(airyPowerX(1.616339948310703)).toBeCloseTo(0.5, 12);
    expect(AIRY_HALF_POWER_X).toBeCloseTo(1.616339948310703, 9);
    expect(airyPowerX(BESSEL_J1_FIRST_ZERO)).toBeLessThan(1e-20);
    // Small-x branch continuity.
    expect(Math.abs(airyPowerX(0.99e-4) - airyPowerX(1.01e-4))).toBeLessThan(1e-9);
  });
  it('half-power radius and FWHM at 1.4 GHz for a 4.65 m dish', () => {
    const f = 1.4e9;
    const r = airyHalfPowerRadius(f);
    expect(airyPower(r, f, DISH_DIAMETER_M)).toBeCloseTo(0.5, 10);
    // FWHM ≈ 1.029 λ/D for an Airy pattern: 1.029 × 0.2141 m / 4.65 m = 2.71°.
    expect(airyFwhm(f) / DEG).toBeCloseTo(((2 * 1.616339948310703) / Math.PI) * (C_LIGHT / f / 4.65) / DEG, 3);
    expect(airyFwhm(f) / DEG).toBeGreaterThan(2.7);
    expect(airyFwhm(f) / DEG).toBeLessThan(2.72);
    // Larger dish, narrower beam; symmetric in θ.
    expect(airyHalfPowerRadius(f, 9.3)).toBeLessThan(r / 1.9);
    expect(airyPower(-0.01, f)).toBe(airyPower(0.01, f));
  });
});
