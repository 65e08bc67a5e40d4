/**
 * dsa110 simulate — write groups of DSA-110 subband UVH5 files (as the correlator does) plus
 * DIR/truth.json, for tests, demos and benchmarks. Prints each written file path on stdout.
 */
import { Command, Option } from 'commander';
import { action } from '../util/command.js';
import { UsageError } from '../util/errors.js';
import { printJson, printLine } from '../util/output.js';
import { log } from '../util/log.js';
import { parseChoice, parseInteger, parseNumber } from '../util/options.js';
import { simulateGroups, DSA110_INTEGRATION_S } from '../sim/simulate.js';
import { builtinCalibratorLookup, type CalibratorLookup } from '../sim/sky.js';
import { findCalibrator, loadCalibratorCatalog } from '../calibration/catalog.js';

interface SimulateCliOptions {
  out: string;
  antennas: number;
  antennaSelection: 'first' | 'spread';
  subbands: number;
  channelsPerSubband: number;
  integrations: number;
  integrationTime: number;
  groups: number;
  start?: string;
  dec?: number;
  sources?: string;
  nsrc?: number;
  calibrator?: string;
  calibrators?: string;
  gains: boolean;
  noiseJy?: number;
  sefd?: number;
  rfi?: boolean;
  jitter: number;
  seed: number;
  stations?: string;
  json?: boolean;
}

/** Built-in Perley–Butler calibrators first (they carry spectra), then the VLA calibrator list. */
function calibratorLookup(catalogPath?: string): CalibratorLookup {
  return (name) => {
    const b = builtinCalibratorLookup(name);
    if (b) return b;
    const cat = loadCalibratorCatalog(catalogPath);
    const c = findCalibrator(cat, name);
    if (!c) return undefined;
    return {
      name: c.altName || c.name,
      raRad: c.raRad,
      decRad: c.decRad,
      fluxJy: Number.isFinite(c.flux20cmJy) ? c.flux20cmJy : 1,
      spectralIndex: Number.isFinite(c.spectralIndex) ? c.spectralIndex : -0.7,
    };
  };
}

export function register(program: Command): void {
  program
    .command('simulate')
    .description('simulate DSA-110 subband UVH5 groups (meridian drift scan) and DIR/truth.json; prints each file path')
    .requiredOption('--out <dir>', 'output directory')
    .option('--antennas <n>', 'antennas with data', parseInteger('--antennas', 1, 117), 96)
    .option('--antenna-selection <how>', "'first' N stations, or 'spread' evenly over all 117 (2-D array for small N)", parseChoice('--antenna-selection', ['first', 'spread'] as const), 'first')
    .option('--subbands <n>', 'subband files per group', parseInteger('--subbands', 1, 99), 16)
    .option('--channels-per-subband <n>', 'channels per subband', parseInteger('--channels-per-subband', 1), 48)
    .option('--integrations <n>', 'integrations per group', parseInteger('--integrations', 1), 24)
    .option('--integration-time <s>', 'seconds per integration', parseNumber('--integration-time', { min: 1e-3 }), DSA110_INTEGRATION_S)
    .option('--groups <n>', 'number of consecutive groups', parseInteger('--groups', 1), 1)
    .option('--start <iso>', 'UTC start of the first group (with --calibrator: the day near which it transits)')
    .option('--dec <deg>', 'pointing declination, degrees (default: the calibrator\'s, else the zenith)', parseNumber('--dec', { min: -90, max: 90 }))
    .addOption(new Option('--sources <file.json>', 'sources: JSON array of {name, ra_deg, dec_deg, flux_jy, spectral_index}').conflicts('nsrc'))
    .option('--nsrc <n>', 'random sources within ~2° of the pointing (default 5 without --sources/--calibrator)', parseInteger('--nsrc', 0))
    .option('--calibrator <name>', 'put this calibrator (e.g. 3C286) at transit in the middle of the first group')
    .option('--calibrators <file>', 'calibrator catalogue for --calibrator (VLA list or CSV; default: the package copy)')
    .option('--no-gains', 'unit antenna gains (default: random gains, delays and bandpasses)')
    .addOption(new Option('--noise-jy <sigma>', 'noise σ per real/imaginary part, Jy').argParser(parseNumber('--noise-jy', { min: 0 })).conflicts('sefd'))
    .option('--sefd <jy>', 'system equivalent flux density: σ = SEFD/√(2Δν τ) (default 5800)', parseNumber('--sefd', { min: 0 }))
    .option('--rfi', 'add narrow-band (persistent and bursty) and broadband RFI')
    .option('--jitter <s>', 'file-name timestamp jitter up to ±S seconds per file', parseNumber('--jitter', { min: 0 }), 0)
    .option('--seed <n>', 'random seed', parseInteger('--seed', 0), 1)
    .option('--stations <csv>', 'station coordinate file (default: the package copy)')
    .option('--json', 'print one JSON object per file')
    .action(
      action('simulate', async (_ctx, opts: SimulateCliOptions) => {
        if (opts.out.trim() === '') throw new UsageError('--out must name a directory');
        const res = await simulateGroups({
          outDir: opts.out,
          antennas: opts.antennas,
          antennaSelection: opts.antennaSelection,
          subbands: opts.subbands,
          channelsPerSubband: opts.channelsPerSubband,
          integrations: opts.integrations,
          integrationTime: opts.integrationTime,
          groups: opts.groups,
          start: opts.start,
          dec: opts.dec,
          sources: opts.sources,
          nsrc: opts.nsrc,
          calibrator: opts.calibrator,
          calibratorLookup: calibratorLookup(opts.calibrators),
          gains: opts.gains,
          noiseJy: opts.noiseJy,
          sefd: opts.sefd,
          rfi: opts.rfi ?? false,
          jitter: opts.jitter,
          seed: opts.seed,
          stationsCsv: opts.stations,
          onFile: (f) => {
            if (opts.json) printJson({ path: f, kind: 'uvh5' });
            else printLine(f);
          },
        });
        log.info(`wrote ${res.files.length} files in ${res.groups.length} group(s); truth in ${res.truthPath}`);
      }),
    );
}
