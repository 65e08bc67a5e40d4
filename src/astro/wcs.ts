/**
 * Celestial world coordinate systems for FITS images (Greisen & Calabretta 2002, Calabretta &
 * Greisen 2002 — "Paper II"), following WCSLIB's cel/sph/prj algorithms, including its
 * LONPOLE/LATPOLE defaults and its special cases for a celestial pole at the native pole.
 *
 * Projections: SIN (incl. slant PV2_1/PV2_2 and AIPS NCP), TAN, ARC, CAR. Axis pairs RA/DEC,
 * GLON/GLAT (and ELON/ELAT, SLON/SLAT: treated as plain spherical coordinates, no frame change).
 * Linear part: CDi_j, or PCi_j with CDELTi, or CDELTi with AIPS CROTA2.
 *
 * Pixel coordinates are 0-based everywhere in this API (FITS CRPIX is 1-based: pixel index i has
 * FITS pixel coordinate i + 1). World coordinates are radians, except where a name ends in Deg.
 */
import { InputError, DsaError } from '../util/errors.js';
import type { FitsHeader } from '../io/fits.js';

const D2R = Math.PI / 180;
const R2D = 180 / Math.PI;
const TWO_PI = 2 * Math.PI;
const HALF_PI = Math.PI / 2;

export type Projection = 'SIN' | 'TAN' | 'ARC' | 'CAR';

/** Spectral axis (FREQ) description kept for writing images. */
export interface SpectralAxis {
  ctype: string; // 'FREQ'
  crval: number; // Hz
  cdelt: number; // Hz
  crpix: number; // 1-based
  cunit: string; // 'Hz'
}

/** Everything that defines a celestial WCS; degrees at this boundary (as in FITS). */
export interface WcsParams {
  /** CTYPE of the longitude and latitude axes, e.g. ['RA---SIN', 'DEC--SIN']. */
  ctype: [string, string];
  /** 1-based FITS reference pixel of axes 1 and 2. */
  crpix: [number, number];
  /** Reference world coordinate (lon, lat), degrees. */
  crval: [number, number];
  /** CDELT of axes 1 and 2 (degrees/pixel); 1 when the header used CDi_j. */
  cdelt: [number, number];
  /** PC matrix row-major [PC1_1, PC1_2, PC2_1, PC2_2] (or CD when cdelt = [1,1]). */
  pc: [number, number, number, number];
  /** Celestial axes in pixel-axis order: false when axis 1 is latitude (e.g. DEC, RA). */
  lonFirst?: boolean;
  lonpole?: number;
  latpole?: number;
  /** PV2_1, PV2_2 (SIN slant ξ, η). */
  pv?: [number, number];
  radesys?: string;
  equinox?: number;
  spectral?: SpectralAxis;
  /** Stokes value of a degenerate STOKES axis (1 = I). */
  stokes?: number;
}

/** sin/cos of degrees, exact at multiples of 90° (as WCSLIB's sincosd) so pole tests are exact. */
function sind(d: number): number {
  const r = d % 90 === 0 ? (((d / 90) % 4) + 4) % 4 : -1;
  if (r >= 0) return [0, 1, 0, -1][r];
  return Math.sin(d * D2R);
}
function cosd(d: number): number {
  const r = d % 90 === 0 ? (((d / 90) % 4) + 4) % 4 : -1;
  if (r >= 0) return [1, 0, -1, 0][r];
  return Math.cos(d * D2R);
}

/** Scratch outputs for scalar transforms: [a, b]. Avoids allocating in hot loops. */
const S = new Float64Array(2);

