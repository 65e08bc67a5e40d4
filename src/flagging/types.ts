/**
 * Shared shapes for the flagging library.
 *
 * A cube is one measurement set's main-table data laid out densely as
 * (time, baseline, frequency, polarization), flattened row-major:
 *   index = ((t * nBl + b) * nChan + c) * nPol + p
 * `data` is complex64 interleaved (length 2 × that), `flags` is 1 = flagged.
 */
export interface Cube {
  nTime: number;
  nBl: number;
  nChan: number;
  nPol: number;
  /** Complex visibilities, interleaved [re, im], length 2·nTime·nBl·nChan·nPol. */
  data: Float32Array;
  /** 1 = flagged, length nTime·nBl·nChan·nPol. Modified in place by every mode. */
  flags: Uint8Array;
  /** First / second antenna index of each baseline (length nBl); autos have ant1 == ant2. */
  ant1: Int32Array;
  ant2: Int32Array;
  /** Time of each integration (any monotonic unit, e.g. MJD seconds); needed by `quack`. */
  times?: Float64Array;
}

/** What a flagging step did. Counts are visibilities (time × baseline × channel × pol). */
export interface FlagStats {
  /** Samples in the cube. */
  total: number;
  /** Samples flagged after the step. */
  flagged: number;
  /** Samples the step flagged that were not flagged before (negative for `reset`). */
  newlyFlagged: number;
  /** Wall-clock seconds the step took. */
  seconds: number;
}

/** Options of the SumThreshold/SIR RFI detector (AOFlagger-style). All optional. */
export interface RfiOptions {
  /**
   * Sensitivities of the successive SumThreshold passes, most tolerant first; the last one is the
   * final detection. A background is fitted and subtracted between passes. Default [4, 2, 1]
   * (AOFlagger's iteration_count 3, threshold_factor_step 2, base_threshold 1).
   */
  sensitivities?: number[];
  /**
   * χ₁ in units of the robust Rayleigh noise scale of the plane (the amplitude noise mode, ≈ σ of
   * one complex component; for a residual ≈ its robust std/√2). Default 6 (AOFlagger).
   */
  firstThreshold?: number;
  /** Growth ρ of the SumThreshold thresholds: χ_M = χ₁·ρ^{log2 M}/M. Default 1.5. */
  thresholdGrowth?: number;
  /** Largest SumThreshold window; windows are 1, 2, 4, … ≤ maxWindow and ≤ the axis. Default 256. */
  maxWindow?: number;
  /** Run SumThreshold along time (default true) and along frequency (default true). */
  timeDirection?: boolean;
  frequencyDirection?: boolean;
  /** Background fit: time decimation before the low-pass (default 3). */
  timeDecimation?: number;
  /** Gaussian low-pass σ² in decimated time samples (default 2.5) and in channels (default 5;
   *  realised as three running boxes of about that total variance, see background.ts). */
  timeSigmaSq?: number;
  freqSigmaSq?: number;
  /** Per-iteration RMS rejection (shapes only the background): timestep σ (default 3.5) and channel
   *  σ·sensitivity factor (default 3.0). 0 disables. */
  iterTimeRmsSigma?: number;
  iterChannelRmsFactor?: number;
  /** Final statistical selection on the residual: timesteps / channels whose RMS deviates by more
   *  than this many σ are flagged entirely. Defaults 4 and 4; 0 disables. */
  timeRmsSigma?: number;
  channelRmsSigma?: number;
  /** SIR dilation η in time and in frequency (default 0.2); 0 disables. */
  sirEta?: number;
  sirEtaTime?: number;
  sirEtaFreq?: number;
  /** Rescale each timestep of the background by its median amp/background ratio before taking
   *  the residual (absorbs per-integration broadband gain jumps; hides RFI covering most of the
   *  band). Default false. */
  rowGain?: boolean;
  /** Run the background-shaping passes (all but the last sensitivity) once per baseline on the
   *  mean amplitude of its polarisations instead of once per polarisation; the final pass stays
   *  per polarisation. Default true (about a third less work; RFI is common to XX and YY). */
  sharedShaping?: boolean;
  /** Also search autocorrelations (default false: they carry the bandpass, not fringes). */
  includeAutos?: boolean;
}

/** Flag fractions (0…1) computed from FLAG. */
export interface FlagSummary {
  total: number;
  /** Indexed by antenna number (0 … max antenna); NaN for antennas with no baseline. */
  byAntenna: Float64Array;
  byChannel: Float64Array;
  byTime: Float64Array;
  byPol: Float64Array;
  byBaseline: Float64Array;
}
