/**
 * Subband file names and groups. File-name times jitter by up to a minute between subbands of one
 * group, so files are clustered within a tolerance (the first file of a cluster anchors it) and
 * never matched on exact times. group_id = the earliest timestamp of the cluster.
 */
import path from 'node:path';

/** `YYYY-MM-DDTHH:MM:SS_sbNN.hdf5` (optionally with fractional seconds). */
const NAME_RE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?)_sb(\d{2})\.hdf5$/;

export interface SubbandFile {
  path: string;
  /** ISO timestamp from the name (UTC, no zone). */
  timestamp: string;
  /** Seconds since the Unix epoch, from the name. */
  time: number;
  subband: number;
}

export function parseSubbandName(p: string): SubbandFile | undefined {
  const m = NAME_RE.exec(path.basename(p));
  if (!m) return undefined;
  const time = Date.parse(m[1] + 'Z') / 1000;
  if (!Number.isFinite(time)) return undefined;
  return { path: p, timestamp: m[1]!, time, subband: Number(m[2]) };
}

/** Files still being written by the correlator are named *_incomplete.hdf5 (and are skipped). */
export function isIncompleteName(p: string): boolean {
  return /_incomplete\.hdf5$/.test(path.basename(p));
}

export interface Group {
  groupId: string;
  /** Anchor time (Unix seconds) = the earliest file of the cluster. */
  time: number;
  /** Files by subband; duplicates (same subband twice) are reported separately. */
  files: Map<number, SubbandFile>;
  duplicates: SubbandFile[];
  missing: number[];
  complete: boolean;
}

/**
 * Cluster files by name time within `toleranceS`. Files are taken in time order; a file joins the
 * open cluster when it lies within the tolerance of the cluster's anchor (its first file), else it
 * starts a new cluster.
 */
export function groupSubbands(files: readonly SubbandFile[], expectedSubbands = 16, toleranceS = 60): Group[] {
  const sorted = [...files].sort((a, b) => a.time - b.time || a.subband - b.subband);
  const clusters: SubbandFile[][] = [];
  for (const f of sorted) {
    const cur = clusters[clusters.length - 1];
    if (cur && f.time - cur[0]!.time <= toleranceS) cur.push(f);
    else clusters.push([f]);
  }
  return clusters.map((c) => {
    const files = new Map<number, SubbandFile>();
    const duplicates: SubbandFile[] = [];
    for (const f of c) {
      if (files.has(f.subband)) duplicates.push(f);
      else files.set(f.subband, f);
    }
    const missing: number[] = [];
    for (let sb = 0; sb < expectedSubbands; sb++) if (!files.has(sb)) missing.push(sb);
    return { groupId: c[0]!.timestamp.replace(/\.\d+$/, ''), time: c[0]!.time, files, duplicates, missing, complete: missing.length === 0 };
  });
}

/** MJD days of a group id (ISO, UTC). */
export function groupIdToMjd(groupId: string): number {
  return Date.parse(groupId + 'Z') / 86400000 + 40587;
}
