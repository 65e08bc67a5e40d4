/**
 * Test helpers: seeded random numbers and synthetic images. The source model here is written
 * independently of src/photometry/beam.ts (explicit rotation into major/minor axes), so tests
 * that compare the two check the beam orientation convention rather than assume it.
 */

/** mulberry32: small deterministic PRNG in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal deviates (Box–Muller). */
export function gauss(u: () => number): () => number {
  let spare = NaN;
  return () => {
    if (!Number.isNaN(spare)) { const v = spare; spare = NaN; return v; }
    let a = 0;
    while (a === 0) a = u();
    const b = u();
    const r = Math.sqrt(-2 * Math.log(a));
    spare = r * Math.sin(2 * Math.PI * b);
    return r * Math.cos(2 * Math.PI * b);
  };
}

/**
 * Add an elliptical Gaussian (peak `peak`) at (x0, y0). FWHMs in pixels, PA in degrees east
 * of north with north = +y and east = −x (standard RA---SIN image).
 */
export function addGaussian(
  img: Float32Array, nx: number, ny: number,
  x0: number, y0: number, peak: number,
  bmaj: number, bmin: number, bpaDeg: number,
): void {
  const pa = (bpaDeg * Math.PI) / 180;
  // major axis points from north towards east: on the pixel grid (−sin pa, +cos pa)
  const ux = -Math.sin(pa), uy = Math.cos(pa);
  const vx = Math.cos(pa), vy = Math.sin(pa); // perpendicular (minor axis)
  const R = Math.ceil(4 * bmaj);
  for (let iy = Math.max(0, Math.floor(y0) - R); iy <= Math.min(ny - 1, Math.floor(y0) + R); iy++) {
    for (let ix = Math.max(0, Math.floor(x0) - R); ix <= Math.min(nx - 1, Math.floor(x0) + R); ix++) {
      const dx = ix - x0, dy = iy - y0;
      const u = dx * ux + dy * uy, v = dx * vx + dy * vy;
      img[iy * nx + ix] += peak * Math.exp(-4 * Math.LN2 * ((u / bmaj) ** 2 + (v / bmin) ** 2));
    }
  }
}

/** White Gaussian noise of rms sigma. */
export function addNoise(img: Float32Array, sigma: number, g: () => number): void {
  for (let i = 0; i < img.length; i++) img[i] += sigma * g();
}

/**
 * Noise of rms sigma whose autocorrelation is the beam (FWHM bmaj×bmin, PA): white noise
 * convolved with the same Gaussian shrunk by √2 (a Gaussian convolved with itself widens by
 * √2), then rescaled to unit variance.
 */
export function addBeamCorrelatedNoise(
  img: Float32Array, nx: number, ny: number, sigma: number,
  bmaj: number, bmin: number, bpaDeg: number, g: () => number,
): void {
  const R = Math.ceil(2.5 * bmaj / Math.SQRT2);
  const kn = 2 * R + 1;
  const ker = new Float32Array(kn * kn);
  addGaussian(ker, kn, kn, R, R, 1, bmaj / Math.SQRT2, bmin / Math.SQRT2, bpaDeg);
  let s2 = 0;
  for (const v of ker) s2 += v * v;
  const norm = 1 / Math.sqrt(s2);
  const W = nx + 2 * R, H = ny + 2 * R;
  const white = new Float32Array(W * H);
  for (let i = 0; i < white.length; i++) white[i] = g();
  for (let iy = 0; iy < ny; iy++) {
    for (let ix = 0; ix < nx; ix++) {
      let s = 0;
      for (let ky = 0; ky < kn; ky++) {
        const row = (iy + ky) * W + ix;
        const krow = ky * kn;
        for (let kx = 0; kx < kn; kx++) s += white[row + kx] * ker[krow + kx];
      }
      img[iy * nx + ix] += sigma * norm * s;
    }
  }
}

/** Simple tangent-plane WCS for tests: pixel scale in degrees, east = −x, centre at crpix. */
export function simpleWcs(ra0: number, dec0: number, scaleDeg: number, crpix: [number, number]) {
  const d2r = Math.PI / 180;
  const sd0 = Math.sin(dec0 * d2r), cd0 = Math.cos(dec0 * d2r);
  return {
    worldToPixel(ra: number, dec: number): [number, number] {
      const da = (ra - ra0) * d2r, d = dec * d2r;
      const cosc = sd0 * Math.sin(d) + cd0 * Math.cos(d) * Math.cos(da);
      if (cosc <= 0) return [NaN, NaN];
      const l = Math.cos(d) * Math.sin(da);
      const m = Math.sin(d) * cd0 - Math.cos(d) * sd0 * Math.cos(da);
      return [crpix[0] - l / d2r / scaleDeg, crpix[1] + m / d2r / scaleDeg];
    },
    pixelToWorld(x: number, y: number): [number, number] {
      const l = -(x - crpix[0]) * scaleDeg * d2r, m = (y - crpix[1]) * scaleDeg * d2r;
      const n = Math.sqrt(1 - l * l - m * m);
      const dec = Math.asin(m * cd0 + n * sd0);
      const ra = ra0 * d2r + Math.atan2(l, n * cd0 - m * sd0);
      return [((ra / d2r) % 360 + 360) % 360, dec / d2r];
    },
  };
}
