/**
 * DSA-110 visibility simulator: writes groups of 16 subband UVH5 files as the correlator does
 * (meridian fringe-stopped drift scan, descending channels, sb00 the highest frequencies) plus
 * DIR/truth.json describing everything that went in.
 *
 * Model: V_ij(ν, t) = g_i(ν) g_j*(ν) Σ_s S_s(ν) A(θ_s, ν) exp(+2πi (u l + v m + w (n − 1)) ν / c)
 * + noise + RFI, with (u, v, w) the stored meridian uvw (HA = 0, apparent dec = pointing) in
 * metres and (l, m, n) the source's apparent direction relative to the meridian point
 * (LAST(t), dec_pointing) at the integration mid-time; θ = acos n.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { C_LIGHT, DEG, DISH_DIAMETER_M, DSA110_SITE } from '../astro/constants.js';
import { icrsToApparent, meridianIcrs } from '../astro/frames.js';
import { geodeticToEcef } from '../astro/geodesy.js';
import { loadStations } from '../astro/antennas.js';
import { airyPower } from '../astro/beam.js';
import { isoToJd, jdToIso, lastRad } from '../astro/time.js';
import { lmn, uvwMeridian } from '../astro/uvw.js';
import { UsageError } from '../util/errors.js';
import { Uvh5Writer, type Uvh5WriteHeader } from '../io/uvh5-write.js';
import { Rng } from './random.js';
import {
  builtinCalibratorLookup,
  calibratorToSource,
  loadSourcesFile,
  REF_FREQ_HZ,
  sourceFlux,
  type CalibratorLookup,
  type SimSource,
} from './sky.js';

export const DSA110_INTEGRATION_S = 12.884901888;
export const DSA110_CHANNEL_HZ = 244140.625;
/** Centre of the highest channel (sb00 channel 0); the band then runs down 768 channels to ~1311 MHz. */
export const DSA110_TOP_FREQ_HZ = 1498.75e6;
export const DEFAULT_SEFD_JY = 5800;

export interface SimulateOptions {
  /** Output directory (created). */
  outDir: string;
  /** Antennas with data (default 96 of 117). */
  antennas?: number;
  /**
   * Which stations carry data: 'first' N (default; 96 covers both arms like the real array) or
   * 'spread': a seeded random subset of all 117 (a 2-D array with outriggers and irregular
   * spacings for small N: demos and tests).
   */
  antennaSelection?: 'first' | 'spread';
  subbands?: number;
  channelsPerSubband?: number;
  integrations?: number;
  integrationTime?: number;
  groups?: number;
  /** ISO UTC start of the first group (with a calibrator: the day near which it transits). */
  start?: string;
  /** Pointing (apparent) declination, degrees. Default: the calibrator's, else 37.2314 (zenith). */
  dec?: number;
  /** Explicit sources, or a JSON file of them. */
  sources?: SimSource[] | string;
  /** Number of random sources within ~2° of the pointing (default 5 when no sources are given). */
  nsrc?: number;
  /** Calibrator name; the first group is centred on its transit. */
  calibrator?: string;
  calibratorLookup?: CalibratorLookup;
  /** Per-antenna complex gains, delays and bandpasses (default true). */
  gains?: boolean;
  /** Noise σ per real/imag part (Jy); overrides sefd. */
  noiseJy?: number;
  /** System equivalent flux density (Jy): σ = SEFD/√(2 Δν τ) (default 5800 unless noiseJy). */
  sefd?: number;
  rfi?: boolean;
  /** Per-file filename timestamp jitter up to ±jitter seconds (default 0). */
  jitter?: number;
  seed?: number;
  /** Station table (default: the package's DSA110_Station_Coordinates.csv). */
  stationsCsv?: string;
  /** Called after each file is renamed into place. */
  onFile?: (file: string) => void;
}

export interface SimulateResult {
  files: string[];
  truthPath: string;
  groups: { groupId: string; files: string[] }[];
}

/** Parameters of one antenna/polarisation gain; see gainAt for the formula. */
export interface GainTruth {
  amp: number;
  /** radians */
  phase: number;
  /** seconds */
  delay: number;
  bpAmp: number;
  bpPeriodHz: number;
  bpPhase: number;
  bpPhaseAmp: number;
}

/**
 * g(ν) = amp · (1 + bpAmp·sin(2π(ν − refFreqHz)/bpPeriodHz + bpPhase))
 *        · exp(i(phase + 2π·delay·(ν − refFreqHz) + bpPhaseAmp·sin(2π(ν − refFreqHz)/bpPeriodHz + 2·bpPhase)))
 */
