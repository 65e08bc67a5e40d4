/**
 * Cleanup: abandoned temporary siblings of atomic writes (TEMP_PATTERN), stale scratch
 * directories, and orphaned partial products that no registry row refers to.
 *
 * Staleness of a temp: older than `tempAgeS` (newest mtime anywhere beneath it), or written by a
 * process that no longer exists on this host and untouched for `deadPidGraceS`. The grace
 * protects writers on other hosts sharing the filesystem (their pids mean nothing here) for the
 * length of one product write. A stale `.old-` sibling whose final is missing is the previous
 * complete product left by a crash mid-swap: it is renamed back, never deleted.
 */
import { promises as fsp, openSync, readSync, closeSync, fstatSync } from 'node:fs';
import path from 'node:path';
import { parseTempName, pidAlive, type TempNameParts } from '../util/atomic.js';
import { act, errMessage, type HousekeepAction } from './actions.js';
import { exists, removeTree, treeStats } from './fsutil.js';

export type ProductKind = 'ms' | 'caltable' | 'fits';

export interface CleanupOptions {
  /** Data directories to walk (ms, image, cal, mosaic, input, state...). */
  dirs: readonly string[];
  /** Directories whose direct children are scratch space, removed when idle for tempAgeS. */
  scratchDirs?: readonly string[];
  tempAgeS: number;
  deadPidGraceS?: number;
  /** How deep below each directory to look (products live at depth 1, MS columns at 2). */
  maxDepth?: number;
  dryRun?: boolean;
  nowMs?: number;
  /** True if the registry has a row (any status) for this absolute path. */
  isRegistered?: (absPath: string, kind: ProductKind) => boolean;
  /** Also look for orphaned partial products (default true). */
  orphans?: boolean;
}

interface TempEntry { full: string; parts: TempNameParts; newest: number; bytes: number; stale: boolean }

const CALTABLE_RE = /\.(kcal|bpcal|gpcal)\.zarr$/;