export class Wcs {
  readonly params: Readonly<WcsParams>;
  readonly projection: Projection;
  /** 'RA' | 'GLON' | 'ELON' | ... (the CTYPE prefix of the longitude axis). */
  readonly lonType: string;
  readonly latType: string;
  /** 'equatorial' | 'galactic' | 'ecliptic' | 'other'. */
  readonly frame: 'equatorial' | 'galactic' | 'ecliptic' | 'other';
  // Linear transform (degrees) pixel offset → intermediate (lon-axis, lat-axis) and inverse.
  private readonly m: Float64Array; // [a, b, c, d]: xi = a dx + b dy; eta = c dx + d dy
  private readonly mi: Float64Array;
  private readonly r1: number; // CRPIX − 1 (0-based reference pixel)
  private readonly r2: number;
  // Euler angles (radians) and their exact sin/cos.
  private readonly eul0: number; // celestial longitude of the native pole αp
  private readonly eul1: number; // π/2 − δp
  private readonly eul2: number; // native longitude of the celestial pole φp
  private readonly cosE1: number; // = sin δp
  private readonly sinE1: number; // = cos δp
  private readonly xi: number; // SIN slant parameters
  private readonly eta: number;
  /** Native latitude/longitude of the fiducial point (degrees), by projection. */
  private readonly proj: number; // 0 SIN, 1 TAN, 2 ARC, 3 CAR

  constructor(p: WcsParams, subject = 'WCS') {
    const lonFirst = p.lonFirst ?? true;
    const lonC = (lonFirst ? p.ctype[0] : p.ctype[1]).toUpperCase();
    const latC = (lonFirst ? p.ctype[1] : p.ctype[0]).toUpperCase();
    const pl = parseCtype(lonC);
    const pt = parseCtype(latC);
    if (!pl || !pt || pl.proj !== pt.proj) {
      throw new InputError(subject, `unsupported celestial axes '${p.ctype[0]}', '${p.ctype[1]}'`);
    }
    let projName = pl.proj;
    let pv: [number, number] = p.pv ? [p.pv[0], p.pv[1]] : [0, 0];
    if (projName === 'NCP') {
      // AIPS NCP = SIN with ξ = 0, η = cot δ0 (Paper II §6.1.1); refuse at the equator.
      if (Math.abs(p.crval[lonFirst ? 1 : 0]) < 1e-10) throw new InputError(subject, 'NCP projection undefined at declination 0');
      projName = 'SIN';
      const dec0 = p.crval[lonFirst ? 1 : 0];
      pv = [0, cosd(dec0) / sind(dec0)];
    }
    if (!['SIN', 'TAN', 'ARC', 'CAR'].includes(projName)) {
      throw new InputError(subject, `unsupported projection '${projName}' (supported: SIN, TAN, ARC, CAR, NCP)`);
    }
    this.projection = projName as Projection;
    this.proj = ['SIN', 'TAN', 'ARC', 'CAR'].indexOf(projName);
    this.lonType = pl.prefix;
    this.latType = pt.prefix;
    this.frame = pl.prefix === 'RA' ? 'equatorial' : pl.prefix === 'GLON' ? 'galactic' : pl.prefix === 'ELON' ? 'ecliptic' : 'other';
    this.params = Object.freeze({ ...p, lonFirst, pv: p.pv });
    this.xi = pv[0];
    this.eta = pv[1];

    // Linear part: intermediate coordinates of pixel axes 1,2 = diag(cdelt)·PC·(p − crpix).
    const [c1, c2] = p.cdelt;
    const [p11, p12, p21, p22] = p.pc;
    let a = c1 * p11, b = c1 * p12, c = c2 * p21, d = c2 * p22;
    if (!lonFirst) [a, b, c, d] = [c, d, a, b]; // rows reordered to (lon, lat)
    const det = a * d - b * c;
    if (!(Math.abs(det) > 0) || !Number.isFinite(det)) throw new InputError(subject, 'singular WCS linear transformation (CDELT/PC/CD)');
    this.m = Float64Array.of(a, b, c, d);
    this.mi = Float64Array.of(d / det, -b / det, -c / det, a / det);
    this.r1 = p.crpix[0] - 1;
    this.r2 = p.crpix[1] - 1;

    // Celestial rotation (WCSLIB celset).
    const lng0 = lonFirst ? p.crval[0] : p.crval[1];
    const lat0 = lonFirst ? p.crval[1] : p.crval[0];
    const phi0 = 0;
    const theta0 = this.proj === 3 ? 0 : 90;
    const phip = p.lonpole ?? (lat0 < theta0 ? 180 : 0);
    let latp = p.latpole ?? 90;
    let lngp: number;
    if (theta0 === 90) {
      lngp = lng0;
      latp = lat0;
    } else {
      const slat0 = sind(lat0), clat0 = cosd(lat0);
      const sthe0 = sind(theta0), cthe0 = cosd(theta0);
      let sinphi: number, cosphi: number, u = 0, v = 0, z = 1;
      if (phip === phi0) {
        sinphi = 0;
        cosphi = 1;
        u = theta0;
        v = 90 - lat0;
      } else {
        sinphi = sind(phip - phi0);
        cosphi = cosd(phip - phi0);
        const x = cthe0 * cosphi, y = sthe0;
        z = Math.sqrt(x * x + y * y);
        if (z === 0) {
          if (slat0 !== 0) throw new InputError(subject, 'invalid celestial parameters (LONPOLE/CRVAL)');
        } else {
          if (Math.abs(slat0 / z) > 1) throw new InputError(subject, 'invalid celestial parameters: no solution for the native pole');
          u = Math.atan2(y, x) * R2D;
          v = Math.acos(slat0 / z) * R2D;
        }
      }
      if (z !== 0) {
        const tol = 1e-10;
        let latp1 = u + v;
        if (latp1 > 180) latp1 -= 360;
        else if (latp1 < -180) latp1 += 360;
        let latp2 = u - v;
        if (latp2 > 180) latp2 -= 360;
        else if (latp2 < -180) latp2 += 360;
        if (Math.abs(latp - latp1) < Math.abs(latp - latp2)) latp = Math.abs(latp1) < 90 + tol ? latp1 : latp2;
        else latp = Math.abs(latp2) < 90 + tol ? latp2 : latp1;
        if (latp > 90) latp = 90;
        if (latp < -90) latp = -90;
      }
      const zz = cosd(latp) * clat0;
      if (Math.abs(zz) < 1e-10) {
        if (Math.abs(clat0) < 1e-10) lngp = lng0;
        else if (latp > 0) lngp = lng0 + phip - phi0 - 180;
        else lngp = lng0 - phip + phi0;
      } else {
        const x = (sthe0 - sind(latp) * slat0) / zz;
        const y = (sinphi * cthe0) / clat0;
        if (x === 0 && y === 0) throw new InputError(subject, 'invalid celestial parameters');
        lngp = lng0 - Math.atan2(y, x) * R2D;
      }
      if (lng0 >= 0) {
        if (lngp < 0) lngp += 360;
        else if (lngp > 360) lngp -= 360;
      } else {
        if (lngp > 0) lngp -= 360;
        else if (lngp < -360) lngp += 360;
      }
    }
    this.eul0 = lngp * D2R;
    this.eul1 = (90 - latp) * D2R;
    this.eul2 = phip * D2R;
    this.cosE1 = cosd(90 - latp);
    this.sinE1 = sind(90 - latp);
  }

