/**
 * dsa110 calibrate — solve delay (K), bandpass (BP) and gain (G) tables on a calibrator transit
 * in a measurement set, write them as <prefix>.{kcal,bpcal,gpcal}.zarr and register them as one
 * calibration set (validity windows around the transit, apply order K, BP, G, QA figures).
 * MODEL_DATA is replaced by the point-source model used.
 */
import { Command, Option } from 'commander';
import path from 'node:path';
import { existsSync, mkdirSync } from 'node:fs';
import { action, forEachInput, type CommandContext } from '../util/command.js';
import { DsaError, UsageError } from '../util/errors.js';
import { log } from '../util/log.js';
import { printProduct } from '../util/output.js';
import { parseInteger, parseNumber, parseChoice, mjdToIso } from '../util/options.js';
import { packageVersion } from '../util/config.js';
import { writeFileAtomic } from '../util/atomic.js';
import { readInputPaths } from '../util/inputs.js';
import { openMs, type MsTable } from '../io/ms.js';
import { caltablePath, writeCaltable, type Caltable } from '../io/caltables.js';
import { calibratorIndex, loadCalibratorCatalog, type CalibratorCatalog } from '../calibration/catalog.js';
import { calibratorSpectrum } from '../calibration/fluxmodels.js';
import { findTransitingCalibrators, type TransitMatch } from '../calibration/transit.js';
import { parseSolint } from '../calibration/gains.js';
import { resolveRefant } from '../calibration/refant.js';
import { calibrateMs, type MsCalibrateResult } from '../calibration/ms-solve.js';
import { bandpassToFile, delayToFile, gainToFile, msPointingDecApp, msTimeRangeMjd, type CaltableInfo } from '../calibration/ms-io.js';
import { calibrationPlots } from '../calibration/plots.js';
import type { GainMode } from '../calibration/types.js';
import type { CalQa } from '../calibration/qa.js';
import { registerCalSet, type CaltableInput, type CalType } from '../registry/calibration.js';
import { recordStage } from '../registry/metrics.js';
import type { Registry } from '../registry/db.js';

interface CalibrateOpts {
  calibrator: string;
  catalog?: string;
  radius: number;
  minFlux: number;
  ifTransit?: boolean;
  modelSources: number;
  k: boolean;
  bp: boolean;
  g: boolean;
  gainCalmode: GainMode;
  gainSolint: string;
  minsnr: number;
  refant?: string;
  outputDir?: string;
  prefix?: string;
  bpValidityHours: number;
  gainValidityMinutes: number;
  plot?: boolean;
  threads: number;
  json?: boolean;
  fsync: boolean;
}

const DEG = Math.PI / 180;
const JD_MJD = 2400000.5;
/** Radius within which other catalogue sources are candidates for --model-sources (the beam is ~3.3° FWHM). */
const MODEL_SOURCE_RADIUS_DEG = 3;

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9+\-_.:]/g, '_');
}

/** The calibrator to use: the best transiting one (auto) or the named one if it is in the beam. */
function pickCalibrator(cat: CalibratorCatalog, ms: MsTable, o: CalibrateOpts): TransitMatch | undefined {
  const r = msTimeRangeMjd(ms.meta);
  const q = { decAppRad: msPointingDecApp(ms.meta), startJdUtc: r.start + JD_MJD, endJdUtc: r.end + JD_MJD, radiusRad: o.radius * DEG };
  // auto: a calibrator whose apparent flux is not well above the rest of the field gives worse
  // solutions than the last good set (the field's unmodelled sources bias K, BP and G).
  if (o.calibrator.toLowerCase() === 'auto') return findTransitingCalibrators(cat, q).find((m) => m.beamWeightedFluxJy >= o.minFlux);
  const idx = calibratorIndex(cat, o.calibrator);
  if (idx < 0) throw new UsageError(`--calibrator: "${o.calibrator}" is not in the calibrator catalogue ${cat.path}`);
  return findTransitingCalibrators(cat, q).find((m) => m.index === idx);
}

