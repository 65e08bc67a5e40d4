/**
 * dsa110 mosaic — plan mosaics from the registry (images by time and declination, tier limits,
 * noise outliers rejected), build them as primary-beam-weighted linear mosaics, and the nightly
 * plan + build of the previous UTC day for cron.
 */
import { Command, Option } from 'commander';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { action, type CommandContext } from '../util/command.js';
import { DsaError, UsageError } from '../util/errors.js';
import { log } from '../util/log.js';
import { printProduct, printLine } from '../util/output.js';
import { parseChoice, parseInteger, parseNumber, parseTimeToMjd, mjdToIso } from '../util/options.js';
import { readInputPaths } from '../util/inputs.js';
import { progressBar } from '../util/progress.js';
import { packageVersion } from '../util/config.js';
import type { Registry } from '../registry/db.js';
import { getMosaic, mosaicMembers, type MosaicRow } from '../registry/products.js';
import { recordStage } from '../registry/metrics.js';
import {
  MOSAIC_TIERS, imagesInWindow, imageByPath, savePlan, markMosaicBuilt, markMosaicFailed, type MosaicTier,
} from '../registry/mosaics.js';
import { selectMembers, meanDirection } from '../mosaic/plan.js';
import { buildMosaicFiles, type BuildInput, type BuildResult } from '../mosaic/build.js';
import type { Interp } from '../mosaic/reproject.js';

interface BuildOpts {
  output?: string;
  outputDir?: string;
  name?: string;
  interp: Interp;
  minPb: number;
  pb: boolean; // --no-pb sets false
  flatNoise?: boolean;
  projection?: 'SIN' | 'CAR';
  maxPixels: number;
  json?: boolean;
}

interface PlanOpts {
  name: string;
  start: number;
  end: number;
  decMin?: number;
  decMax?: number;
  tier: MosaicTier;
  maxImages?: number;
  json?: boolean;
}