/** Walk the directories and repair/remove what is stale. Never throws for one bad entry. */
export async function cleanupFiles(o: CleanupOptions): Promise<HousekeepAction[]> {
  const now = o.nowMs ?? Date.now();
  const dry = o.dryRun ?? false;
  const tempAgeMs = o.tempAgeS * 1000;
  const graceMs = (o.deadPidGraceS ?? 300) * 1000;
  const maxDepth = o.maxDepth ?? 4;
  const out: HousekeepAction[] = [];
  const temps = new Map<string, TempEntry[]>(); // key: final path
  const candidates: { full: string; kind: ProductKind }[] = [];
  const visited = new Set<string>();

  const walk = async (dir: string, depth: number): Promise<void> => {
    let real: string;
    try {
      real = await fsp.realpath(dir);
    } catch {
      return;
    }
    if (visited.has(real)) return;
    visited.add(real);
    let ents;
    try {
      ents = await fsp.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    // A Zarr array's children are its chunks: nothing of ours to find in there.
    const isArray = ents.some((e) => e.name === '.zarray');
    for (const e of ents) {
      const full = path.join(dir, e.name);
      const parts = parseTempName(e.name);
      if (parts) {
        const key = path.join(dir, parts.name);
        const list = temps.get(key) ?? [];
        list.push({ full, parts, newest: 0, bytes: 0, stale: false });
        temps.set(key, list);
        continue;
      }
      if (e.isDirectory()) {
        if (e.name.endsWith('.ms.zarr')) candidates.push({ full, kind: 'ms' });
        else if (CALTABLE_RE.test(e.name)) candidates.push({ full, kind: 'caltable' });
        if (!isArray && depth < maxDepth) await walk(full, depth + 1);
      } else if (e.isFile() && e.name.endsWith('.fits')) {
        candidates.push({ full, kind: 'fits' });
      }
    }
  };
  for (const d of o.dirs) await walk(path.resolve(d), 1);

  // Temporary siblings, grouped by the product they belong to.
  for (const [finalPath, list] of [...temps.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    for (const t of list) {
      const s = await treeStats(t.full);
      t.newest = s.newestMtimeMs;
      t.bytes = s.bytes;
      const age = now - t.newest;
      const live = pidAlive(t.parts.pid);
      t.stale = age > tempAgeMs || (!live && age > graceMs);
    }
    const stale = list.filter((t) => t.stale);
    if (!stale.length) continue;
    if (!(await exists(finalPath))) {
      // A commit in progress (a live, fresh .old) must not be disturbed: it will finish it.
      const liveOld = list.some((t) => !t.stale && t.parts.kind === 'old');
      const olds = stale.filter((t) => t.parts.kind === 'old').sort((a, b) => b.newest - a.newest);
      if (olds.length && !liveOld) {
        const o0 = olds[0]!;
        const a = act('restore-old', finalPath, dry, { detail: `renamed back from ${path.basename(o0.full)} (final was missing)`, from: o0.full });
        if (!dry) {
          try {
            await fsp.rename(o0.full, finalPath);
          } catch (e) {
            a.ok = false;
            a.error = errMessage(e);
          }
        }
        out.push(a);
        stale.splice(stale.indexOf(o0), 1);
      } else if (olds.length && liveOld) {
        continue;
      }
    }
    for (const t of stale) {
      const ageS = Math.round((now - t.newest) / 1000);
      const why = pidAlive(t.parts.pid) ? `idle ${ageS} s` : `writer pid ${t.parts.pid} gone, idle ${ageS} s`;
      const a = act('remove-temp', t.full, dry, { detail: why, bytes: t.bytes });
      if (!dry) {
        const err = await removeTree(t.full);
        if (err) { a.ok = false; a.error = err; }
      }
      out.push(a);
    }
  }

  // Scratch directories: each child is one job's scratch space.
  for (const sd of o.scratchDirs ?? []) {
    let names: string[];
    try {
      names = await fsp.readdir(sd);
    } catch {
      continue;
    }
    for (const n of names.sort()) {
      const full = path.join(sd, n);
      const s = await treeStats(full);
      const ageS = Math.round((now - s.newestMtimeMs) / 1000);
      if (now - s.newestMtimeMs <= tempAgeMs) continue;
      const a = act('remove-scratch', full, dry, { detail: `idle ${ageS} s`, bytes: s.bytes });
      if (!dry) {
        const err = await removeTree(full);
        if (err) { a.ok = false; a.error = err; }
      }
      out.push(a);
    }
  }

  if (o.orphans ?? true) {
    for (const c of candidates) {
      // No registry → never delete products; a symlinked data directory is checked both ways.
      if (!o.isRegistered) continue;
      if (o.isRegistered(c.full, c.kind)) continue;
      const real = await fsp.realpath(c.full).catch(() => c.full);
      if (real !== c.full && o.isRegistered(real, c.kind)) continue;
      const problem = c.kind === 'fits' ? fitsProblem(c.full) : await zarrProblem(c.full, c.kind);
      if (!problem) continue;
      const s = await treeStats(c.full);
      if (now - s.newestMtimeMs <= tempAgeMs) continue;
      const a = act('remove-orphan', c.full, dry, { detail: `${problem}; not in the registry`, kind: c.kind, bytes: s.bytes });
      if (!dry) {
        const err = await removeTree(c.full);
        if (err) { a.ok = false; a.error = err; }
      }
      out.push(a);
    }
  }
  return out;
}

/** Why a Zarr product directory is incomplete (no valid root format marker), or undefined. */
async function zarrProblem(dir: string, kind: 'ms' | 'caltable'): Promise<string | undefined> {
  const key = kind === 'ms' ? 'dsa110_ms_format' : 'dsa110_caltable_format';
  let text: string;
  try {
    text = await fsp.readFile(path.join(dir, '.zattrs'), 'utf8');
  } catch {
    return 'no root .zattrs';
  }
  try {
    const attrs = JSON.parse(text) as Record<string, unknown>;
    if (typeof attrs[key] !== 'number') return `root .zattrs has no ${key}`;
  } catch {
    return 'root .zattrs is not valid JSON';
  }
  return undefined;
}

const FITS_BLOCK = 2880;

/**
 * Why a FITS file is incomplete (header without END, or shorter than its header declares), or
 * undefined if it is complete or is not a FITS file at all (then it is not ours to judge).
 */
export function fitsProblem(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return 'empty FITS file';
    const block = Buffer.alloc(FITS_BLOCK);
    const cards = new Map<string, string>();
    for (let pos = 0; ; pos += FITS_BLOCK) {
      const got = readSync(fd, block, 0, FITS_BLOCK, pos);
      if (pos === 0) {
        // Not starting with SIMPLE: not a FITS file, so not ours to judge (a short prefix of it is).
        const head = block.toString('latin1', 0, Math.min(got, 6));
        if (!'SIMPLE'.startsWith(head)) return undefined;
      }
      if (got < FITS_BLOCK) return `truncated FITS header (no END card in ${size} bytes)`;
      for (let c = 0; c < FITS_BLOCK; c += 80) {
        const key = block.toString('latin1', c, c + 8).trim();
        if (key === 'END') {
          const expect = pos + FITS_BLOCK + dataBytes(cards);
          if (!Number.isFinite(expect)) return undefined;
          return size < expect ? `truncated: ${size} bytes, header declares ${expect}` : undefined;
        }
        if (block.toString('latin1', c + 8, c + 10) === '= ' && !cards.has(key)) {
          cards.set(key, block.toString('latin1', c + 10, c + 80).split('/')[0]!.trim());
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Primary-HDU data bytes from BITPIX, NAXISn, PCOUNT, GCOUNT (FITS 4.0 §4.4.1); NaN if unreadable. */
function dataBytes(cards: Map<string, string>): number {
  const num = (k: string, d?: number) => (cards.has(k) ? Number(cards.get(k)) : d ?? NaN);
  const bitpix = num('BITPIX');
  const naxis = num('NAXIS');
  if (naxis === 0) return 0;
  let n = 1;
  const groups = cards.get('GROUPS') === 'T' && num('NAXIS1') === 0;
  for (let i = groups ? 2 : 1; i <= naxis; i++) n *= num(`NAXIS${i}`);
  return (Math.abs(bitpix) / 8) * num('GCOUNT', 1) * (num('PCOUNT', 0) + n);
}