  /** Parse the celestial WCS of a FITS header (celestial axes must be pixel axes 1 and 2). */
  static fromHeader(h: FitsHeader, subject = 'FITS'): Wcs {
    const naxis = h.getNumber('WCSAXES') ?? h.getNumber('NAXIS') ?? 2;
    const ct = (i: number): string => String(h.get(`CTYPE${i}`) ?? '').trim().toUpperCase();
    let lonAx = 0, latAx = 0;
    for (let i = 1; i <= Math.max(naxis, 2); i++) {
      const c = ct(i);
      if (/^(RA--|GLON|ELON|SLON|HLON)/.test(c)) lonAx = i;
      else if (/^(DEC-|GLAT|ELAT|SLAT|HLAT)/.test(c)) latAx = i;
    }
    if (!lonAx || !latAx) throw new InputError(subject, 'no celestial axes (RA/DEC or GLON/GLAT CTYPE) in header');
    if (!((lonAx === 1 && latAx === 2) || (lonAx === 2 && latAx === 1))) {
      throw new InputError(subject, `celestial axes must be pixel axes 1 and 2 (found ${lonAx} and ${latAx})`);
    }
    const num = (k: string, d: number): number => {
      const v = h.get(k);
      return typeof v === 'number' ? v : d;
    };
    let cdelt: [number, number] = [num('CDELT1', 1), num('CDELT2', 1)];
    let pc: [number, number, number, number] = [1, 0, 0, 1];
    const hasCd = ['CD1_1', 'CD1_2', 'CD2_1', 'CD2_2'].some((k) => h.has(k));
    const hasPc = ['PC1_1', 'PC1_2', 'PC2_1', 'PC2_2'].some((k) => h.has(k));
    if (hasPc) {
      pc = [num('PC1_1', 1), num('PC1_2', 0), num('PC2_1', 0), num('PC2_2', 1)];
    } else if (hasCd) {
      cdelt = [1, 1];
      pc = [num('CD1_1', 0), num('CD1_2', 0), num('CD2_1', 0), num('CD2_2', 0)];
    } else {
      // AIPS convention: CROTA of the latitude axis rotates the pixel grid (Paper II §6.1).
      const rho = num(`CROTA${latAx}`, 0);
      if (rho !== 0) {
        const cr = cosd(rho), sr = sind(rho);
        const lam = cdelt[1] / cdelt[0];
        pc = [cr, -sr * lam, sr / lam, cr];
      }
    }
    const pv1 = h.getNumber(`PV${latAx}_1`);
    const pv2 = h.getNumber(`PV${latAx}_2`);
    // The spectral axis (if any), kept so that an image can be rewritten faithfully.
    let spectral: SpectralAxis | undefined;
    let stokes: number | undefined;
    for (let i = 3; i <= naxis; i++) {
      const c = ct(i);
      if (c.startsWith('FREQ')) {
        spectral = { ctype: 'FREQ', crval: num(`CRVAL${i}`, 0), cdelt: num(`CDELT${i}`, 1), crpix: num(`CRPIX${i}`, 1), cunit: String(h.get(`CUNIT${i}`) ?? 'Hz').trim() };
      } else if (c === 'STOKES') {
        stokes = num(`CRVAL${i}`, 1) + (1 - num(`CRPIX${i}`, 1)) * num(`CDELT${i}`, 1);
      }
    }
    const radesys = h.getString('RADESYS') ?? h.getString('RADECSYS');
    const equinox = h.getNumber('EQUINOX') ?? h.getNumber('EPOCH');
    return new Wcs(
      {
        ctype: [ct(1), ct(2)],
        crpix: [num('CRPIX1', 0), num('CRPIX2', 0)],
        crval: [num('CRVAL1', 0), num('CRVAL2', 0)],
        cdelt,
        pc,
        lonFirst: lonAx === 1,
        lonpole: h.getNumber('LONPOLE'),
        latpole: h.getNumber('LATPOLE'),
        pv: pv1 !== undefined || pv2 !== undefined ? [pv1 ?? 0, pv2 ?? 0] : undefined,
        radesys: radesys?.trim(),
        equinox,
        spectral,
        stokes,
      },
      subject,
    );
  }