interface NightlyOpts extends Omit<BuildOpts, 'name' | 'output'> {
  date?: string;
  tier: MosaicTier;
  decMin?: number;
  decMax?: number;
  force?: boolean;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

function checkName(name: string): string {
  if (!NAME_RE.test(name) || name.length > 200) throw new UsageError(`mosaic name '${name}' must be letters, digits and . _ + - (it names the output file)`);
  return name;
}

/** --output-dir, else $CONTIMG_MOSAIC_DIR, else <state-dir>/mosaics. */
function mosaicDir(ctx: CommandContext, opt?: string): string {
  return path.resolve(opt || process.env.CONTIMG_MOSAIC_DIR || path.join(ctx.stateDir, 'mosaics'));
}

const fmtMjd = (m: number | null): string => (m === null ? '?' : mjdToIso(m).replace(/\.\d+Z$/, ''));

// ---------------------------------------------------------------- plan

interface PlanOutcome { row: MosaicRow; nCandidates: number; nOutliers: number; nOverLimit: number }

function planMosaic(reg: Registry, o: PlanOpts, replaceBuilt = false): PlanOutcome {
  const cands = imagesInWindow(reg, { startMjd: o.start, endMjd: o.end, decMinDeg: o.decMin, decMaxDeg: o.decMax });
  const sel = selectMembers(cands, o.tier, { maxImages: o.maxImages });
  const win = `${fmtMjd(o.start)} … ${fmtMjd(o.end)}${o.decMin !== undefined || o.decMax !== undefined ? `, dec ${o.decMin ?? '-90'}…${o.decMax ?? '90'}°` : ''}`;
  if (sel.outliers.length) {
    const thr = (sel.threshold as number) * 1e3;
    log.warn(
      `${o.name}: rejected ${sel.outliers.length} noise outlier${sel.outliers.length > 1 ? 's' : ''} (noise > ${thr.toFixed(3)} mJy/beam = median ${((sel.medianNoise as number) * 1e3).toFixed(3)} + 3×1.4826×MAD ${((sel.madNoise as number) * 1e3).toFixed(3)}): ` +
        sel.outliers.map((c) => `${path.basename(c.path)} (${((c.noise_jy as number) * 1e3).toFixed(3)} mJy/beam)`).join(', '),
    );
  }
  if (sel.overLimit.length) {
    log.warn(`${o.name}: tier ${o.tier} holds at most ${sel.limit} images; ${sel.overLimit.length} later images (from ${fmtMjd(sel.overLimit[0].mid_mjd)}) left out — narrow the window or use a deeper tier`);
  }
  const unknown = sel.selected.filter((c) => c.noise_jy === null).length;
  if (unknown) log.info(`${o.name}: ${unknown} members have no noise in the registry; it will be read from their headers or measured at build time`);
  const centre = meanDirection(sel.selected);
  const row = savePlan(reg, {
    name: o.name, tier: o.tier, startMjd: o.start, endMjd: o.end, decMinDeg: o.decMin ?? null, decMaxDeg: o.decMax ?? null,
    raDeg: centre?.raDeg ?? null, decDeg: centre?.decDeg ?? null,
    members: sel.selected.map((c) => ({ imageId: c.id, weight: c.noise_jy ? 1 / (c.noise_jy * c.noise_jy) : null })),
  }, { replaceBuilt });
  if (sel.selected.length === 0) log.warn(`${o.name}: no usable images in ${win}; the plan is empty (building it will fail)`);
  else log.info(`${o.name}: planned ${sel.selected.length} of ${cands.length} images in ${win} (tier ${o.tier})`);
  return { row, nCandidates: cands.length, nOutliers: sel.outliers.length, nOverLimit: sel.overLimit.length };
}

async function runPlan(ctx: CommandContext, o: PlanOpts): Promise<number> {
  checkName(o.name);
  if (!(o.end > o.start)) throw new UsageError(`--end (${fmtMjd(o.end)}) must be after --start (${fmtMjd(o.start)})`);
  if (o.decMin !== undefined && o.decMax !== undefined && o.decMax < o.decMin) throw new UsageError('--dec-max must be ≥ --dec-min');
  const reg = ctx.registry();
  const r = planMosaic(reg, o);
  if (o.json) {
    printLine(JSON.stringify({
      name: r.row.name, kind: 'mosaic-plan', tier: r.row.tier, status: r.row.status, n_members: r.row.n_members,
      n_candidates: r.nCandidates, n_outliers: r.nOutliers, n_over_limit: r.nOverLimit,
      start_mjd: r.row.start_mjd, end_mjd: r.row.end_mjd, ra_deg: r.row.ra_deg, dec_deg: r.row.dec_deg,
    }));
  } else printLine(r.row.name);
  return 0;
}

// ---------------------------------------------------------------- build

function historyLines(sub: string): string[] {
  const args = process.argv.slice(2).join(' ');
  return [`dsa110 ${packageVersion()} mosaic ${sub}`, `args: ${args}`];
}

async function doBuild(ctx: CommandContext, reg: Registry, name: string, inputs: BuildInput[], output: string, o: BuildOpts, sub: string): Promise<BuildResult> {
  const bar = progressBar(inputs.length, name);
  try {
    const r = await buildMosaicFiles(inputs, {
      output, name, interp: o.interp, minPb: o.minPb, noPb: !o.pb, projection: o.projection, maxPixels: o.maxPixels, localNoise: !o.flatNoise,
      history: historyLines(sub), version: packageVersion(), onInput: (d) => bar.update(d),
    });
    bar.stop();
    return r;
  } catch (e) {
    bar.stop();
    throw e;
  }
}

function report(r: BuildResult, name: string, seconds: number, o: { json?: boolean }): void {
  const beam = r.beam ? `${(r.beam.bmajDeg * 3600).toFixed(1)}″×${(r.beam.bminDeg * 3600).toFixed(1)}″` : 'none';
  log.info(
    `${name}: ${r.used} images → ${r.paths.image} (${r.grid.nx}×${r.grid.ny} ${r.grid.projection}, ${r.coverageDeg2.toFixed(2)} deg², median noise ${(r.noiseMedianJy * 1e3).toFixed(3)} mJy/beam, beam ${beam}) in ${seconds.toFixed(1)} s`,
  );
  printProduct({
    path: r.paths.image, kind: 'mosaic', name, n_members: r.used, noise_jy: r.noiseMedianJy, coverage_deg2: r.coverageDeg2,
    ra_deg: r.raDeg, dec_deg: r.decDeg, projection: r.grid.projection, nx: r.grid.nx, ny: r.grid.ny, cell_arcsec: r.grid.cellDeg * 3600,
    bmaj_deg: r.beam?.bmajDeg ?? null, bmin_deg: r.beam?.bminDeg ?? null, bpa_deg: r.beam?.bpaDeg ?? null, mjd_obs: r.mjdObs,
    noise_path: r.paths.noise, weight_path: r.paths.weight, png_path: r.paths.png, seconds,
  }, o);
}

function recordBuilt(reg: Registry, mosaicId: number, r: BuildResult, seconds: number): void {
  reg.write(() => {
    markMosaicBuilt(reg, mosaicId, {
      path: r.paths.image, noiseJy: Number.isFinite(r.noiseMedianJy) ? r.noiseMedianJy : null, coverageDeg2: r.coverageDeg2,
      raDeg: r.raDeg, decDeg: r.decDeg, nMembers: r.used,
      members: r.members.filter((m) => m.used && m.imageId !== undefined).map((m) => ({ imageId: m.imageId as number, weight: 1 / ((m.sigma as number) ** 2) })),
    });
    recordStage(reg, { command: 'mosaic', product: r.paths.image, stage: 'total', seconds, bytes: r.bytes });
    recordStage(reg, { command: 'mosaic', product: r.paths.image, stage: 'accumulate', seconds: r.timings.accumulate });
    recordStage(reg, { command: 'mosaic', product: r.paths.image, stage: 'write', seconds: r.timings.write, bytes: r.bytes });
  });
}

function errorText(e: unknown): string {
  return e instanceof DsaError ? e.oneLine() : (e as Error)?.message ?? String(e);
}

/** Build a planned mosaic (row from the registry). Marks it failed on any error and rethrows. */
async function buildPlanned(ctx: CommandContext, reg: Registry, row: MosaicRow, o: BuildOpts): Promise<BuildResult> {
  const t0 = performance.now();
  const output = path.resolve(o.output ?? path.join(mosaicDir(ctx, o.outputDir), `${row.name}.fits`));
  try {
    const members = mosaicMembers(reg, row.id);
    if (members.length === 0) {
      throw new DsaError(`mosaic '${row.name}' has an empty plan (no images matched ${fmtMjd(row.start_mjd)} … ${fmtMjd(row.end_mjd)}); nothing to build — re-plan with a wider window`, { subject: row.name });
    }
    const gone = members.filter((m) => m.deleted_at !== null || m.status !== 'ok');
    if (gone.length) throw new DsaError(`${gone.length} member image(s) are deleted or failed in the registry (${gone.map((m) => m.path).slice(0, 3).join(', ')}${gone.length > 3 ? ', …' : ''}); re-plan`, { subject: row.name });
    const inputs: BuildInput[] = members.map((m) => ({ imagePath: m.path, pbPath: m.pb_path, noiseJy: m.noise_jy, imageId: m.id }));
    const r = await doBuild(ctx, reg, row.name, inputs, output, o, 'build');
    const seconds = (performance.now() - t0) / 1000;
    recordBuilt(reg, row.id, r, seconds);
    return r;
  } catch (e) {
    const msg = errorText(e);
    try {
      markMosaicFailed(reg, row.id, msg);
      reg.write(() => recordStage(reg, { command: 'mosaic', product: output, stage: 'total', seconds: (performance.now() - t0) / 1000, ok: false, error: msg }));
    } catch (e2) {
      log.warn(`could not record the failure in the registry: ${(e2 as Error).message}`);
    }
    throw e;
  }
}

/** A single argument that is not an existing file and does not look like one is a plan name. */
function isPlanName(args: string[]): boolean {
  if (args.length !== 1) return false;
  const a = args[0];
  if (/\.fits?$/i.test(a)) return false;
  if (existsSync(a) && statSync(a).isFile()) return false;
  return true;
}

async function runBuild(ctx: CommandContext, args: string[], o: BuildOpts): Promise<number> {
  const inputs = await readInputPaths(args);
  if (inputs.length === 0) throw new UsageError('give a planned mosaic NAME or IMAGE files (or image paths on stdin)');
  const reg = ctx.registry();
  const t0 = performance.now();
  if (isPlanName(inputs)) {
    const name = inputs[0];
    const row = getMosaic(reg, name);
    if (!row) throw new DsaError(`no mosaic named '${name}' in the registry (plan it with 'dsa110 mosaic plan --name ${name} …', or give image files)`, { subject: name });
    if (row.status === 'built') log.info(`${name}: already built (${row.path}); rebuilding`);
    const r = await buildPlanned(ctx, reg, row, o);
    report(r, name, (performance.now() - t0) / 1000, o);
    return 0;
  }
  // Explicit images: registry figures (noise, pb path, id) where the image is registered.
  for (const f of inputs) if (!/\.fits?$/i.test(f) && !existsSync(f)) throw new DsaError(`no such image file (and not a mosaic name, since several inputs were given)`, { subject: f });
  if (!o.output && !o.name) throw new UsageError('building from image files needs --output FILE (or --name NAME for <mosaic-dir>/NAME.fits)');
  const output = path.resolve(o.output ?? path.join(mosaicDir(ctx, o.outputDir), `${checkName(o.name as string)}.fits`));
  const name = checkName(o.name ?? path.basename(output).replace(/\.fits?$/i, ''));
  const buildInputs: BuildInput[] = inputs.map((f) => {
    const p = path.resolve(f);
    const row = imageByPath(reg, p);
    return row ? { imagePath: p, pbPath: row.pb_path, noiseJy: row.noise_jy, imageId: row.id } : { imagePath: p };
  });
  let r: BuildResult;
  try {
    r = await doBuild(ctx, reg, name, buildInputs, output, o, 'build');
  } catch (e) {
    reg.write(() => recordStage(reg, { command: 'mosaic', product: output, stage: 'total', seconds: (performance.now() - t0) / 1000, ok: false, error: errorText(e) }));
    throw e;
  }
  const seconds = (performance.now() - t0) / 1000;
  reg.write(() => {
    const existing = getMosaic(reg, name);
    if (existing && existing.status === 'planned' && existing.n_members > 0) log.warn(`${name}: replacing the plan of that name with this build from explicit images`);
    const row = savePlan(reg, { name, tier: (existing?.tier as MosaicTier | undefined) ?? 'science', startMjd: r.mjdStart, endMjd: r.mjdEnd, members: [] }, { replaceBuilt: true });
    recordBuilt(reg, row.id, r, seconds);
  });
  report(r, name, seconds, o);
  return 0;
}

// ---------------------------------------------------------------- nightly

function previousUtcDate(now = new Date()): string {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - 86400000);
  return d.toISOString().slice(0, 10);
}

