/**
 * dsa110 apply — apply calibration to measurement sets: CORRECTED_DATA = DATA / (g_i conj(g_j))
 * with K, BP and G (linear in time), FLAG set where a solution is flagged, WEIGHT_SPECTRUM scaled
 * by |g_i g_j|² (calwt; restored first if an earlier apply scaled it, so re-running is safe).
 * Tables: --tables, else the registry's active set for the MS mid-time.
 */
import { Command } from 'commander';
import path from 'node:path';
import { statSync } from 'node:fs';
import { action, forEachInput, type CommandContext } from '../util/command.js';
import { DsaError, UsageError } from '../util/errors.js';
import { log } from '../util/log.js';
import { printProduct } from '../util/output.js';
import { parseInteger, parseNumber, mjdToIso } from '../util/options.js';
import { packageVersion } from '../util/config.js';
import { readInputPaths } from '../util/inputs.js';
import { openMs } from '../io/ms.js';
import { readCaltable } from '../io/caltables.js';
import { fileToLibrary, msTimeRangeMjd } from '../calibration/ms-io.js';
import { applyToMs } from '../calibration/ms-apply.js';
import type { ApplyTables } from '../calibration/apply.js';
import { activeCalSet } from '../registry/calibration.js';
import { getMs, updateMs, upsertMs } from '../registry/products.js';
import { recordStage } from '../registry/metrics.js';
import type { Registry } from '../registry/db.js';

interface ApplyOpts {
  tables?: string[];
  maxDistanceHours: number;
  calwt: boolean;
  threads: number;
  json?: boolean;
  fsync: boolean;
}

/** Warn when the nearest set is further than this from the MS (hours). */
const WARN_DISTANCE_HOURS = 6;

async function loadTables(paths: string[], meta: Parameters<typeof fileToLibrary>[1]): Promise<ApplyTables> {
  const out: ApplyTables = {};
  for (const p of paths) {
    const t = fileToLibrary(await readCaltable(p), meta, p);
    const key = t.type === 'K' ? 'delays' : t.type === 'BP' ? 'bandpass' : 'gains';
    if (out[key]) throw new UsageError(`more than one ${t.type} table given (${p})`);
    (out as Record<string, unknown>)[key] = t;
  }
  return out;
}

async function applyOne(ctx: CommandContext, reg: () => Registry, msPath: string, o: ApplyOpts, argv: string[]): Promise<void> {
  const t0 = performance.now();
  const ms = await openMs(msPath);
  const abs = path.resolve(ms.path);
  const mid = msTimeRangeMjd(ms.meta).mid;
  let tablePaths: string[];
  let setName: string;
  if (o.tables && o.tables.length) {
    tablePaths = o.tables.map((p) => path.resolve(p));
    setName = path.basename(tablePaths[0]).replace(/\.(kcal|bpcal|gpcal)\.zarr$/, '');
  } else {
    const set = activeCalSet(reg(), mid, o.maxDistanceHours / 24);
    if (!set || set.tables.length === 0) {
      throw new DsaError(`no calibration valid for ${ms.path} (${mjdToIso(mid)}) within ±${o.maxDistanceHours} h in the registry`, { subject: ms.path });
    }
    const hours = set.distanceDays * 24;
    if (hours > WARN_DISTANCE_HOURS) log.warn(`${ms.path}: nearest calibration set ${set.setName} is ${hours.toFixed(1)} h outside its validity`);
    else if (hours > 0) log.info(`${ms.path}: using set ${set.setName}, ${hours.toFixed(2)} h outside its validity`);
    tablePaths = set.tables.map((t) => t.path);
    setName = set.setName;
  }
  const tables = await loadTables(tablePaths, ms.meta);
  log.info(`${ms.path}: applying ${setName} (${tablePaths.map((p) => path.basename(p)).join(', ')})`);
  const res = await applyToMs(ms, tables, {
    calwt: o.calwt, threads: o.threads, fsync: o.fsync,
    history: { command: 'apply', version: packageVersion(), args: [...argv, `set=${setName}`, ...tablePaths.map((p) => `table=${p}`), o.calwt ? 'calwt' : 'nocalwt'] },
  });
  const seconds = (performance.now() - t0) / 1000;
  const newly = res.flaggedBySolutions + res.nonFinite;
  log.info(`${ms.path}: ${res.visibilities} visibilities, ${(100 * res.alreadyFlagged / res.visibilities).toFixed(1)} % already flagged, ${(100 * newly / res.visibilities).toFixed(2)} % flagged by solutions${res.restoredWeights ? '; weights of the earlier apply restored first' : ''}; ${seconds.toFixed(1)} s`);
  const r = reg();
  r.write(() => {
    if (!getMs(r, abs)) {
      const m = ms.meta;
      const tr = msTimeRangeMjd(m);
      let size = 0;
      try { size = statSync(path.join(abs, 'DATA')).size; } catch { /* size is informational */ }
      upsertMs(r, {
        path: abs, groupId: m.groupId, startMjd: tr.start, endMjd: tr.end, raDeg: (m.phaseDir[0] * 180) / Math.PI, decDeg: (m.phaseDir[1] * 180) / Math.PI,
        nTimes: m.nTimes, nBaselines: m.nBaselines, nChan: m.nChan, nPol: m.nPol, sizeBytes: size,
      });
    }
    updateMs(r, abs, { status: 'calibrated', cal_set: setName });
    recordStage(r, { command: 'apply', product: abs, stage: 'total', seconds });
  });
  printProduct({
    path: ms.path, kind: 'ms', cal_set: setName, tables: tablePaths, visibilities: res.visibilities,
    flagged_by_solutions: res.flaggedBySolutions, already_flagged: res.alreadyFlagged, seconds,
  }, { json: o.json });
}

export function register(program: Command): void {
  program
    .command('apply')
    .description('apply calibration tables to measurement sets (CORRECTED_DATA, FLAG, WEIGHT_SPECTRUM)')
    .argument('[ms...]', 'measurement sets (default: paths on stdin)')
    .option('--tables <paths...>', 'caltables to apply (kcal/bpcal/gpcal; default: the active registry set for each MS)')
    .option('--max-distance-hours <h>', 'without --tables: use the nearest active set up to this far outside its validity', parseNumber('--max-distance-hours', { min: 0 }), 12)
    .option('--no-calwt', 'leave WEIGHT_SPECTRUM unscaled')
    .option('--threads <n>', 'worker threads', parseInteger('--threads', 1, 64), 2)
    .option('--no-fsync', 'skip fsync (scratch data and benchmarks only)')
    .option('--json', 'one JSON object per product on stdout')
    .action(action('apply', async (ctx, inputs: string[], o: ApplyOpts) => {
      const paths = await readInputPaths(inputs);
      if (!paths.length) throw new UsageError('no inputs: give measurement sets (or paths on stdin)');
      const argv = process.argv.slice(2);
      let reg: Registry | undefined;
      const getReg = () => (reg ??= ctx.registry());
      return forEachInput(ctx, paths, (p) => applyOne(ctx, getReg, p, o, argv), { rethrowSingle: true });
    }));
}