  /** The same celestial WCS with a FREQ axis (Hz) and a Stokes value (1 = I). */
  withSpectral(freqHz: number, bandwidthHz = 1, stokes = this.params.stokes ?? 1): Wcs {
    return new Wcs({ ...this.params, spectral: { ctype: 'FREQ', crval: freqHz, cdelt: bandwidthHz, crpix: 1, cunit: 'Hz' }, stokes });
  }

  /** Reference world coordinate (lon, lat) in radians. */
  get refLonLat(): [number, number] {
    const p = this.params;
    return p.lonFirst ? [p.crval[0] * D2R, p.crval[1] * D2R] : [p.crval[1] * D2R, p.crval[0] * D2R];
  }

  /** Approximate pixel scale (degrees per pixel) along x and y at the reference pixel. */
  get cellDeg(): [number, number] {
    const [a, b, c, d] = this.m;
    return [Math.hypot(a, c), Math.hypot(b, d)];
  }

  /** Natives (φ, θ) from intermediate coordinates X, Y (radians) into S. NaN if off-projection. */
  private x2s(X: number, Y: number): void {
    switch (this.proj) {
      case 0: {
        // SIN (general slant form; ξ = η = 0 is the orthographic case).
        const r2 = X * X + Y * Y;
        let t: number;
        const xi = this.xi, eta = this.eta;
        if (xi === 0 && eta === 0) {
          if (r2 > 1) {
            S[0] = NaN;
            S[1] = NaN;
            return;
          }
          t = r2 / (1 + Math.sqrt(1 - r2)); // t = 1 − sin θ without cancellation
        } else {
          t = slantOneMinusN(X, Y, xi, eta);
          if (!(t >= 0)) {
            S[0] = NaN;
            S[1] = NaN;
            return;
          }
        }
        const ct = Math.sqrt(Math.max(0, t * (2 - t)));
        const px = X - xi * t, py = -(Y - eta * t);
        S[0] = px === 0 && py === 0 ? 0 : Math.atan2(px, py);
        S[1] = Math.atan2(1 - t, ct);
        return;
      }
      case 1: {
        const r = Math.sqrt(X * X + Y * Y);
        S[0] = r === 0 ? 0 : Math.atan2(X, -Y);
        S[1] = Math.atan2(1, r);
        return;
      }
      case 2: {
        const r = Math.sqrt(X * X + Y * Y);
        if (r > Math.PI) {
          S[0] = NaN;
          S[1] = NaN;
          return;
        }
        S[0] = r === 0 ? 0 : Math.atan2(X, -Y);
        S[1] = HALF_PI - r;
        return;
      }
      default: {
        if (Math.abs(X) > Math.PI || Math.abs(Y) > HALF_PI) {
          S[0] = NaN;
          S[1] = NaN;
          return;
        }
        S[0] = X;
        S[1] = Y;
      }
    }
  }

