/**
 * dsa110 housekeep — queue recovery, temp cleanup, disk checks, retention and database upkeep.
 * Meant to run hourly from cron (cron/dsa110.crontab) or scripts/dsa110-scheduler.
 *
 * Output: stdout carries only products (the backup path), or with --json one JSON object per
 * action followed by one `{"action":"summary",...}` object. Actions are logged on stderr.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { action } from '../util/command.js';
import { UsageError } from '../util/errors.js';
import { log } from '../util/log.js';
import { printJson, printLine } from '../util/output.js';
import { parseInteger, parseNumber } from '../util/options.js';
import type { HousekeepAction } from '../ops/actions.js';
import { runHousekeep } from '../ops/housekeep.js';
import { parseRetention, RETENTION_KINDS, type RetentionPolicy } from '../ops/retention.js';
import { diskPauseFlagPath } from '../ops/disk.js';

interface HousekeepCliOptions {
  inProgressTimeout: number;
  collectingTimeout: number;
  maxRetries: number;
  tempAge: number;
  deadPidGrace: number;
  maxDepth: number;
  inputDir: string[];
  msDir: string[];
  imageDir: string[];
  calDir: string[];
  mosaicDir: string[];
  scratchDir: string[];
  warnGb: number;
  criticalGb: number;
  retentionDays: RetentionPolicy;
  apply?: boolean;
  dryRun?: boolean;
  backup?: string;
  quickCheck?: boolean;
  queue: boolean;
  cleanup: boolean;
  disk: boolean;
  database: boolean;
  json?: boolean;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];
const repeatable = (flags: string, desc: string, none = 'none') => new Option(flags, desc).argParser(collect).default([], none);

function retentionOption(v: string, prev: RetentionPolicy): RetentionPolicy {
  try {
    return parseRetention(v, prev);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

const CHECK_ACTIONS = new Set(['disk-ok', 'integrity-check', 'wal-checkpoint']);

function logAction(a: HousekeepAction): void {
  const text = `${a.dry_run ? 'would ' : ''}${a.action} ${a.subject}${a.detail ? ` (${a.detail})` : ''}${a.error ? `: ${a.error}` : ''}`;
  if (!a.ok) log.error(text);
  else if (a.action === 'disk-critical' || a.action === 'pause-flag-set' || a.action === 'disk-warn' || a.action === 'disk-unknown' || a.action === 'fail-stale' || a.action === 'fail-collecting') log.warn(text);
  else if (CHECK_ACTIONS.has(a.action)) log.debug(text);
  else log.info(text);
}

export function register(program: Command): void {
  program
    .command('housekeep')
    .description('recover stale queue rows, remove abandoned temporaries and partial products, check free disk, apply retention, check and back up the registry')
    .option('--in-progress-timeout <s>', 'in_progress groups idle this long go back to pending', parseInteger('--in-progress-timeout', 1), 3600)
    .option('--collecting-timeout <s>', 'collecting groups older than this fail', parseInteger('--collecting-timeout', 1), 86400)
    .option('--max-retries <n>', 'requeues allowed before a stale group fails', parseInteger('--max-retries', 0), 3)
    .option('--temp-age <s>', 'temporaries, scratch and partial products idle this long are removed', parseInteger('--temp-age', 1), 86400)
    .option('--dead-pid-grace <s>', 'temporaries of a dead local process are removed after this idle time', parseInteger('--dead-pid-grace', 0), 300)
    .option('--max-depth <n>', 'directory levels searched below each data directory', parseInteger('--max-depth', 1, 32), 4)
    .addOption(repeatable('--input-dir <dir>', 'incoming UVH5 directory (repeatable)'))
    .addOption(repeatable('--ms-dir <dir>', 'measurement set directory (repeatable)'))
    .addOption(repeatable('--image-dir <dir>', 'image directory (repeatable)'))
    .addOption(repeatable('--cal-dir <dir>', 'caltable directory (repeatable)'))
    .addOption(repeatable('--mosaic-dir <dir>', 'mosaic directory (repeatable)'))
    .addOption(repeatable('--scratch-dir <dir>', 'scratch directory whose idle entries are removed (repeatable)', '<state dir>/scratch'))
    .option('--warn-gb <gb>', 'warn below this many GB free', parseNumber('--warn-gb', { min: 0 }), 200)
    .option('--critical-gb <gb>', 'below this: exit 1 and pause conversions (flag file)', parseNumber('--critical-gb', { min: 0 }), 100)
    .addOption(new Option('--retention-days <kind=days>', `delete products older than DAYS (repeatable; kinds ${RETENTION_KINDS.join(', ')})`).argParser(retentionOption).default({}, 'none'))
    .option('--apply', 'retention: really delete (default: list what would go)')
    .option('--dry-run', 'change nothing at all; report what would be done')
    .option('--backup <path>', 'online backup of the registry to PATH (a directory gets a timestamped file)')
    .option('--quick-check', 'PRAGMA quick_check instead of the full integrity_check')
    .option('--no-queue', 'skip queue recovery')
    .option('--no-cleanup', 'skip temp/scratch/partial-product cleanup')
    .option('--no-disk', 'skip the disk check')
    .option('--no-database', 'skip integrity check, checkpoint and backup')
    .option('--json', 'one JSON object per action on stdout, then a summary object')
    .addHelpText('after', `
Test hook: DSA110_FAKE_FREE_BYTES='PATH=BYTES,...[,BYTES]' replaces the free-space reading.
Exit status: 0 ok; 1 critical disk space, integrity failure or a failed action; 2 usage error.`)
    .action(action('housekeep', async (ctx, o: HousekeepCliOptions) => {
      if (o.apply && o.dryRun) throw new UsageError('--apply and --dry-run contradict each other');
      if (o.apply && !Object.keys(o.retentionDays).length) throw new UsageError('--apply needs at least one --retention-days KIND=DAYS');
      if (o.criticalGb > o.warnGb) throw new UsageError(`--critical-gb (${o.criticalGb}) must not exceed --warn-gb (${o.warnGb})`);
      const reg = ctx.registry({ create: false });
      const dirs = [
        ...o.inputDir.map((p) => ({ role: 'input', path: p })),
        ...o.msDir.map((p) => ({ role: 'ms', path: p })),
        ...o.imageDir.map((p) => ({ role: 'images', path: p })),
        ...o.calDir.map((p) => ({ role: 'caltables', path: p })),
        ...o.mosaicDir.map((p) => ({ role: 'mosaics', path: p })),
      ];
      const report = await runHousekeep(reg, {
        stateDir: ctx.stateDir,
        dirs,
        scratchDirs: o.scratchDir.length ? o.scratchDir : undefined,
        inProgressTimeoutS: o.inProgressTimeout,
        collectingTimeoutS: o.collectingTimeout,
        maxRetries: o.maxRetries,
        tempAgeS: o.tempAge,
        deadPidGraceS: o.deadPidGrace,
        maxDepth: o.maxDepth,
        warnGb: o.warnGb,
        criticalGb: o.criticalGb,
        retention: o.retentionDays,
        apply: o.apply,
        backup: o.backup,
        quickCheck: o.quickCheck,
        dryRun: o.dryRun,
        parts: { queue: o.queue, cleanup: o.cleanup, disk: o.disk, database: o.database },
        onAction: (a) => {
          if (o.json) printJson(a);
          else logAction(a);
        },
      });
      if (report.diskCritical) {
        const where = report.actions.filter((a) => a.action === 'disk-critical').map((a) => `${a.subject} (${a.detail})`).join(', ');
        log.error(`disk space critical: ${where}; conversions ${o.dryRun ? 'would be' : 'are'} paused while ${diskPauseFlagPath(ctx.stateDir)} exists`);
      }
      if (report.integrityOk === false) log.error(`registry ${reg.path} failed its integrity check; restore from a backup`);
      const changed = report.actions.filter((a) => !a.dry_run && !['disk-ok', 'disk-warn', 'disk-critical', 'disk-unknown', 'integrity-check', 'wal-checkpoint'].includes(a.action)).length;
      const summary = {
        action: 'summary', subject: reg.path, ok: report.exitCode === 0, dry_run: o.dryRun ?? false,
        actions: report.actions.length, changed, failures: report.failures, bytes_freed: report.bytesFreed,
        disk_critical: report.diskCritical, integrity_ok: report.integrityOk, backup: report.backupPath ?? null,
        seconds: Number(report.seconds.toFixed(3)),
      };
      if (o.json) printJson(summary);
      else {
        if (report.backupPath) printLine(report.backupPath);
        log.info(`${changed} change(s), ${(report.bytesFreed / 1e9).toFixed(2)} GB freed, ${report.failures} failure(s)${report.diskCritical ? ', disk critical' : ''} in ${report.seconds.toFixed(1)} s`);
      }
      return report.exitCode;
    }));
}
