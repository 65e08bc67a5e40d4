/**
 * One record per housekeeping action: what was (or, in a dry run, would be) done to what.
 * `dsa110 housekeep --json` prints these one per line; plain mode logs them on stderr.
 */
export interface HousekeepAction {
  /** e.g. requeue, fail-stale, fail-collecting, remove-temp, restore-old, remove-scratch,
   * remove-orphan, retention-delete, disk-ok, disk-warn, disk-critical, pause-flag-set,
   * pause-flag-cleared, integrity-check, wal-checkpoint, backup. */
  action: string;
  /** The file, directory, group id or database the action concerns. */
  subject: string;
  /** False when the action was attempted and failed (see `error`). */
  ok: boolean;
  /** True when nothing was changed (dry run, or a retention listing without --apply). */
  dry_run: boolean;
  detail?: string;
  error?: string;
  /** Bytes freed (or that would be freed). */
  bytes?: number;
  [extra: string]: unknown;
}

export function act(
  action: string,
  subject: string,
  dryRun: boolean,
  extra: Omit<Partial<HousekeepAction>, 'action' | 'subject' | 'dry_run'> = {},
): HousekeepAction {
  return { action, subject, ok: true, dry_run: dryRun, ...extra };
}

export function errMessage(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err?.code ? `${err.code}: ${err.message}` : String(err?.message ?? e);
}