function noCalibratorMessage(cat: CalibratorCatalog, ms: MsTable, o: CalibrateOpts): string {
  const r = msTimeRangeMjd(ms.meta);
  const what = o.calibrator.toLowerCase() === 'auto' ? `no calibrator from ${cat.path}${o.minFlux > 0 ? ` with apparent flux ≥ ${o.minFlux} Jy` : ''}` : `calibrator ${o.calibrator}`;
  return `${what} within ${o.radius}° of the meridian pointing (dec ${(msPointingDecApp(ms.meta) / DEG).toFixed(3)}°) between ${mjdToIso(r.start)} and ${mjdToIso(r.end)}`;
}

function qaInput(qa: CalQa | undefined): Pick<CaltableInput, 'snrMedian' | 'flaggedFraction' | 'phaseRmsDeg' | 'nAntennasGood' | 'qa'> {
  if (!qa) return {};
  return {
    snrMedian: Number.isFinite(qa.medianSnr) ? qa.medianSnr : null,
    flaggedFraction: qa.flaggedFraction,
    phaseRmsDeg: qa.medianPhaseScatterDeg !== undefined && Number.isFinite(qa.medianPhaseScatterDeg) ? qa.medianPhaseScatterDeg : null,
    nAntennasGood: qa.goodAntennas,
    qa: { passes: qa.passes, reasons: qa.reasons, n_solutions: qa.nSolutions },
  };
}

type Outcome = 'done' | 'skipped';