  /** Intermediate X, Y (radians) from natives φ, θ into S; NaN if not projectable. */
  private s2x(phi: number, theta: number): void {
    switch (this.proj) {
      case 0: {
        const st = Math.sin(theta), ct = Math.cos(theta);
        // The far hemisphere (behind the tangent plane) is not visible.
        if (st < 0) {
          S[0] = NaN;
          S[1] = NaN;
          return;
        }
        const t = 1 - st;
        S[0] = ct * Math.sin(phi) + this.xi * t;
        S[1] = -ct * Math.cos(phi) + this.eta * t;
        return;
      }
      case 1: {
        const st = Math.sin(theta);
        if (st <= 0) {
          S[0] = NaN;
          S[1] = NaN;
          return;
        }
        const r = Math.cos(theta) / st;
        S[0] = r * Math.sin(phi);
        S[1] = -r * Math.cos(phi);
        return;
      }
      case 2: {
        const r = HALF_PI - theta;
        S[0] = r * Math.sin(phi);
        S[1] = -r * Math.cos(phi);
        return;
      }
      default:
        S[0] = phi;
        S[1] = theta;
    }
  }

  /** Native (φ, θ) → celestial (lon, lat) into S (WCSLIB sphx2s). */
  private nativeToCel(phi: number, theta: number): void {
    if (this.sinE1 === 0) {
      if (this.cosE1 > 0) {
        S[0] = norm2pi(phi + (this.eul0 + Math.PI - this.eul2));
        S[1] = theta;
      } else {
        S[0] = norm2pi(this.eul0 + this.eul2 - phi);
        S[1] = -theta;
      }
      return;
    }
    const st = Math.sin(theta), ct = Math.cos(theta);
    const dphi = phi - this.eul2;
    const cdp = Math.cos(dphi);
    let x = st * this.sinE1 - ct * this.cosE1 * cdp;
    if (Math.abs(x) < 1e-5) x = -Math.cos(theta + this.eul1) + ct * this.cosE1 * (1 - cdp);
    const y = -ct * Math.sin(dphi);
    const dlng = x !== 0 || y !== 0 ? Math.atan2(y, x) : this.eul1 < HALF_PI ? dphi + Math.PI : -dphi;
    S[0] = norm2pi(this.eul0 + dlng);
    const z = st * this.cosE1 + ct * this.sinE1 * cdp;
    S[1] = Math.abs(z) > 0.99 ? Math.sign(z) * Math.acos(Math.min(1, Math.sqrt(x * x + y * y))) : Math.asin(z);
  }