async function runNightly(ctx: CommandContext, o: NightlyOpts): Promise<number> {
  const date = o.date ?? previousUtcDate();
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const ms = m ? Date.UTC(+m[1], +m[2] - 1, +m[3]) : NaN;
  if (!m || !Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== date) throw new UsageError(`--date must be YYYY-MM-DD, got '${date}'`);
  const start = ms / 86400000 + 40587;
  // The day is [00:00, 24:00) UTC; the registry query is inclusive, so stop a microsecond short.
  const end = start + 1 - 1e-11;
  const name = `nightly-${date}`;
  const reg = ctx.registry();
  const existing = getMosaic(reg, name);
  if (existing && existing.status === 'built' && existing.deleted_at === null && !o.force) {
    log.info(`${name}: already built (${existing.path}); nothing to do (--force rebuilds)`);
    if (existing.path) printProduct({ path: existing.path, kind: 'mosaic', name, n_members: existing.n_members, noise_jy: existing.noise_jy, coverage_deg2: existing.coverage_deg2, ra_deg: existing.ra_deg, dec_deg: existing.dec_deg }, o);
    return 0;
  }
  if (imagesInWindow(reg, { startMjd: start, endMjd: end, decMinDeg: o.decMin, decMaxDeg: o.decMax }).length === 0) {
    log.info(`${name}: no images for ${date} (UTC); nothing to do`);
    return 0;
  }
  const t0 = performance.now();
  const plan = planMosaic(reg, { name, start, end, decMin: o.decMin, decMax: o.decMax, tier: o.tier }, o.force);
  if (plan.row.n_members === 0) {
    log.info(`${name}: every image of ${date} was rejected; nothing to build`);
    return 0;
  }
  const r = await buildPlanned(ctx, reg, plan.row, { ...o, name });
  report(r, name, (performance.now() - t0) / 1000, o);
  return 0;
}