async function calibrateOne(ctx: CommandContext, reg: () => Registry, msPath: string, o: CalibrateOpts, argv: string[]): Promise<Outcome> {
  const t0 = performance.now();
  const ms = await openMs(msPath);
  const m = ms.meta;
  const cat = loadCalibratorCatalog(o.catalog);
  const match = pickCalibrator(cat, ms, o);
  if (!match) {
    if (o.ifTransit) {
      log.info(`${ms.path}: no calibrator transits (${noCalibratorMessage(cat, ms, o)}); nothing to do`);
      return 'skipped';
    }
    throw new DsaError(noCalibratorMessage(cat, ms, o), { subject: ms.path });
  }
  const calName = match.altName || match.name;
  log.info(`${ms.path}: calibrator ${calName} (${match.name}) transits ${mjdToIso(match.transitJdUtc - JD_MJD)} at ${(match.separationRad / DEG).toFixed(3)}° from the pointing, ${match.fluxJy.toFixed(2)} Jy`);

  // Sky model: the calibrator plus up to N more catalogue sources in the beam.
  const srcs: TransitMatch[] = [match];
  if (o.modelSources > 0) {
    const r = msTimeRangeMjd(m);
    const more = findTransitingCalibrators(cat, {
      decAppRad: msPointingDecApp(m), startJdUtc: r.start + JD_MJD, endJdUtc: r.end + JD_MJD, radiusRad: MODEL_SOURCE_RADIUS_DEG * DEG,
    }).filter((s) => s.index !== match.index);
    srcs.push(...more.slice(0, o.modelSources));
    log.info(`model: ${srcs.map((s) => s.altName || s.name).join(', ')}`);
  }
  const nChan = m.nChan;
  const fluxJy = new Float64Array(srcs.length * nChan);
  srcs.forEach((s, i) => calibratorSpectrum(cat, s.index, m.freq, {}, fluxJy.subarray(i * nChan, (i + 1) * nChan)));
  for (let k = 0; k < fluxJy.length; k++) {
    if (!Number.isFinite(fluxJy[k])) throw new DsaError(`no flux density for a model source in ${cat.path}`);
  }
  const sky = { raRad: Float64Array.from(srcs, (s) => s.raRad), decRad: Float64Array.from(srcs, (s) => s.decRad), fluxJy };

  // DSA-110 antenna names are numbers: an exact name wins over an index.
  const byName = o.refant !== undefined ? m.antennaNames.indexOf(o.refant.trim()) : -1;
  const refant = o.refant === undefined ? undefined : byName >= 0 ? byName : resolveRefant(o.refant, m.antennaNames);
  const solint = parseSolint(o.gainSolint);
  const sol: MsCalibrateResult = await calibrateMs(ms, {
    sky, refant, doK: o.k, doBP: o.bp, doG: o.g, mode: o.gainCalmode, solint, minSnr: o.minsnr, threads: o.threads,
    history: { command: 'calibrate', version: packageVersion(), args: argv }, fsync: o.fsync,
  });
  const axes = { antennaNames: sol.ants.names, corrType: m.corrType };
  const refName = sol.ants.names[sol.refant];
  log.info(`refant ${refName}; model+sums ${sol.timings.modelPass.toFixed(2)} s, solve ${sol.timings.solve.toFixed(2)} s${sol.timings.gainPass ? `, G pass ${sol.timings.gainPass.toFixed(2)} s` : ''}`);

  // Caltables.
  const outDir = path.resolve(o.outputDir ?? path.dirname(path.resolve(ms.path)));
  if (!existsSync(outDir)) mkdirSync(outDir, { recursive: true });
  const prefix = o.prefix ?? safeName(`${m.groupId}_${calName}`);
  const base = path.join(outDir, prefix);
  const transitMjd = match.transitJdUtc - JD_MJD;
  const bpHalf = o.bpValidityHours / 24;
  const gHalf = o.gainValidityMinutes / 1440;
  const common = (qa: CalQa, half: number): CaltableInfo => ({
    sourceMs: path.resolve(ms.path), calibrator: calName, validFromMjd: transitMjd - half, validToMjd: transitMjd + half,
    solint: o.gainSolint, qa, attrs: { transit_mjd: transitMjd, model_sources: srcs.map((s) => s.altName || s.name), dsa110_version: packageVersion() },
  });
  const written: { type: CalType; path: string; table: Caltable; qa: CalQa; half: number }[] = [];
  if (sol.delays && sol.qa.delays) written.push({ type: 'K', path: caltablePath(base, 'kcal'), table: delayToFile(sol.delays, axes, common(sol.qa.delays, bpHalf)), qa: sol.qa.delays, half: bpHalf });
  if (sol.bandpass && sol.qa.bandpass) written.push({ type: 'BP', path: caltablePath(base, 'bpcal'), table: bandpassToFile(sol.bandpass, axes, common(sol.qa.bandpass, bpHalf)), qa: sol.qa.bandpass, half: bpHalf });
  if (sol.gains && sol.qa.gains) written.push({ type: 'G', path: caltablePath(base, 'gpcal'), table: gainToFile(sol.gains, axes, common(sol.qa.gains, gHalf)), qa: sol.qa.gains, half: gHalf });
  for (const w of written) await writeCaltable(w.path, w.table, { fsync: o.fsync });

  const plots: string[] = [];
  if (o.plot) {
    for (const p of calibrationPlots(sol, m, `${prefix} (${calName}, refant ${refName})`)) {
      const file = `${base}.${p.name}.png`;
      await writeFileAtomic(file, p.png);
      plots.push(file);
    }
  }

  const status = sol.passes ? 'active' : 'failed';
  const r = reg();
  const seconds = (performance.now() - t0) / 1000;
  r.write(() => {
    registerCalSet(r, written.map((w) => ({
      setName: prefix, path: w.path, type: w.type, validStartMjd: transitMjd - w.half, validEndMjd: transitMjd + w.half,
      refant: refName, status, sourceMs: path.resolve(ms.path), calibrator: calName, ...qaInput(w.qa),
    })));
    recordStage(r, { command: 'calibrate', product: path.resolve(ms.path), stage: 'total', seconds, ok: sol.passes, error: sol.passes ? null : 'QA failed' });
  });
  for (const w of written) {
    const q = w.qa;
    log.info(`${w.type}: ${(100 * q.flaggedFraction).toFixed(1)} % flagged, median SNR ${q.medianSnr.toFixed(1)}, ${q.goodAntennas}/${q.nAnt} good antennas${q.medianPhaseScatterDeg !== undefined && Number.isFinite(q.medianPhaseScatterDeg) ? `, phase scatter ${q.medianPhaseScatterDeg.toFixed(2)}°` : ''}`);
  }
  if (!sol.passes) {
    const reasons = written.flatMap((w) => w.qa.reasons.map((x) => `${w.type}: ${x}`)).join('; ');
    throw new DsaError(`calibration failed QA (${reasons}); set ${prefix} registered as failed`, { subject: ms.path });
  }
  for (const w of written) {
    printProduct({
      path: w.path, kind: w.table.type, set: prefix, calibrator: calName, refant: refName,
      valid_start_mjd: transitMjd - w.half, valid_end_mjd: transitMjd + w.half, flagged_fraction: w.qa.flaggedFraction,
      median_snr: w.qa.medianSnr, good_antennas: w.qa.goodAntennas, source_ms: path.resolve(ms.path),
    }, { json: o.json });
  }
  for (const p of plots) printProduct({ path: p, kind: 'plot', set: prefix }, { json: o.json });
  log.info(`${ms.path}: set ${prefix} in ${seconds.toFixed(1)} s`);
  return 'done';
}

