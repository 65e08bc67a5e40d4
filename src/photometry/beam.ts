/**
 * The restoring beam as a pixel-space elliptical Gaussian (peak 1):
 *   K(dx, dy) = exp(−(a·dx² + b·dx·dy + c·dy²)),  dx, dy in pixels from the centre.
 *
 * FITS convention: BPA is the position angle of the major axis measured from north (+y)
 * through east. On a standard RA---SIN image (CDELT1 < 0) east is −x, hence `eastSign`.
 */
import { UsageError } from '../util/errors.js';

const FWHM_TO_SIGMA = 1 / (2 * Math.sqrt(2 * Math.LN2));

export interface PixelBeam {
  /** Quadratic-form coefficients in pixel offsets (see module comment). */
  a: number;
  b: number;
  c: number;
  /** FWHM of major and minor axes in pixels (along the major/minor directions). */
  bmajPix: number;
  bminPix: number;
  bpaDeg: number;
  /** Half-extent (pixels) of the ellipse at one FWHM-radius along x and y: sizes cutouts. */
  halfX: number;
  halfY: number;
}

export interface BeamOptions {
  /**
   * Pixel size in radians (|CDELT1|, |CDELT2|, or one number for square pixels). When given,
   * bmaj/bmin are taken in radians; otherwise they are in pixels.
   */
  pixelScaleRad?: number | readonly [number, number];
  /** +1 if east is +x, −1 (default) if east is −x as on a standard RA---SIN image. */
  eastSign?: 1 | -1;
}

/**
 * Build the pixel-space beam from FWHMs (pixels, or radians with `pixelScaleRad`) and the
 * position angle in degrees east of north.
 */
export function pixelBeam(bmaj: number, bmin: number, bpaDeg: number, opts: BeamOptions = {}): PixelBeam {
  if (!(bmaj > 0) || !(bmin > 0) || !Number.isFinite(bmaj) || !Number.isFinite(bmin)) {
    throw new UsageError(`beam: bmaj and bmin must be positive (got ${bmaj}, ${bmin})`);
  }
  if (!Number.isFinite(bpaDeg)) throw new UsageError(`beam: bpa must be finite (got ${bpaDeg})`);
  if (bmin > bmaj) { const t = bmaj; bmaj = bmin; bmin = t; bpaDeg += 90; }
  let sx = 1, sy = 1; // angular size of one pixel along x and y (same unit as bmaj)
  if (opts.pixelScaleRad !== undefined) {
    const s = opts.pixelScaleRad;
    sx = typeof s === 'number' ? s : s[0];
    sy = typeof s === 'number' ? s : s[1];
    if (!(sx > 0) || !(sy > 0)) throw new UsageError(`beam: pixel scale must be positive (got ${sx}, ${sy})`);
  }
  const east = opts.eastSign ?? -1;
  return pixelBeamFromJacobian(bmaj, bmin, bpaDeg, [east * sx, 0, 0, sy]);
}

/**
 * The same from the local Jacobian of the image's projection: sky offsets (east, north) =
 * J·(dx, dy) with J = [∂e/∂x, ∂e/∂y, ∂n/∂x, ∂n/∂y] (same unit as bmaj, bmin). For a plate-carrée
 * mosaic the RA pixel is cos δ narrower on the sky than CDELT1 says, and differently at each δ;
 * pixelBeam's diagonal J (the reference pixel's scale) then made the matched filter too narrow
 * and fluxes 3–7 % high.
 */
export function pixelBeamFromJacobian(bmaj: number, bmin: number, bpaDeg: number, J: readonly [number, number, number, number]): PixelBeam {
  if (!(bmaj > 0) || !(bmin > 0) || !Number.isFinite(bmaj) || !Number.isFinite(bmin)) {
    throw new UsageError(`beam: bmaj and bmin must be positive (got ${bmaj}, ${bmin})`);
  }
  if (bmin > bmaj) { const t = bmaj; bmaj = bmin; bmin = t; bpaDeg += 90; }
  const [ex, ey, nx, ny] = J;
  if (!(Math.abs(ex * ny - ey * nx) > 0) || !J.every(Number.isFinite)) throw new UsageError('beam: singular pixel Jacobian');
  // Q = sᵀ M s on the sky, M = iM·u uᵀ + im·v vᵀ with u = (sin pa, cos pa) the major axis (east, north)
  const pa = (bpaDeg * Math.PI) / 180;
  const sp = Math.sin(pa), cp = Math.cos(pa);
  const sM = bmaj * FWHM_TO_SIGMA, sm = bmin * FWHM_TO_SIGMA;
  const iM = 1 / (2 * sM * sM), im = 1 / (2 * sm * sm);
  const mee = sp * sp * iM + cp * cp * im, mnn = cp * cp * iM + sp * sp * im, men = sp * cp * (iM - im);
  // pixel form JᵀMJ
  const a = ex * ex * mee + 2 * ex * nx * men + nx * nx * mnn;
  const c = ey * ey * mee + 2 * ey * ny * men + ny * ny * mnn;
  const b = 2 * (ex * ey * mee + (ex * ny + ey * nx) * men + nx * ny * mnn);
  // Bounding box of the ellipse Q = ln 2 · 4 (i.e. one FWHM from the centre along each axis):
  // for Q(dx,dy) = a dx² + b dx dy + c dy², max |dx| on Q = q is sqrt(q·4c/(4ac − b²)).
  const det = 4 * a * c - b * b;
  const q = 4 * Math.LN2;
  const halfX = Math.sqrt((q * 4 * c) / det);
  const halfY = Math.sqrt((q * 4 * a) / det);
  // pixel sizes along x and y on the sky, for the FWHMs in pixels
  const sx = Math.hypot(ex, nx), sy = Math.hypot(ey, ny);
  return {
    a, b, c,
    bmajPix: bmaj / Math.min(sx, sy),
    bminPix: bmin / Math.max(sx, sy),
    bpaDeg,
    halfX, halfY,
  };
}

/** Beam value (peak 1) at pixel offset (dx, dy) from the centre. */
export function beamValue(beam: PixelBeam, dx: number, dy: number): number {
  return Math.exp(-(beam.a * dx * dx + beam.b * dx * dy + beam.c * dy * dy));
}