export function gainAt(g: GainTruth, freqHz: number, refFreqHz: number = REF_FREQ_HZ): [number, number] {
  const x = (2 * Math.PI * (freqHz - refFreqHz)) / g.bpPeriodHz;
  const a = g.amp * (1 + g.bpAmp * Math.sin(x + g.bpPhase));
  const ph = g.phase + 2 * Math.PI * g.delay * (freqHz - refFreqHz) + g.bpPhaseAmp * Math.sin(x + 2 * g.bpPhase);
  return [a * Math.cos(ph), a * Math.sin(ph)];
}

export interface RfiEvent {
  kind: 'narrowband-persistent' | 'narrowband-burst' | 'broadband-burst';
  /** Integration indices within the group. */
  times: number[];
  /** Global channel indices k = sb·channelsPerSubband + c (stored order; see truth.channelFreqsHz) or 'all'. */
  channels: number[] | 'all';
  baselines: 'all';
  /** Amplitude added with random phase per visibility (Jy, each polarisation). */
  amplitudeJy: number;
}

function fileStamp(jd: number): string {
  return jdToIso(jd, 0);
}

/** Next transit (LAST = apparent RA) of an ICRS position after jd0 − 0.5 d. */
function transitJd(raRad: number, decRad: number, jd0: number): number {
  let t = jd0;
  const rate = 2 * Math.PI * 1.00273790935; // rad of sidereal time per day
  for (let it = 0; it < 6; it++) {
    const [raApp] = icrsToApparent(raRad, decRad, t);
    let d = raApp - lastRad(t, DSA110_SITE.lonRad);
    d = Math.atan2(Math.sin(d), Math.cos(d));
    t += d / rate;
  }
  return t;
}

function checkInt(name: string, v: number, min: number, max = Infinity): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new UsageError(`--${name} must be an integer in [${min}, ${max}], got ${v}`);
  return v;
}