export function register(program: Command): void {
  program
    .command('calibrate')
    .description('solve delay, bandpass and gain tables on a calibrator transit; write and register them as one set')
    .argument('[ms...]', 'measurement sets (default: paths on stdin)')
    .option('--calibrator <name>', 'calibrator name from the catalogue, or "auto" for the best one transiting the beam', 'auto')
    .option('--catalog <path>', 'calibrator catalogue: VLA list text or CSV (env DSA110_CALIBRATORS; default: the packaged VLA list)')
    .option('--radius <deg>', 'the calibrator must pass within this distance of the meridian pointing', parseNumber('--radius', { min: 0, max: 10 }), 1)
    .option('--min-flux <jy>', 'with --calibrator auto: only calibrators whose primary-beam-weighted flux at closest approach is at least this (Jy)', parseNumber('--min-flux', { min: 0 }), 0)
    .option('--if-transit', 'exit 0 without output when no calibrator transits (for the streaming pipeline)')
    .option('--model-sources <n>', 'also model the N brightest other catalogue sources within 3° of the pointing', parseInteger('--model-sources', 0, 100), 0)
    .option('--do-k', 'solve delays (default)')
    .option('--no-k', 'do not solve delays')
    .option('--no-bp', 'do not solve a bandpass')
    .option('--no-g', 'do not solve gains')
    .addOption(new Option('--gain-calmode <mode>', 'gain solution mode: p (phase only) or ap').argParser(parseChoice('--gain-calmode', ['p', 'ap'] as const)).default('ap'))
    .option('--gain-solint <interval>', 'gain solution interval: inf, int, <seconds>s or <minutes>min', 'inf')
    .option('--minsnr <snr>', 'flag solutions below this SNR', parseNumber('--minsnr', { min: 0 }), 3)
    .option('--refant <name>', 'reference antenna name (or index when no antenna has that name; default: automatic)')
    .option('-o, --output-dir <dir>', 'where to write the caltables (default: next to the MS)')
    .option('--prefix <prefix>', 'caltable prefix and set name (default <group_id>_<calibrator>)')
    .option('--bp-validity-hours <h>', 'K and bandpass validity: ± hours around the transit', parseNumber('--bp-validity-hours', { min: 0 }), 12)
    .option('--gain-validity-minutes <m>', 'gain validity: ± minutes around the transit', parseNumber('--gain-validity-minutes', { min: 0 }), 30)
    .option('--plot', 'write PNG plots of the bandpass (amplitude, phase) and gains per antenna')
    .option('--threads <n>', 'worker threads for the data passes', parseInteger('--threads', 1, 64), 2)
    .option('--no-fsync', 'skip fsync (scratch data and benchmarks only)')
    .option('--json', 'one JSON object per product on stdout')
    .action(action('calibrate', async (ctx, inputs: string[], o: CalibrateOpts) => {
      if (!o.k && !o.bp && !o.g) throw new UsageError('--no-k, --no-bp and --no-g together leave nothing to solve');
      parseSolint(o.gainSolint); // usage error before any work
      const paths = await readInputPaths(inputs);
      if (!paths.length) throw new UsageError('no inputs: give measurement sets (or paths on stdin)');
      if (o.prefix && paths.length > 1) throw new UsageError('--prefix names one set: give one MS with it');
      const argv = process.argv.slice(2);
      let reg: Registry | undefined;
      const getReg = () => (reg ??= ctx.registry());
      return forEachInput(ctx, paths, (p) => calibrateOne(ctx, getReg, p, o, argv), { rethrowSingle: true });
    }));
}
