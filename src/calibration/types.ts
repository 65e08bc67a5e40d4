/**
 * Shared shapes for the calibration library.
 *
 * Layouts (all row-major, matching the MS-equivalent table):
 *  - visibility cubes (time, baseline, channel, pol); complex values interleaved [re, im];
 *  - K table  [ant, pol];  BP table [ant, chan, pol];  G table [time, ant, pol].
 *
 * Gain convention (used by every solver and by `apply`):
 *   V_ij(ν, t) = g_i(ν, t) · conj(g_j(ν, t)) · M_ij(ν, t),   baseline = (ant1 = i, ant2 = j),
 *   g_i(ν, t) = K_i(ν) · B_i(ν) · G_i(t),   K_i(ν) = exp(−2πi · ν · τ_i)
 * with ν the absolute sky frequency in Hz and τ_i the delay in seconds (stored in ns): a
 * positive τ_i means antenna i's signal arrives late. Pols are solved independently (diagonal
 * Jones); an unpolarised source of flux S has XX = YY = S (CASA convention).
 */

/** Visibilities and model for a set of integrations (a whole group or a time chunk). */
export interface VisChunk {
  nTime: number;
  nBl: number;
  nChan: number;
  nPol: number;
  /** Number of antennas (indices in ant1/ant2 are < nAnt). */
  nAnt: number;
  /** Per-baseline antenna indices (autocorrelations allowed; solvers ignore them). */
  ant1: Int32Array;
  ant2: Int32Array;
  /** Channel frequencies, Hz, ascending (length nChan). */
  freqHz: Float64Array;
  /** Integration mid-times, MJD seconds UTC (length nTime). */
  timeMjdSec: Float64Array;
  /** DATA, complex64 interleaved, length 2·nTime·nBl·nChan·nPol. */
  data: Float32Array;
  /** MODEL_DATA, same layout as data (solvers need it; apply does not). */
  model?: Float32Array;
  /** FLAG, 1 = flagged, length nTime·nBl·nChan·nPol. */
  flag: Uint8Array;
  /** WEIGHT_SPECTRUM, same length as flag; absent means unit weights. */
  weight?: Float32Array;
}

/** Delay (K) solutions. */
export interface DelayTable {
  type: 'K';
  nAnt: number;
  nPol: number;
  /** τ per [ant, pol], nanoseconds, τ_refant = 0. */
  delayNs: Float64Array;
  /** 1 = solution flagged, per [ant, pol]. */
  flag: Uint8Array;
  /** Per [ant, pol] amplitude SNR of the data that determine the solution. */
  snr: Float32Array;
  refant: number;
  /** Mid-time of the data solved, MJD seconds. */
  timeMjdSec: number;
}

/** Bandpass (BP) solutions. */
export interface BandpassTable {
  type: 'BP';
  nAnt: number;
  nChan: number;
  nPol: number;
  freqHz: Float64Array;
  /** Complex gain per [ant, chan, pol], interleaved; unit mean amplitude per ant/pol. */
  gain: Float32Array;
  flag: Uint8Array;
  snr: Float32Array;
  refant: number;
  timeMjdSec: number;
}

export type GainMode = 'p' | 'ap';
/** Solution interval: one for all data, one per integration, or seconds. */
export type SolInt = 'inf' | 'int' | number;

/** Complex gain (G) solutions per solution interval. */
export interface GainTable {
  type: 'G';
  nTime: number;
  nAnt: number;
  nPol: number;
  /** Mean time of each solution interval, MJD seconds (length nTime). */
  timeMjdSec: Float64Array;
  /** Complex gain per [time, ant, pol], interleaved. */
  gain: Float32Array;
  flag: Uint8Array;
  snr: Float32Array;
  refant: number;
  mode: GainMode;
  solint: SolInt;
}

export type CalTable = DelayTable | BandpassTable | GainTable;

/** Per-antenna, per-channel, per-pol complex factors (K·BP) used to corrupt models / correct data. */
export interface AntennaChanGains {
  nAnt: number;
  nChan: number;
  nPol: number;
  /** Complex [ant, chan, pol] interleaved (Float64). */
  gain: Float64Array;
  /** 1 where any contributing solution is flagged. */
  flag: Uint8Array;
}