// ---------------------------------------------------------------- options

function addBuildOptions(c: Command): Command {
  return c
    .option('--output-dir <dir>', 'directory for <NAME>.fits (env CONTIMG_MOSAIC_DIR; default <state-dir>/mosaics)')
    .addOption(new Option('--interp <kind>', 'interpolation when reprojecting images and beams (cubic for coarsely sampled images: bilinear smooths a beam sampled by ~4 pixels, e.g. --quick images, taking ~2 % off peak fluxes)').argParser(parseChoice('--interp', ['bilinear', 'cubic'] as const)).default('bilinear'))
    .option('--min-pb <f>', 'blank where the summed weight Σ wA² is below this fraction of its peak (≈ beam level 0.45 for one pointing at 0.2)', parseNumber('--min-pb', { min: 0, max: 1 }), 0.2)
    .option('--flat-noise', 'noise map (Σ wA²)^−½ from one σ per input (default: from each input\'s local noise, which follows deconvolution errors)')
    .option('--no-pb', 'no primary-beam files: use an Airy model (4.65 m dish) centred on each image\'s reference pixel')
    .addOption(new Option('--projection <proj>', 'output projection (default: SIN below 10° across, else CAR)').argParser((v: string) => parseChoice('--projection', ['SIN', 'CAR'] as const)(v.toUpperCase())))
    .option('--max-pixels <n>', 'refuse output grids larger than this (memory ≈ 16 bytes per pixel)', parseInteger('--max-pixels', 1), 150_000_000)
    .option('--json', 'one JSON object per mosaic (path, kind, noise, coverage, product paths)');
}