export async function simulateGroups(opts: SimulateOptions): Promise<SimulateResult> {
  const seed = opts.seed ?? 1;
  const nSub = checkInt('subbands', opts.subbands ?? 16, 1, 99);
  const nChanSb = checkInt('channels-per-subband', opts.channelsPerSubband ?? 48, 1);
  const nInt = checkInt('integrations', opts.integrations ?? 24, 1);
  const tau = opts.integrationTime ?? DSA110_INTEGRATION_S;
  if (!(tau > 0)) throw new UsageError('--integration-time must be positive');
  const nGroups = checkInt('groups', opts.groups ?? 1, 1);
  const jitter = opts.jitter ?? 0;
  if (!(jitter >= 0)) throw new UsageError('--jitter must be ≥ 0');
  const stations = loadStations(opts.stationsCsv);
  const nTel = stations.names.length;
  const nAnt = checkInt('antennas', opts.antennas ?? Math.min(96, nTel), 1, nTel);
  const site = DSA110_SITE;
  const siteEcef = geodeticToEcef(site.latRad, site.lonRad, site.heightM);
  const dnu = DSA110_CHANNEL_HZ;
  const nChanTot = nSub * nChanSb;
  const freqOf = (k: number): number => DSA110_TOP_FREQ_HZ - k * dnu;
  const centreFreq = (freqOf(0) + freqOf(nChanTot - 1)) / 2;

  // --- sources, calibrator, start time, pointing ---
  const sources: SimSource[] = [];
  if (typeof opts.sources === 'string') sources.push(...loadSourcesFile(opts.sources));
  else if (opts.sources) sources.push(...opts.sources);
  let startJd: number;
  try {
    startJd = isoToJd(opts.start ?? '2025-06-01T00:00:00');
  } catch (e) {
    throw new UsageError(`--start: ${(e as Error).message}`);
  }
  let decPointRad = (opts.dec ?? site.latRad / DEG) * DEG;
  const groupSpanS = nInt * tau;
  if (opts.calibrator) {
    const lookup = opts.calibratorLookup ?? builtinCalibratorLookup;
    const cal = lookup(opts.calibrator) ?? builtinCalibratorLookup(opts.calibrator);
    if (!cal) throw new UsageError(`--calibrator: unknown calibrator "${opts.calibrator}"`);
    const src = calibratorToSource(cal);
    sources.unshift(src);
    const tTransit = transitJd(src.raRad, src.decRad, startJd + 0.5);
    startJd = tTransit - groupSpanS / 2 / 86400;
    if (opts.dec === undefined) decPointRad = icrsToApparent(src.raRad, src.decRad, tTransit)[1];
  }
  if (Math.abs(decPointRad) > Math.PI / 2) throw new UsageError('--dec must be within ±90°');
  const nsrc = opts.nsrc ?? (sources.length === 0 ? 5 : 0);
  if (nsrc > 0) {
    const rng = new Rng(seed, 'sources');
    const [ra0, dec0] = meridianIcrs(startJd + groupSpanS / 2 / 86400, decPointRad, site);
    for (let i = 0; i < nsrc; i++) {
      const r = 2 * DEG * Math.sqrt(rng.uniform());
      const pa = rng.range(0, 2 * Math.PI);
      const dec = dec0 + r * Math.cos(pa);
      const ra = ra0 + (r * Math.sin(pa)) / Math.cos(dec0);
      sources.push({
        name: `sim${String(i).padStart(3, '0')}`,
        raRad: ((ra % (2 * Math.PI)) + 2 * Math.PI) % (2 * Math.PI),
        decRad: dec,
        fluxJy: Math.exp(rng.range(Math.log(0.05), Math.log(2))),
        spectralIndex: -0.7 + 0.2 * rng.normal(),
        refFreqHz: REF_FREQ_HZ,
      });
    }
  }

  // --- noise ---
  let sigma: number;
  let sefd: number | undefined;
  if (opts.noiseJy !== undefined) {
    if (!(opts.noiseJy >= 0)) throw new UsageError('--noise-jy must be ≥ 0');
    sigma = opts.noiseJy;
    sefd = opts.sefd;
  } else {
    sefd = opts.sefd ?? DEFAULT_SEFD_JY;
    if (!(sefd >= 0)) throw new UsageError('--sefd must be ≥ 0');
    sigma = sefd / Math.sqrt(2 * dnu * tau);
  }
  const autoLevel = sefd ?? 0;

  // --- antennas and baselines (time-major, ant1 ≤ ant2, autos included) ---
  const nBl = (nAnt * (nAnt + 1)) / 2;
  // Station index of each antenna with data; gains are indexed by position in `sel`.
  const sel = new Int32Array(nAnt);
  if (opts.antennaSelection === 'spread') {
    // A seeded random subset: irregular spacings, so no grating lobes from the regular arms.
    const rng = new Rng(seed, 'stations');
    const idx = Array.from({ length: nTel }, (_, i) => i);
    for (let i = nTel - 1; i > 0; i--) { const j = rng.int(0, i + 1); const x = idx[i]!; idx[i] = idx[j]!; idx[j] = x; }
    idx.slice(0, nAnt).sort((a, b) => a - b).forEach((v, i) => { sel[i] = v; });
  } else for (let i = 0; i < nAnt; i++) sel[i] = i;
  const gIdx1 = new Int32Array(nBl);
  const gIdx2 = new Int32Array(nBl);
  const ant1 = new Int32Array(nBl);
  const ant2 = new Int32Array(nBl);
  {
    let k = 0;
    for (let i = 0; i < nAnt; i++) for (let j = i; j < nAnt; j++) { ant1[k] = sel[i]!; ant2[k] = sel[j]!; gIdx1[k] = i; gIdx2[k] = j; k++; }
  }
  const uvwBl = new Float64Array(3 * nBl);
  uvwMeridian(uvwBl, stations.ecef, ant1, ant2, decPointRad, site);
  const antRel = new Float64Array(3 * nTel);
  for (let a = 0; a < nTel; a++) for (let d = 0; d < 3; d++) antRel[3 * a + d] = stations.ecef[3 * a + d] - siteEcef[d];

  // --- gains ---
  const nPol = 2;
  const gainsOn = opts.gains ?? true;
  const gainTruth: GainTruth[] = []; // index a*nPol + p
  {
    const rng = new Rng(seed, 'gains');
    for (let a = 0; a < nAnt; a++) {
      for (let p = 0; p < nPol; p++) {
        gainTruth.push(
          gainsOn
            ? {
                amp: 1 + 0.1 * rng.normal(),
                phase: rng.range(-Math.PI, Math.PI),
                delay: rng.range(-3e-9, 3e-9),
                bpAmp: rng.range(0.02, 0.08),
                bpPeriodHz: rng.range(40e6, 150e6),
                bpPhase: rng.range(0, 2 * Math.PI),
                bpPhaseAmp: rng.range(0.02, 0.1),
              }
            : { amp: 1, phase: 0, delay: 0, bpAmp: 0, bpPeriodHz: 1e8, bpPhase: 0, bpPhaseAmp: 0 },
        );
      }
    }
  }
  // gains per (antenna, pol, global channel) interleaved complex
  const G = new Float64Array(2 * nAnt * nPol * nChanTot);
  for (let a = 0; a < nAnt; a++) {
    for (let p = 0; p < nPol; p++) {
      const base = (a * nPol + p) * nChanTot;
      for (let k = 0; k < nChanTot; k++) {
        const [gr, gi] = gainAt(gainTruth[a * nPol + p], freqOf(k));
        G[2 * (base + k)] = gr;
        G[2 * (base + k) + 1] = gi;
      }
    }
  }

  fs.mkdirSync(opts.outDir, { recursive: true });
  const files: string[] = [];
  const groupsOut: SimulateResult['groups'] = [];
  const groupTruth: Record<string, unknown>[] = [];
  const nS = sources.length;
  const twoPi = 2 * Math.PI;

  for (let g = 0; g < nGroups; g++) {
    const g0 = startJd + (g * groupSpanS) / 86400;
    const groupId = fileStamp(g0);
    const midTimes = new Float64Array(nInt);
    for (let t = 0; t < nInt; t++) midTimes[t] = g0 + ((t + 0.5) * tau) / 86400;
    const midJd = g0 + groupSpanS / 2 / 86400;
    const [pcRa, pcDec] = meridianIcrs(midJd, decPointRad, site);

    // source geometry per (t, s): l, m, n
    const L = new Float64Array(nInt * nS);
    const M = new Float64Array(nInt * nS);
    const N = new Float64Array(nInt * nS);
    const apparentFlux: number[] = [];
    for (let t = 0; t < nInt; t++) {
      const last = lastRad(midTimes[t], site.lonRad);
      for (let s = 0; s < nS; s++) {
        const [ra, dec] = icrsToApparent(sources[s].raRad, sources[s].decRad, midTimes[t], site);
        const [l, m, n] = lmn(ra, dec, last, decPointRad);
        L[t * nS + s] = l;
        M[t * nS + s] = m;
        N[t * nS + s] = n;
      }
    }
    for (let s = 0; s < nS; s++) {
      let beam = 0;
      for (let t = 0; t < nInt; t++) {
        const n = N[t * nS + s];
        beam += n > 0 ? airyPower(Math.acos(Math.min(1, n)), centreFreq, DISH_DIAMETER_M) : 0;
      }
      apparentFlux.push(sourceFlux(sources[s], centreFreq) * (beam / nInt));
    }

    // RFI events for this group
    const rfiEvents: RfiEvent[] = [];
    if (opts.rfi) {
      const rng = new Rng(seed, `rfi-${g}`);
      const ref = sigma > 0 ? sigma : 0.1;
      const amp = (): number => ref * Math.exp(rng.range(Math.log(3), Math.log(1000)));
      const allT = Array.from({ length: nInt }, (_, i) => i);
      for (let i = 0; i < 3; i++) rfiEvents.push({ kind: 'narrowband-persistent', times: allT, channels: [rng.int(0, nChanTot)], baselines: 'all', amplitudeJy: amp() });
      for (let i = 0; i < 4; i++) {
        const t0 = rng.int(0, nInt);
        const len = Math.min(nInt - t0, rng.int(1, 5));
        rfiEvents.push({ kind: 'narrowband-burst', times: allT.slice(t0, t0 + len), channels: [rng.int(0, nChanTot)], baselines: 'all', amplitudeJy: amp() });
      }
      for (let i = 0; i < 2; i++) rfiEvents.push({ kind: 'broadband-burst', times: [rng.int(0, nInt)], channels: 'all', baselines: 'all', amplitudeJy: amp() });
    }
    // rfiAmp[t * nChanTot + k]: summed RFI amplitude
    const rfiAmp = new Float64Array(nInt * nChanTot);
    for (const ev of rfiEvents) {
      for (const t of ev.times) {
        if (ev.channels === 'all') for (let k = 0; k < nChanTot; k++) rfiAmp[t * nChanTot + k] += ev.amplitudeJy;
        else for (const k of ev.channels) rfiAmp[t * nChanTot + k] += ev.amplitudeJy;
      }
    }

    const groupFiles: string[] = [];
    const jrng = new Rng(seed, `jitter-${g}`);
    const noiseRng = new Rng(seed, `noise-${g}`);
    const rfiRng = new Rng(seed, `rfi-phase-${g}`);
    const per = nChanSb * nPol;
    const vis = new Float32Array(2 * nBl * per);
    const flags = new Uint8Array(nBl * per);
    const nsamples = new Float32Array(nBl * per).fill(1);
    const model = new Float64Array(2 * nChanSb);
    const amps = new Float64Array(nS * nChanSb);
    const noise = new Float32Array(2 * nBl * per);

    for (let sb = 0; sb < nSub; sb++) {
      const k0 = sb * nChanSb;
      const freqs = new Float64Array(nChanSb);
      for (let c = 0; c < nChanSb; c++) freqs[c] = freqOf(k0 + c);
      const jit = jitter > 0 ? Math.round(jrng.range(-jitter, jitter)) : 0;
      const name = `${fileStamp(g0 + jit / 86400)}_sb${String(sb).padStart(2, '0')}.hdf5`;
      const file = path.join(opts.outDir, name);
      const nBlts = nInt * nBl;
      const times = new Float64Array(nBlts);
      const a1 = new Int32Array(nBlts);
      const a2 = new Int32Array(nBlts);
      const uvw = new Float64Array(3 * nBlts);
      for (let t = 0; t < nInt; t++) {
        times.fill(midTimes[t], t * nBl, (t + 1) * nBl);
        a1.set(ant1, t * nBl);
        a2.set(ant2, t * nBl);
        uvw.set(uvwBl, 3 * t * nBl);
      }
      const header: Uvh5WriteHeader = {
        freqs,
        channelWidth: dnu,
        polarizations: Int32Array.from([-5, -6]),
        times,
        integrationTime: tau,
        ant1: a1,
        ant2: a2,
        uvw,
        antennaNames: Array.from(stations.numbers, (n) => String(n)),
        antennaNumbers: Int32Array.from({ length: nTel }, (_, i) => i),
        antennaPositions: antRel,
        antennaDiameters: new Float64Array(nTel).fill(DISH_DIAMETER_M),
        latitudeDeg: site.latRad / DEG,
        longitudeDeg: site.lonRad / DEG,
        altitudeM: site.heightM,
        phaseCenterDecRad: decPointRad,
        history: `simulated by dsa110 simulate (seed ${seed})`,
      };
      const w = Uvh5Writer.create(file, header);
      try {
        for (let t = 0; t < nInt; t++) {
          // amplitudes S(ν)·A(θ, ν) per source and channel
          for (let s = 0; s < nS; s++) {
            const n = N[t * nS + s];
            const theta = Math.acos(Math.min(1, n));
            for (let c = 0; c < nChanSb; c++) {
              amps[s * nChanSb + c] = n > 0 ? sourceFlux(sources[s], freqs[c]) * airyPower(theta, freqs[c], DISH_DIAMETER_M) : 0;
            }
          }
          if (sigma > 0) noiseRng.fillNormal(noise, sigma);
          for (let b = 0; b < nBl; b++) {
            model.fill(0);
            const u = uvwBl[3 * b];
            const v = uvwBl[3 * b + 1];
            const ww = uvwBl[3 * b + 2];
            for (let s = 0; s < nS; s++) {
              const i = t * nS + s;
              const delay = (u * L[i] + v * M[i] + ww * (N[i] - 1)) / C_LIGHT;
              const ph0 = twoPi * delay * freqs[0];
              let cr = Math.cos(ph0);
              let ci = Math.sin(ph0);
              const st = -twoPi * delay * dnu; // channels descend by dnu
              const sr = Math.cos(st);
              const si = Math.sin(st);
              const ab = s * nChanSb;
              for (let c = 0; c < nChanSb; c++) {
                const a = amps[ab + c];
                model[2 * c] += a * cr;
                model[2 * c + 1] += a * ci;
                const nr = cr * sr - ci * si;
                ci = cr * si + ci * sr;
                cr = nr;
              }
            }
            const i1 = gIdx1[b];
            const i2 = gIdx2[b];
            const auto = i1 === i2;
            for (let c = 0; c < nChanSb; c++) {
              const k = k0 + c;
              const mr0 = model[2 * c] + (auto ? autoLevel : 0);
              const mi0 = model[2 * c + 1];
              const ra = rfiAmp[t * nChanTot + k];
              for (let p = 0; p < nPol; p++) {
                const gI = 2 * ((i1 * nPol + p) * nChanTot + k);
                const gJ = 2 * ((i2 * nPol + p) * nChanTot + k);
                // g_i · conj(g_j)
                const gr = G[gI] * G[gJ] + G[gI + 1] * G[gJ + 1];
                const gi = G[gI + 1] * G[gJ] - G[gI] * G[gJ + 1];
                let vr = mr0 * gr - mi0 * gi;
                let vi = mr0 * gi + mi0 * gr;
                const o = (b * nChanSb + c) * nPol + p;
                if (sigma > 0) {
                  if (auto) vr += Math.SQRT2 * noise[2 * o];
                  else {
                    vr += noise[2 * o];
                    vi += noise[2 * o + 1];
                  }
                }
                if (ra > 0) {
                  if (auto) vr += ra;
                  else {
                    const ph = twoPi * rfiRng.uniform();
                    vr += ra * Math.cos(ph);
                    vi += ra * Math.sin(ph);
                  }
                }
                vis[2 * o] = vr;
                vis[2 * o + 1] = auto ? 0 : vi;
              }
            }
          }
          w.writeBlts(t * nBl, vis, flags, nsamples);
        }
        w.commit();
      } catch (e) {
        w.abort();
        throw e;
      }
      files.push(file);
      groupFiles.push(file);
      opts.onFile?.(file);
    }
    groupsOut.push({ groupId, files: groupFiles });
    groupTruth.push({
      groupId,
      startJd: g0,
      midJd,
      midTimeIso: jdToIso(midJd, 3),
      phaseCenterIcrsDeg: { ra: pcRa / DEG, dec: pcDec / DEG },
      apparentFluxJy: Object.fromEntries(sources.map((s, i) => [s.name, apparentFlux[i]])),
      rfi: rfiEvents,
      files: groupFiles.map((f) => path.basename(f)),
    });
  }

  const truth = {
    format: 'dsa110-sim-truth',
    version: 1,
    seed,
    options: {
      antennas: nAnt,
      subbands: nSub,
      channelsPerSubband: nChanSb,
      integrations: nInt,
      integrationTime: tau,
      groups: nGroups,
      start: jdToIso(startJd, 3),
      decDeg: decPointRad / DEG,
      nsrc,
      calibrator: opts.calibrator ?? null,
      gains: gainsOn,
      noiseJy: opts.noiseJy ?? null,
      sefd: sefd ?? null,
      rfi: !!opts.rfi,
      jitter,
      stationsCsv: opts.stationsCsv ?? null,
    },
    noiseSigmaJy: sigma,
    autoLevelJy: autoLevel,
    pointingDecAppDeg: decPointRad / DEG,
    centreFreqHz: centreFreq,
    channelWidthHz: dnu,
    /** Frequency of global channel k = sb·channelsPerSubband + c (stored order, descending). */
    channelFreqsHz: Array.from({ length: nChanTot }, (_, k) => freqOf(k)),
    polarizations: ['XX', 'YY'],
    sources: sources.map((s) => ({
      name: s.name,
      raDeg: s.raRad / DEG,
      decDeg: s.decRad / DEG,
      fluxJy: sourceFlux(s, REF_FREQ_HZ),
      refFreqHz: REF_FREQ_HZ,
      spectralIndex: s.pbCoeffs ? undefined : s.spectralIndex,
      pbCoeffs: s.pbCoeffs,
    })),
    gainFormula:
      'g(nu) = amp*(1+bpAmp*sin(2*pi*(nu-refFreqHz)/bpPeriodHz+bpPhase)) * exp(i*(phase + 2*pi*delay*(nu-refFreqHz) + bpPhaseAmp*sin(2*pi*(nu-refFreqHz)/bpPeriodHz+2*bpPhase))); V_ij = g_i conj(g_j) V_model',
    gainRefFreqHz: REF_FREQ_HZ,
    /** gains[antennaIndex] = { name, XX: GainTruth, YY: GainTruth } for the antennas with data. */
    gains: Array.from({ length: nAnt }, (_, a) => ({
      antenna: a,
      station: sel[a],
      name: String(stations.numbers[sel[a]!]),
      XX: gainTruth[a * nPol],
      YY: gainTruth[a * nPol + 1],
    })),
    groups: groupTruth,
  };
  const truthPath = path.join(opts.outDir, 'truth.json');
  const tmp = path.join(opts.outDir, `.truth.json.tmp-${process.pid}-${Math.random().toString(16).slice(2, 10)}`);
  fs.writeFileSync(tmp, JSON.stringify(truth, null, 1));
  fs.renameSync(tmp, truthPath);
  return { files, truthPath, groups: groupsOut };
}