  /** Celestial (lon, lat) → native (φ, θ) into S (WCSLIB sphs2x); φ in [−π, π]. */
  private celToNative(lng: number, lat: number): void {
    if (this.sinE1 === 0) {
      if (this.cosE1 > 0) {
        S[0] = normPi(lng + (this.eul2 - Math.PI - this.eul0));
        S[1] = lat;
      } else {
        S[0] = normPi(this.eul2 + this.eul0 - lng);
        S[1] = -lat;
      }
      return;
    }
    const sl = Math.sin(lat), cl = Math.cos(lat);
    const dlng = lng - this.eul0;
    const cdl = Math.cos(dlng);
    let x = sl * this.sinE1 - cl * this.cosE1 * cdl;
    if (Math.abs(x) < 1e-5) x = -Math.cos(lat + this.eul1) + cl * this.cosE1 * (1 - cdl);
    const y = -cl * Math.sin(dlng);
    const dphi = x !== 0 || y !== 0 ? Math.atan2(y, x) : this.eul1 < HALF_PI ? dlng - Math.PI : -dlng;
    S[0] = normPi(this.eul2 + dphi);
    const z = sl * this.cosE1 + cl * this.sinE1 * cdl;
    S[1] = Math.abs(z) > 0.99 ? Math.sign(z) * Math.acos(Math.min(1, Math.sqrt(x * x + y * y))) : Math.asin(z);
  }

  /** 0-based pixel → world (lon, lat) radians into S. */
  private p2w(px: number, py: number): void {
    const dx = px - this.r1, dy = py - this.r2;
    const m = this.m;
    const X = (m[0] * dx + m[1] * dy) * D2R;
    const Y = (m[2] * dx + m[3] * dy) * D2R;
    this.x2s(X, Y);
    if (Number.isNaN(S[0])) {
      S[1] = NaN;
      return;
    }
    this.nativeToCel(S[0], S[1]);
  }

  /** World (lon, lat) radians → 0-based pixel into S. */
  private w2p(lon: number, lat: number): void {
    this.celToNative(lon, lat);
    this.s2x(S[0], S[1]);
    const X = S[0] * R2D, Y = S[1] * R2D;
    const mi = this.mi;
    S[0] = mi[0] * X + mi[1] * Y + this.r1;
    S[1] = mi[2] * X + mi[3] * Y + this.r2;
  }

  /** 0-based pixel (x, y) → world { lon, lat } in radians (NaN outside the projection). */
  pixelToWorld(x: number, y: number): { lon: number; lat: number } {
    this.p2w(x, y);
    return { lon: S[0], lat: S[1] };
  }

  /** World (lon, lat) radians → 0-based pixel { x, y } (NaN where not projectable). */
  worldToPixel(lon: number, lat: number): { x: number; y: number } {
    this.w2p(lon, lat);
    return { x: S[0], y: S[1] };
  }

  /** Degrees convenience at I/O boundaries: [lonDeg, latDeg]. */
  pixelToWorldDeg(x: number, y: number): [number, number] {
    this.p2w(x, y);
    return [S[0] * R2D, S[1] * R2D];
  }

  worldToPixelDeg(lonDeg: number, latDeg: number): [number, number] {
    this.w2p(lonDeg * D2R, latDeg * D2R);
    return [S[0], S[1]];
  }

  /** Vectorised pixel → world (radians). Output arrays may alias the inputs. */
  pixelsToWorld(xs: Float64Array, ys: Float64Array, outLon: Float64Array, outLat: Float64Array): void {
    const n = xs.length;
    for (let i = 0; i < n; i++) {
      this.p2w(xs[i], ys[i]);
      outLon[i] = S[0];
      outLat[i] = S[1];
    }
  }

  /** Vectorised world (radians) → pixel. Output arrays may alias the inputs. */
  worldsToPixel(lons: Float64Array, lats: Float64Array, outX: Float64Array, outY: Float64Array): void {
    const n = lons.length;
    for (let i = 0; i < n; i++) {
      this.w2p(lons[i], lats[i]);
      outX[i] = S[0];
      outY[i] = S[1];
    }
  }