export function register(program: Command): void {
  const cmd = program
    .command('mosaic')
    .description('plan and build primary-beam-weighted linear mosaics of images');

  cmd
    .command('plan')
    .description('choose images from the registry by time and declination; record the plan (status planned) and print its name')
    .requiredOption('--name <name>', 'mosaic name (re-planning a name replaces its plan unless it is built)')
    .requiredOption('--start <time>', 'first image mid-time (ISO-8601 UTC or MJD)', parseTimeToMjd('--start'))
    .requiredOption('--end <time>', 'last image mid-time (ISO-8601 UTC or MJD)', parseTimeToMjd('--end'))
    .option('--dec-min <deg>', 'lowest pointing declination', parseNumber('--dec-min', { min: -90, max: 90 }))
    .option('--dec-max <deg>', 'highest pointing declination', parseNumber('--dec-max', { min: -90, max: 90 }))
    .addOption(new Option('--tier <tier>', 'quicklook ≤ 10 images, science ≤ 100, deep ≤ 1000').argParser(parseChoice('--tier', MOSAIC_TIERS)).default('science'))
    .option('--max-images <n>', 'a lower count limit than the tier\'s', parseInteger('--max-images', 1))
    .option('--json', 'print the plan as one JSON object')
    .action(action('mosaic plan', (ctx, o: PlanOpts) => runPlan(ctx, o)));

  addBuildOptions(
    cmd
      .command('build')
      .description('build a planned mosaic by NAME, or a mosaic of the given flat-noise images and their -pb.fits beams')
      .argument('[inputs...]', 'a planned mosaic NAME, or IMAGE files (default: image paths on stdin)')
      .option('-o, --output <file>', 'mosaic FITS file (default <mosaic-dir>/<NAME>.fits); also writes <stem>-noise.fits, <stem>-weight.fits, <stem>.png')
      .option('--name <name>', 'name for a mosaic of explicit images (default: the output file name)'),
  ).action(action('mosaic build', (ctx, inputs: string[], o: BuildOpts) => runBuild(ctx, inputs, o)));

  addBuildOptions(
    cmd
      .command('nightly')
      .description('plan and build nightly-YYYY-MM-DD from the images of the previous UTC day (for cron); no images → exit 0')
      .option('--date <YYYY-MM-DD>', 'the UTC day to mosaic (default: yesterday)')
      .addOption(new Option('--tier <tier>', 'tier of the nightly plan').argParser(parseChoice('--tier', MOSAIC_TIERS)).default('deep'))
      .option('--dec-min <deg>', 'lowest pointing declination', parseNumber('--dec-min', { min: -90, max: 90 }))
      .option('--dec-max <deg>', 'highest pointing declination', parseNumber('--dec-max', { min: -90, max: 90 }))
      .option('--force', 'rebuild even if the night is already built'),
  ).action(action('mosaic nightly', (ctx, o: NightlyOpts) => runNightly(ctx, o)));
}
