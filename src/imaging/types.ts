/** Shared data shapes of the imaging library. */

/** Stokes-I visibilities of one measurement set (or group), flat typed arrays. */
export interface VisInput {
  nRow: number;
  nChan: number;
  /** 3·nRow, metres, baseline = x(ant2) − x(ant1), (u, v, w) per row. */
  uvw: Float64Array;
  /** nChan channel frequencies, Hz. */
  freq: Float64Array;
  /** 2·nRow·nChan interleaved complex, row-major (row, chan). */
  vis: Float32Array;
  /** nRow·nChan natural weights = 1/σ² with σ the noise of each of re and im (0 = flagged). */
  weight: Float32Array;
  /** Optional per-row time chunk (0…K−1) for the beam-aware predict (ImagingOptions.beamChunks). */
  rowChunk?: Uint8Array;
}

/**
 * Image grid. Pixel (ix, iy), 0-based, row-major with iy the row (FITS order: row 0 = south):
 *   l = −(ix − nx/2)·cellRad   (l grows to the east, so ix grows to the west: CDELT1 < 0)
 *   m = +(iy − ny/2)·cellRad
 * SIN projection about the phase centre, which sits on pixel (nx/2, ny/2) (FITS CRPIX = nx/2+1, ny/2+1).
 */
export interface ImageGeometry {
  nx: number;
  ny: number;
  /** Pixel size in direction cosine (≈ radians), same on both axes. */
  cellRad: number;
  /**
   * Slant (ξ, η) of the pixel plane (FITS SIN with PV2_1 = ξ, PV2_2 = η; absent = (0, 0)):
   *   X = −(ix − nx/2)·cellRad = l + ξ(1 − n),  Y = (iy − ny/2)·cellRad = m + η(1 − n).
   * The imager chooses it from the array's best-fit w-plane (slant.ts), which leaves only the
   * residual w to w-stack; NCP is the special case (0, cot δ0) of an east–west array.
   */
  slant?: readonly [number, number];
}