  /**
   * Write the WCS cards of a 4-axis radio image (lon, lat, FREQ, STOKES) into a header.
   * The spectral/Stokes axes are written only when `axes` ≥ 3 / 4.
   */
  writeToHeader(h: FitsHeader, axes = 4): void {
    const p = this.params;
    if (!p.lonFirst) throw new DsaError('WCS: writing latitude-first axes is not supported');
    const ctype = (s: string): string => s;
    h.set('WCSAXES', axes, 'number of WCS axes');
    h.set('CTYPE1', ctype(p.ctype[0]));
    h.setFloat('CRVAL1', p.crval[0], '[deg]');
    h.setFloat('CDELT1', p.cdelt[0], '[deg]');
    h.setFloat('CRPIX1', p.crpix[0], 'reference pixel (1-based)');
    h.set('CUNIT1', 'deg');
    h.set('CTYPE2', ctype(p.ctype[1]));
    h.setFloat('CRVAL2', p.crval[1], '[deg]');
    h.setFloat('CDELT2', p.cdelt[1], '[deg]');
    h.setFloat('CRPIX2', p.crpix[1], 'reference pixel (1-based)');
    h.set('CUNIT2', 'deg');
    const [p11, p12, p21, p22] = p.pc;
    if (!(p11 === 1 && p12 === 0 && p21 === 0 && p22 === 1)) {
      h.setFloat('PC1_1', p11);
      h.setFloat('PC1_2', p12);
      h.setFloat('PC2_1', p21);
      h.setFloat('PC2_2', p22);
    }
    if (axes >= 3) {
      const s = p.spectral;
      if (!s) throw new DsaError('WCS: no spectral axis to write (build the WCS with freqHz, or use withSpectral())');
      h.set('CTYPE3', s.ctype);
      h.setFloat('CRVAL3', s.crval, '[Hz]');
      h.setFloat('CDELT3', s.cdelt, '[Hz]');
      h.setFloat('CRPIX3', s.crpix);
      h.set('CUNIT3', s.cunit);
    }
    if (axes >= 4) {
      h.set('CTYPE4', 'STOKES');
      h.setFloat('CRVAL4', p.stokes ?? 1, '1 = I');
      h.setFloat('CDELT4', 1);
      h.setFloat('CRPIX4', 1);
    }
    if (p.lonpole !== undefined) h.setFloat('LONPOLE', p.lonpole);
    if (p.latpole !== undefined) h.setFloat('LATPOLE', p.latpole);
    if (p.pv && (p.pv[0] !== 0 || p.pv[1] !== 0)) {
      h.setFloat('PV2_1', p.pv[0]);
      h.setFloat('PV2_2', p.pv[1]);
    }
    if (this.frame === 'equatorial') {
      h.set('RADESYS', p.radesys ?? 'ICRS');
      if ((p.radesys ?? 'ICRS') !== 'ICRS' && p.equinox !== undefined) h.setFloat('EQUINOX', p.equinox);
    }
    if (p.spectral) h.set('SPECSYS', 'TOPOCENT', 'frequencies are topocentric');
  }
}

function parseCtype(c: string): { prefix: string; proj: string } | null {
  // 'RA---SIN' → RA + SIN ; 'GLON-CAR' → GLON + CAR. Algorithm code is the last 3 chars of 8.
  const m = /^([A-Z]{1,4})-*-([A-Z0-9]{3})$/.exec(c.trim());
  if (!m) return null;
  const prefix = m[1];
  if (!['RA', 'DEC', 'GLON', 'GLAT', 'ELON', 'ELAT', 'SLON', 'SLAT', 'HLON', 'HLAT'].includes(prefix)) return null;
  return { prefix, proj: m[2] };
}

function norm2pi(a: number): number {
  a %= TWO_PI;
  return a < 0 ? a + TWO_PI : a;
}

function normPi(a: number): number {
  a %= TWO_PI;
  if (a > Math.PI) a -= TWO_PI;
  else if (a < -Math.PI) a += TWO_PI;
  return a;
}

/**
 * 1 − n = 1 − sin θ of slant-SIN intermediate coordinates (X, Y) (radians; FITS Paper II §5.1.5:
 * X = l + ξ(1 − n), Y = m + η(1 − n)): the small root of
 * (1 + ξ² + η²)d² − 2(1 + ξX + ηY)d + X² + Y² = 0, written without cancellation. NaN where there is
 * no real root (off the projection).
 */
