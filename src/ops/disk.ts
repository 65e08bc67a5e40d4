/**
 * Disk checks: free space of the input, output and state directories against warning and
 * critical thresholds, and the pause flag that `convert --watch` honours while space is critical.
 *
 * Test hook: DSA110_FAKE_FREE_BYTES overrides the statfs reading. Its value is a comma-separated
 * list of `PATH=BYTES` entries (the longest PATH that equals or contains the checked directory
 * wins) and optionally one bare `BYTES` used for every other directory, e.g.
 * `DSA110_FAKE_FREE_BYTES=/data/ms=5e10,3e12`. It exists for tests and drills only.
 */
import { statfsSync, existsSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { act, errMessage, type HousekeepAction } from './actions.js';

export const FAKE_FREE_ENV = 'DSA110_FAKE_FREE_BYTES';

/**
 * The disk-critical flag: `<stateDir>/flags/disk-critical`. Same path as convert's
 * `diskPauseFlag` (kept here too so housekeep need not load the convert command).
 */
export function diskPauseFlagPath(stateDir: string): string {
  return path.join(stateDir, 'flags', 'disk-critical');
}

interface FakeFree { byPath: [string, number][]; fallback?: number }

export function parseFakeFree(spec: string | undefined): FakeFree | undefined {
  if (!spec || !spec.trim()) return undefined;
  const f: FakeFree = { byPath: [] };
  for (const raw of spec.split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const eq = item.lastIndexOf('=');
    const num = Number(eq >= 0 ? item.slice(eq + 1) : item);
    if (!Number.isFinite(num) || num < 0) throw new Error(`${FAKE_FREE_ENV}: bad byte count in '${item}'`);
    if (eq >= 0) f.byPath.push([path.resolve(item.slice(0, eq)), num]);
    else f.fallback = num;
  }
  f.byPath.sort((a, b) => b[0].length - a[0].length);
  return f;
}

/** The nearest existing directory at or above p (statfs needs an existing path). */
function existingAncestor(p: string): string {
  let d = path.resolve(p);
  while (!existsSync(d)) {
    const up = path.dirname(d);
    if (up === d) break;
    d = up;
  }
  return d;
}

/** Free bytes available to unprivileged users on the filesystem holding dir (fake hook first). */
export function freeBytesFor(dir: string, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const fake = parseFakeFree(env[FAKE_FREE_ENV]);
  const abs = path.resolve(dir);
  if (fake) {
    for (const [p, n] of fake.byPath) if (abs === p || abs.startsWith(p.endsWith(path.sep) ? p : p + path.sep)) return n;
    if (fake.fallback !== undefined) return fake.fallback;
  }
  try {
    const s = statfsSync(existingAncestor(abs));
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return undefined;
  }
}

export interface DiskCheckOptions {
  /** Directories to check, each with a role for messages (input, ms, images, state...). */
  dirs: readonly { role: string; path: string }[];
  warnGb: number;
  criticalGb: number;
  stateDir: string;
  dryRun?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface DiskCheckResult { actions: HousekeepAction[]; critical: boolean; flag: string }

const GB = 1e9;

export async function checkDisk(o: DiskCheckOptions): Promise<DiskCheckResult> {
  const dry = o.dryRun ?? false;
  const actions: HousekeepAction[] = [];
  const flag = diskPauseFlagPath(o.stateDir);
  const critical: { role: string; path: string; free: number }[] = [];
  const seen = new Set<string>();
  for (const d of o.dirs) {
    const abs = path.resolve(d.path);
    if (seen.has(abs)) continue;
    seen.add(abs);
    const free = freeBytesFor(abs, o.env);
    if (free === undefined) {
      actions.push(act('disk-unknown', abs, false, { role: d.role, detail: 'cannot read free space' }));
      continue;
    }
    const gb = (free / GB).toFixed(1);
    if (free < o.criticalGb * GB) {
      critical.push({ role: d.role, path: abs, free });
      actions.push(act('disk-critical', abs, false, { role: d.role, free_bytes: free, detail: `${gb} GB free < critical ${o.criticalGb} GB` }));
    } else if (free < o.warnGb * GB) {
      actions.push(act('disk-warn', abs, false, { role: d.role, free_bytes: free, detail: `${gb} GB free < warning ${o.warnGb} GB` }));
    } else {
      actions.push(act('disk-ok', abs, false, { role: d.role, free_bytes: free, detail: `${gb} GB free` }));
    }
  }
  const flagExists = existsSync(flag);
  if (critical.length) {
    const a = act('pause-flag-set', flag, dry, {
      detail: `conversions paused: ${critical.map((c) => `${c.role} ${c.path} ${(c.free / GB).toFixed(1)} GB`).join('; ')}`,
    });
    if (!dry) {
      try {
        await fsp.mkdir(path.dirname(flag), { recursive: true });
        const body = { set_at: new Date().toISOString(), critical_gb: o.criticalGb, dirs: critical.map((c) => ({ role: c.role, path: c.path, free_bytes: c.free })) };
        await writeFileAtomic(flag, JSON.stringify(body) + '\n');
      } catch (e) {
        a.ok = false;
        a.error = errMessage(e);
      }
    }
    actions.push(a);
  } else if (flagExists) {
    const a = act('pause-flag-cleared', flag, dry, { detail: `free space above ${o.criticalGb} GB everywhere; conversions may resume` });
    if (!dry) {
      try {
        await fsp.rm(flag, { force: true });
      } catch (e) {
        a.ok = false;
        a.error = errMessage(e);
      }
    }
    actions.push(a);
  }
  return { actions, critical: critical.length > 0, flag };
}