export function slantOneMinusN(X: number, Y: number, xi: number, eta: number): number {
  const a = 1 + xi * xi + eta * eta, b = 1 + xi * X + eta * Y, c = X * X + Y * Y;
  const disc = b * b - a * c;
  return disc >= 0 ? c / (b + Math.sqrt(disc)) : NaN;
}

export interface SinWcsOptions {
  raDeg: number;
  decDeg: number;
  /** Pixel size, degrees (RA increases to the left: CDELT1 = −cell). */
  cellDeg: number;
  nx: number;
  ny: number;
  freqHz?: number;
  bandwidthHz?: number;
  /** Stokes code of the single plane (1 = I). */
  stokes?: number;
  radesys?: string;
  /** Projection (default SIN); TAN/ARC/CAR use the same layout. */
  projection?: Projection;
  /** SIN slant (ξ, η) = (PV2_1, PV2_2); omitted or (0, 0) = orthographic. */
  pv?: readonly [number, number];
}

/**
 * Builder for our image writer and mosaics. Convention: the phase centre (raDeg, decDeg) is at
 * 0-based pixel (nx/2, ny/2) for even sizes — FITS CRPIX = (nx/2 + 1, ny/2 + 1) — the pixel an
 * FFT imager puts at the origin; for odd sizes floor(n/2) is used (CRPIX = floor(n/2) + 1).
 */
export function makeSinWcs(o: SinWcsOptions): Wcs {
  const proj = o.projection ?? 'SIN';
  const ra = ((o.raDeg % 360) + 360) % 360;
  if (!(o.cellDeg > 0)) throw new DsaError(`makeSinWcs: cellDeg must be > 0 (got ${o.cellDeg})`);
  return new Wcs({
    ctype: [`RA---${proj}`, `DEC--${proj}`],
    crpix: [Math.floor(o.nx / 2) + 1, Math.floor(o.ny / 2) + 1],
    crval: [ra, o.decDeg],
    cdelt: [-o.cellDeg, o.cellDeg],
    pc: [1, 0, 0, 1],
    lonFirst: true,
    radesys: o.radesys ?? 'ICRS',
    spectral: o.freqHz !== undefined ? { ctype: 'FREQ', crval: o.freqHz, cdelt: o.bandwidthHz ?? 1, crpix: 1, cunit: 'Hz' } : undefined,
    stokes: o.stokes ?? 1,
    pv: o.pv && (o.pv[0] !== 0 || o.pv[1] !== 0) ? [o.pv[0], o.pv[1]] : undefined,
  });
}

// ICRS ↔ Galactic: the rotation matrix of the Hipparcos catalogue (ESA 1997, vol. 1 §1.5.3),
// rows are the Galactic x, y, z axes in ICRS.
const GAL = [
  -0.0548755604162154, -0.8734370902348850, -0.4838350155487132,
  +0.4941094278755837, -0.4448296299600112, +0.7469822444972189,
  -0.8676661490190047, -0.1980763734312015, +0.4559837761750669,
];

/** ICRS (ra, dec) radians → Galactic (l, b) radians. */
export function icrsToGalactic(ra: number, dec: number): [number, number] {
  const cd = Math.cos(dec);
  const x = cd * Math.cos(ra), y = cd * Math.sin(ra), z = Math.sin(dec);
  const gx = GAL[0] * x + GAL[1] * y + GAL[2] * z;
  const gy = GAL[3] * x + GAL[4] * y + GAL[5] * z;
  const gz = GAL[6] * x + GAL[7] * y + GAL[8] * z;
  return [norm2pi(Math.atan2(gy, gx)), Math.atan2(gz, Math.hypot(gx, gy))];
}

/** Galactic (l, b) radians → ICRS (ra, dec) radians. */
export function galacticToIcrs(l: number, b: number): [number, number] {
  const cb = Math.cos(b);
  const gx = cb * Math.cos(l), gy = cb * Math.sin(l), gz = Math.sin(b);
  const x = GAL[0] * gx + GAL[3] * gy + GAL[6] * gz;
  const y = GAL[1] * gx + GAL[4] * gy + GAL[7] * gz;
  const z = GAL[2] * gx + GAL[5] * gy + GAL[8] * gz;
  return [norm2pi(Math.atan2(y, x)), Math.atan2(z, Math.hypot(x, y))];
}
