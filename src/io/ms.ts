/**
 * The MS-equivalent table `<group>.ms.zarr`: a Zarr v2 directory store laid out like a
 * Measurement Set (format version 1, see docs in DESIGN.md "Formats").
 *
 *   <root>/.zgroup .zattrs(.dsa110_ms_format=1, telescope, group_id, created_by) .zmetadata
 *   DATA MODEL_DATA CORRECTED_DATA  <c8 (time, baseline, frequency, polarization), 1 time per chunk
 *   FLAG |b1, WEIGHT_SPECTRUM <f4   same shape and chunks
 *   UVW <f8 (time, baseline, uvw)   TIME INTERVAL EXPOSURE <f8 (time)   ANTENNA1/2 <i4 (baseline)
 *   time baseline frequency polarization   xarray coordinates
 *   ANTENNA/ SPECTRAL_WINDOW/ FIELD/ POLARIZATION/ OBSERVATION/ HISTORY/   subtables (groups)
 *
 * A new table is built in a temp sibling and renamed into place (createMs → commit). A column is
 * replaced by building `<root>/.COL.tmp-<pid>-<hex>` and swapping it in with commitDir; a crash
 * mid-swap leaves `<root>/.COL.old-*`, which openMs renames back (see recoverMs).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { DsaError, InputError } from '../util/errors.js';
import {
  FailPoint,
  SimulatedCrash,
  commitDir,
  ioError,
  parseTempName,
  pidAlive,
  recoverAtomicDir,
  tempSiblingName,
} from '../util/atomic.js';
import {
  ArraySpec,
  ZArrayMeta,
  ZarrData,
  allocFor,
  bytesOf,
  chunkBytes,
  consolidateMetadata,
  createArray,
  readArray,
  readArrayMeta,
  readAttrs,
  readChunkInto,
  unicodeWidthFor,
  writeArray,
  writeAttrs,
  writeChunk,
  writeGroup,
} from './zarr.js';

export const MS_FORMAT_VERSION = 1;

export interface MsMeta {
  groupId: string;
  nTimes: number;
  nBaselines: number;
  nChan: number;
  nPol: number;
  /** MJD seconds UTC, centre of each integration. */
  time: Float64Array;
  /** Integration length, s. */
  interval: Float64Array;
  ant1: Int32Array;
  ant2: Int32Array;
  /** Channel centre frequencies, Hz, ascending. */
  freq: Float64Array;
  chanWidth: Float64Array;
  /** Stokes codes (9 XX, 10 XY, 11 YX, 12 YY; 5..8 RR RL LR LL). */
  corrType: Int32Array;
  antennaNames: string[];
  /** ITRF metres, 3 per antenna. */
  antennaPositions: Float64Array;
  dishDiameter: Float64Array;
  /** Fixed phase centre, ICRS rad [ra, dec]. */
  phaseDir: [number, number];
  meridianRa?: Float64Array;
  meridianDec?: Float64Array;
  telescope: string;
  /** Extra root attributes (on read: all root attributes). */
  attrs: Record<string, unknown>;
  /** Optional extras (defaults: stations = antennaNames, exposure = interval, '' for the rest). */
  stationNames?: string[];
  exposure?: Float64Array;
  fieldName?: string;
  observer?: string;
  project?: string;
}

export interface HistoryEntry {
  /** ISO 8601 UTC. */
  time: string;
  command: string;
  version: string;
  args: string[];
}
export type HistoryInput = Omit<HistoryEntry, 'time'> & { time?: string };

export type VisColumn = 'DATA' | 'MODEL_DATA' | 'CORRECTED_DATA';
export type ReplaceableColumn = 'FLAG' | 'MODEL_DATA' | 'CORRECTED_DATA' | 'WEIGHT_SPECTRUM';
export type MainColumn = VisColumn | 'FLAG' | 'WEIGHT_SPECTRUM' | 'UVW';
/** Typed array of one time of each column (complex as interleaved re, im). */
export interface ColumnTypes {
  DATA: Float32Array;
  MODEL_DATA: Float32Array;
  CORRECTED_DATA: Float32Array;
  FLAG: Uint8Array;
  WEIGHT_SPECTRUM: Float32Array;
  UVW: Float64Array;
}
export type TimeColumns = {
  DATA: Float32Array;
  FLAG: Uint8Array;
  WEIGHT_SPECTRUM: Float32Array;
  UVW: Float64Array;
  MODEL_DATA?: Float32Array;
  CORRECTED_DATA?: Float32Array;
};

const MAIN_COLUMNS: readonly MainColumn[] = ['DATA', 'MODEL_DATA', 'CORRECTED_DATA', 'FLAG', 'WEIGHT_SPECTRUM', 'UVW'];
const REQUIRED_COLUMNS: readonly MainColumn[] = ['DATA', 'FLAG', 'WEIGHT_SPECTRUM', 'UVW'];
const VIS_DIMS = ['time', 'baseline', 'frequency', 'polarization'];

const COLUMN_DTYPE = {
  DATA: '<c8',
  MODEL_DATA: '<c8',
  CORRECTED_DATA: '<c8',
  FLAG: '|b1',
  WEIGHT_SPECTRUM: '<f4',
  UVW: '<f8',
} as const;

const COLUMN_ATTRS: Record<MainColumn, Record<string, unknown>> = {
  DATA: { long_name: 'observed visibilities', units: 'Jy' },
  MODEL_DATA: { long_name: 'model visibilities', units: 'Jy' },
  CORRECTED_DATA: { long_name: 'calibrated visibilities', units: 'Jy' },
  FLAG: { long_name: 'flag (true = bad)' },
  WEIGHT_SPECTRUM: { long_name: 'per-channel weight' },
  UVW: { long_name: 'baseline vector x(ant2) - x(ant1)', units: 'm', frame: 'ICRS' },
};

function columnShape(m: Pick<MsMeta, 'nTimes' | 'nBaselines' | 'nChan' | 'nPol'>, c: MainColumn): number[] {
  return c === 'UVW' ? [m.nTimes, m.nBaselines, 3] : [m.nTimes, m.nBaselines, m.nChan, m.nPol];
}

function columnSpec(m: MsMeta, c: MainColumn): ArraySpec {
  const shape = columnShape(m, c);
  return {
    shape,
    chunks: [1, ...shape.slice(1)],
    dtype: COLUMN_DTYPE[c],
    dims: c === 'UVW' ? ['time', 'baseline', 'uvw'] : VIS_DIMS,
    attrs: COLUMN_ATTRS[c],
  };
}

/** Elements of the typed array holding one time of column c. */
function perTimeLength(m: MsMeta, c: MainColumn): number {
  if (c === 'UVW') return m.nBaselines * 3;
  const n = m.nBaselines * m.nChan * m.nPol;
  return COLUMN_DTYPE[c] === '<c8' ? 2 * n : n;
}

function allocColumn<C extends MainColumn>(c: C, n: number): ColumnTypes[C] {
  switch (COLUMN_DTYPE[c]) {
    case '|b1':
      return new Uint8Array(n) as ColumnTypes[C];
    case '<f8':
      return new Float64Array(n) as ColumnTypes[C];
    default:
      return new Float32Array(n) as ColumnTypes[C];
  }
}

function checkColumnArray(m: MsMeta, c: MainColumn, v: unknown, where: string): ArrayBufferView {
  const want = perTimeLength(m, c);
  const ctor = COLUMN_DTYPE[c] === '|b1' ? Uint8Array : COLUMN_DTYPE[c] === '<f8' ? Float64Array : Float32Array;
  if (!(v instanceof ctor)) throw new DsaError(`${where}: ${c} must be a ${ctor.name}`);
  if (v.length !== want) throw new DsaError(`${where}: ${c} has ${v.length} elements, expected ${want}`);
  return v;
}

function validateMeta(m: MsMeta): void {
  const bad = (why: string): never => {
    throw new DsaError(`invalid MS metadata for ${m.groupId}: ${why}`);
  };
  for (const k of ['nTimes', 'nBaselines', 'nChan', 'nPol'] as const) {
    if (!Number.isInteger(m[k]) || m[k] < 1) bad(`${k} = ${m[k]}`);
  }
  if (m.time.length !== m.nTimes) bad(`time has ${m.time.length} values, nTimes = ${m.nTimes}`);
  if (m.interval.length !== m.nTimes) bad(`interval has ${m.interval.length} values`);
  if (m.ant1.length !== m.nBaselines || m.ant2.length !== m.nBaselines) bad('ant1/ant2 length != nBaselines');
  if (m.freq.length !== m.nChan || m.chanWidth.length !== m.nChan) bad('freq/chanWidth length != nChan');
  for (let i = 1; i < m.nChan; i++) if (!(m.freq[i] > m.freq[i - 1])) bad('frequencies must be strictly ascending');
  if (m.corrType.length !== m.nPol) bad('corrType length != nPol');
  const nAnt = m.antennaNames.length;
  if (m.antennaPositions.length !== 3 * nAnt) bad('antennaPositions must hold 3 values per antenna');
  if (m.dishDiameter.length !== nAnt) bad('dishDiameter length != number of antennas');
  for (let b = 0; b < m.nBaselines; b++) {
    if (m.ant1[b] < 0 || m.ant1[b] >= nAnt || m.ant2[b] < 0 || m.ant2[b] >= nAnt) bad(`baseline ${b} refers to a missing antenna`);
  }
  if (m.meridianRa && m.meridianRa.length !== m.nTimes) bad('meridianRa length != nTimes');
  if (m.meridianDec && m.meridianDec.length !== m.nTimes) bad('meridianDec length != nTimes');
  if (m.stationNames && m.stationNames.length !== nAnt) bad('stationNames length != number of antennas');
  if (m.exposure && m.exposure.length !== m.nTimes) bad('exposure length != nTimes');
}

const strDtype = (strs: string[]): `<U${number}` => `<U${Math.max(16, unicodeWidthFor(strs))}`;

/** Write all small arrays, coordinates and subtables of a new table into `root`. */
async function writeStaticParts(root: string, m: MsMeta, createdBy: string): Promise<void> {
  await writeGroup(root, {
    ...m.attrs,
    dsa110_ms_format: MS_FORMAT_VERSION,
    telescope: m.telescope,
    group_id: m.groupId,
    created_by: createdBy,
  });
  const nAnt = m.antennaNames.length;
  const t = (dims: string[], attrs?: Record<string, unknown>) => ({ dims, attrs });
  const wr = (name: string, data: ZarrData, shape: number[], dtype: ArraySpec['dtype'], o: { dims: string[]; attrs?: Record<string, unknown> }) =>
    writeArray(path.join(root, name), data, { shape, dtype, dims: o.dims, attrs: o.attrs });

  // Main-table scalars per time / baseline, with MS names.
  const timeAttrs = { units: 's', long_name: 'MJD seconds UTC, centre of integration', measure: 'epoch', ref: 'UTC' };
  await wr('TIME', m.time, [m.nTimes], '<f8', t(['time'], timeAttrs));
  await wr('INTERVAL', m.interval, [m.nTimes], '<f8', t(['time'], { units: 's' }));
  await wr('EXPOSURE', m.exposure ?? m.interval, [m.nTimes], '<f8', t(['time'], { units: 's' }));
  await wr('ANTENNA1', m.ant1, [m.nBaselines], '<i4', t(['baseline']));
  await wr('ANTENNA2', m.ant2, [m.nBaselines], '<i4', t(['baseline']));
  // xarray coordinates. `time` carries CF units so xarray decodes it to datetime64 (MJD epoch).
  await wr('time', m.time, [m.nTimes], '<f8', t(['time'], { units: 'seconds since 1858-11-17 00:00:00', calendar: 'proleptic_gregorian', long_name: 'time (UTC)' }));
  const blIdx = new Int32Array(m.nBaselines);
  for (let i = 0; i < m.nBaselines; i++) blIdx[i] = i;
  await wr('baseline', blIdx, [m.nBaselines], '<i4', t(['baseline'], { long_name: 'baseline index (see ANTENNA1, ANTENNA2)' }));
  await wr('frequency', m.freq, [m.nChan], '<f8', t(['frequency'], { units: 'Hz' }));
  await wr('polarization', m.corrType, [m.nPol], '<i4', t(['polarization'], { long_name: 'Stokes code (9 XX, 10 XY, 11 YX, 12 YY)' }));

  // ANTENNA
  const ant = path.join(root, 'ANTENNA');
  await writeGroup(ant);
  const stations = m.stationNames ?? m.antennaNames;
  await writeArray(path.join(ant, 'NAME'), m.antennaNames, { shape: [nAnt], dtype: strDtype(m.antennaNames), dims: ['antenna'] });
  await writeArray(path.join(ant, 'STATION'), stations, { shape: [nAnt], dtype: strDtype(stations), dims: ['antenna'] });
  await writeArray(path.join(ant, 'POSITION'), m.antennaPositions, { shape: [nAnt, 3], dtype: '<f8', dims: ['antenna', 'xyz'], attrs: { units: 'm', frame: 'ITRF' } });
  await writeArray(path.join(ant, 'DISH_DIAMETER'), m.dishDiameter, { shape: [nAnt], dtype: '<f8', dims: ['antenna'], attrs: { units: 'm' } });

  // SPECTRAL_WINDOW (one window)
  const spw = path.join(root, 'SPECTRAL_WINDOW');
  await writeGroup(spw);
  let bw = 0;
  for (let i = 0; i < m.nChan; i++) bw += Math.abs(m.chanWidth[i]);
  await writeArray(path.join(spw, 'CHAN_FREQ'), m.freq, { shape: [1, m.nChan], dtype: '<f8', dims: ['spw', 'chan'], attrs: { units: 'Hz' } });
  await writeArray(path.join(spw, 'CHAN_WIDTH'), m.chanWidth, { shape: [1, m.nChan], dtype: '<f8', dims: ['spw', 'chan'], attrs: { units: 'Hz' } });
  await writeArray(path.join(spw, 'REF_FREQUENCY'), new Float64Array([m.freq[0]]), { shape: [1], dtype: '<f8', dims: ['spw'], attrs: { units: 'Hz' } });
  await writeArray(path.join(spw, 'TOTAL_BANDWIDTH'), new Float64Array([bw]), { shape: [1], dtype: '<f8', dims: ['spw'], attrs: { units: 'Hz' } });
  await writeArray(path.join(spw, 'NUM_CHAN'), new Int32Array([m.nChan]), { shape: [1], dtype: '<i4', dims: ['spw'] });

  // FIELD
  const field = path.join(root, 'FIELD');
  await writeGroup(field);
  const fname = [m.fieldName ?? m.groupId];
  await writeArray(path.join(field, 'NAME'), fname, { shape: [1], dtype: strDtype(fname), dims: ['field'] });
  await writeArray(path.join(field, 'PHASE_DIR'), new Float64Array(m.phaseDir), { shape: [1, 2], dtype: '<f8', dims: ['field', 'radec'], attrs: { units: 'rad', frame: 'ICRS' } });
  if (m.meridianRa) await writeArray(path.join(field, 'MERIDIAN_RA'), m.meridianRa, { shape: [m.nTimes], dtype: '<f8', dims: ['time'], attrs: { units: 'rad', frame: 'ICRS' } });
  if (m.meridianDec) await writeArray(path.join(field, 'MERIDIAN_DEC'), m.meridianDec, { shape: [m.nTimes], dtype: '<f8', dims: ['time'], attrs: { units: 'rad', frame: 'ICRS' } });

  // POLARIZATION
  const pol = path.join(root, 'POLARIZATION');
  await writeGroup(pol);
  await writeArray(path.join(pol, 'CORR_TYPE'), m.corrType, { shape: [m.nPol], dtype: '<i4', dims: ['corr'] });

  // OBSERVATION
  const obs = path.join(root, 'OBSERVATION');
  await writeGroup(obs);
  const tel = [m.telescope];
  const observer = [m.observer ?? ''];
  const project = [m.project ?? ''];
  const half = m.interval.length > 0 ? m.interval[0] / 2 : 0;
  const tr = new Float64Array([m.time[0] - half, m.time[m.nTimes - 1] + (m.interval[m.nTimes - 1] ?? 0) / 2]);
  await writeArray(path.join(obs, 'TELESCOPE_NAME'), tel, { shape: [1], dtype: strDtype(tel), dims: ['observation'] });
  await writeArray(path.join(obs, 'TIME_RANGE'), tr, { shape: [1, 2], dtype: '<f8', dims: ['observation', 'range'], attrs: { units: 's', ref: 'UTC' } });
  await writeArray(path.join(obs, 'OBSERVER'), observer, { shape: [1], dtype: strDtype(observer), dims: ['observation'] });
  await writeArray(path.join(obs, 'PROJECT'), project, { shape: [1], dtype: strDtype(project), dims: ['observation'] });
}

function normaliseHistory(e: HistoryInput): HistoryEntry {
  if (typeof e.command !== 'string' || typeof e.version !== 'string' || !Array.isArray(e.args)) {
    throw new DsaError('history entry needs command, version and args');
  }
  return { time: e.time ?? new Date().toISOString(), command: e.command, version: e.version, args: e.args.map(String) };
}

// ---------------------------------------------------------------- writer

export interface CreateMsOptions {
  /** Extra visibility columns to create (filled per time via writeTime). */
  columns?: ('MODEL_DATA' | 'CORRECTED_DATA')[];
  /** fsync files before the rename (default true; false only for scratch data and benchmarks). */
  fsync?: boolean;
  /** Recorded in root attrs `created_by` (default "dsa110"). */
  createdBy?: string;
}

export interface MsWriter {
  readonly path: string;
  readonly tmpPath: string;
  /** Write every column of time index t (0-based), each a full (baseline, frequency, polarization) block. */
  writeTime(t: number, cols: TimeColumns): Promise<void>;
  addHistory(entry: HistoryInput): void;
  /** Check all times were written, fsync, and rename into place (replacing an older table safely). */
  commit(): Promise<void>;
  /** Remove the temp directory; the final path is untouched. */
  abort(): Promise<void>;
}

/** Start a new table at `finalPath` (built in a temp sibling until commit). */
export async function createMs(finalPath: string, meta: MsMeta, opts: CreateMsOptions = {}): Promise<MsWriter> {
  validateMeta(meta);
  const tmp = tempSiblingName(finalPath);
  const cols: MainColumn[] = ['DATA', 'FLAG', 'WEIGHT_SPECTRUM', 'UVW', ...(opts.columns ?? [])];
  const metas = new Map<MainColumn, ZArrayMeta>();
  try {
    await fsp.mkdir(tmp);
    await writeStaticParts(tmp, meta, opts.createdBy ?? 'dsa110');
    for (const c of cols) metas.set(c, await createArray(path.join(tmp, c), columnSpec(meta, c)));
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw ioError(e, 'writing', finalPath);
  }
  const written = new Uint8Array(meta.nTimes);
  const history: HistoryEntry[] = [];
  let state: 'open' | 'done' = 'open';
  const ensureOpen = () => {
    if (state !== 'open') throw new DsaError(`MS writer for ${finalPath} is already committed or aborted`);
  };
  return {
    path: finalPath,
    tmpPath: tmp,
    async writeTime(t, c) {
      ensureOpen();
      if (!Number.isInteger(t) || t < 0 || t >= meta.nTimes) throw new DsaError(`${finalPath}: time index ${t} out of range 0..${meta.nTimes - 1}`);
      for (const k of Object.keys(c)) {
        if (!cols.includes(k as MainColumn)) throw new DsaError(`${finalPath}: column ${k} was not declared in createMs options.columns`);
      }
      const jobs: Promise<void>[] = [];
      for (const col of cols) {
        const v = (c as Record<string, unknown>)[col];
        const arr = checkColumnArray(meta, col, v, `${finalPath} time ${t}`);
        const idx = col === 'UVW' ? [t, 0, 0] : [t, 0, 0, 0];
        jobs.push(writeChunk(path.join(tmp, col), metas.get(col)!, idx, arr));
      }
      await Promise.all(jobs);
      written[t] = 1;
    },
    addHistory(entry) {
      ensureOpen();
      history.push(normaliseHistory(entry));
    },
    async commit() {
      ensureOpen();
      const missing = written.indexOf(0);
      try {
        // An incomplete table is never renamed into place; the writer is closed and its temp removed.
        if (missing >= 0) throw new DsaError(`${finalPath}: time index ${missing} was never written; not committing`);
        await writeGroup(path.join(tmp, 'HISTORY'), { entries: history });
        await consolidateMetadata(tmp, { atomic: false });
        await commitDir(tmp, finalPath, { fsync: opts.fsync ?? true });
      } catch (e) {
        await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
        state = 'done';
        throw ioError(e, 'writing', finalPath);
      }
      state = 'done';
    },
    async abort() {
      state = 'done';
      await fsp.rm(tmp, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------- reader

export class MsTable {
  readonly path: string;
  readonly meta: MsMeta;
  /** Column name → array metadata, for the columns present. */
  readonly columns: Map<MainColumn, ZArrayMeta>;
  private historyEntries: HistoryEntry[];

  constructor(p: string, meta: MsMeta, columns: Map<MainColumn, ZArrayMeta>, history: HistoryEntry[]) {
    this.path = p;
    this.meta = meta;
    this.columns = columns;
    this.historyEntries = history;
  }

  has(column: string): boolean {
    return this.columns.has(column as MainColumn);
  }

  private colMeta(column: MainColumn): ZArrayMeta {
    const m = this.columns.get(column);
    if (!m) throw new InputError(this.path, `no ${column} column`);
    return m;
  }

  /** One time of a column; pass `out` to reuse a buffer (no allocation). */
  async readTime<C extends MainColumn>(column: C, t: number, out?: ColumnTypes[C]): Promise<ColumnTypes[C]> {
    return this.readTimes(column, t, t + 1, out);
  }

  /** Times [t0, t1) of a column, concatenated along time; pass `out` to reuse a buffer. */
  async readTimes<C extends MainColumn>(column: C, t0: number, t1: number, out?: ColumnTypes[C]): Promise<ColumnTypes[C]> {
    const zm = this.colMeta(column);
    const nT = this.meta.nTimes;
    if (!Number.isInteger(t0) || !Number.isInteger(t1) || t0 < 0 || t1 > nT || t1 <= t0) {
      throw new DsaError(`${this.path}: time range [${t0}, ${t1}) outside 0..${nT}`);
    }
    const per = perTimeLength(this.meta, column);
    const n = per * (t1 - t0);
    const arr = out ?? allocColumn(column, n);
    if (arr.length !== n) throw new DsaError(`${this.path}: output buffer for ${column} has ${arr.length} elements, expected ${n}`);
    const dst = bytesOf(arr);
    const ct = zm.chunks[0];
    const bytesPerTime = chunkBytes(zm) / ct;
    const dir = path.join(this.path, column);
    const zeros = new Array<number>(zm.shape.length - 1).fill(0);
    let t = t0;
    while (t < t1) {
      const c = Math.floor(t / ct);
      const inChunk = t - c * ct;
      const take = Math.min(t1 - t, ct - inChunk);
      const o = (t - t0) * bytesPerTime;
      await readChunkInto(dir, zm, [c, ...zeros], dst.subarray(o, o + take * bytesPerTime), inChunk * bytesPerTime);
      t += take;
    }
    return arr;
  }

  history(): HistoryEntry[] {
    return this.historyEntries.slice();
  }

  /** Re-read HISTORY from disk (after appendHistory by another process). */
  async refreshHistory(): Promise<HistoryEntry[]> {
    this.historyEntries = await readHistory(this.path);
    return this.history();
  }
}

async function readHistory(root: string): Promise<HistoryEntry[]> {
  const a = await readAttrs(path.join(root, 'HISTORY'));
  const e = a.entries;
  if (e === undefined) return [];
  if (!Array.isArray(e)) throw new InputError(root, 'HISTORY/.zattrs "entries" is not a list');
  return e as HistoryEntry[];
}

/**
 * Undo what a crashed writer left inside the store: `.COL.old-*` whose live column is missing is
 * renamed back; other stale temps are removed; `.zmetadata` is rebuilt if it disagrees with the
 * columns on disk. Temps of live processes are left alone. Needs write access; returns the
 * actions taken ([] if nothing to do or the store is read-only).
 */
export async function recoverMs(root: string): Promise<string[]> {
  const actions: string[] = [];
  let names: string[];
  try {
    names = await fsp.readdir(root);
  } catch {
    return actions;
  }
  try {
    const done = new Set<string>();
    for (const n of names) {
      const p = parseTempName(n);
      if (!p || done.has(p.name)) continue;
      done.add(p.name);
      actions.push(...(await recoverAtomicDir(path.join(root, p.name))));
    }
    // Stale lock of a dead process.
    const lock = path.join(root, LOCK_NAME);
    const holder = await lockHolder(lock);
    if (holder !== null && !pidAlive(holder)) {
      await fsp.rm(lock, { force: true });
      actions.push(`removed stale ${LOCK_NAME}`);
    }
    if (actions.length > 0 || !(await zmetadataAgrees(root))) {
      await consolidateMetadata(root);
      actions.push('rebuilt .zmetadata');
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return actions; // read-only: open as is
    throw e;
  }
  return actions;
}

async function zmetadataAgrees(root: string): Promise<boolean> {
  let zm: { metadata?: Record<string, unknown> };
  try {
    zm = JSON.parse(await fsp.readFile(path.join(root, '.zmetadata'), 'utf8')) as typeof zm;
  } catch {
    return false;
  }
  const md = zm.metadata ?? {};
  for (const c of MAIN_COLUMNS) {
    let onDisk = true;
    try {
      await fsp.access(path.join(root, c, '.zarray'));
    } catch {
      onDisk = false;
    }
    if (onDisk !== (md[`${c}/.zarray`] !== undefined)) return false;
  }
  return true;
}

/**
 * A live replaceColumn has a window of microseconds between renaming the old column aside and the
 * new one in; a reader arriving then waits for the column to reappear instead of failing.
 */
async function waitForLiveSwap(root: string, maxMs: number): Promise<void> {
  const start = Date.now();
  for (;;) {
    const names = await fsp.readdir(root);
    const pending = names.some((n) => {
      const t = parseTempName(n);
      return t !== null && t.kind === 'old' && !names.includes(t.name) && pidAlive(t.pid);
    });
    if (!pending || Date.now() - start > maxMs) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function isDirectory(p: string): Promise<boolean | null> {
  try {
    return (await fsp.stat(p)).isDirectory();
  } catch {
    return null;
  }
}

/** Open and validate a table (after recovering from any crashed writer). */
export async function openMs(p: string, opts: { recover?: boolean; swapWaitMs?: number } = {}): Promise<MsTable> {
  let isDir = await isDirectory(p);
  if (isDir === null && opts.recover !== false) {
    // The whole table may have been mid-replacement when a writer died.
    await recoverAtomicDir(p).catch(() => []);
    isDir = await isDirectory(p);
  }
  if (isDir === null) throw new InputError(p, 'no such MS table (path does not exist)');
  if (!isDir) throw new InputError(p, 'not a directory: expected a <group>.ms.zarr Zarr store');
  try {
    await fsp.access(path.join(p, '.zgroup'));
  } catch {
    throw new InputError(p, 'not a Zarr group (no .zgroup): not a dsa110 MS table');
  }
  if (opts.recover !== false) await recoverMs(p);
  await waitForLiveSwap(p, opts.swapWaitMs ?? 5000);

  const attrs = await readAttrs(p);
  const ver = attrs.dsa110_ms_format;
  if (ver === undefined) throw new InputError(p, 'not a dsa110 MS table (no dsa110_ms_format in root attributes)');
  if (ver !== MS_FORMAT_VERSION) throw new InputError(p, `unsupported MS format version ${JSON.stringify(ver)} (this dsa110 reads version ${MS_FORMAT_VERSION})`);

  const need = async (rel: string): Promise<{ meta: ZArrayMeta; data: ZarrData }> => {
    try {
      await fsp.access(path.join(p, rel, '.zarray'));
    } catch {
      throw new InputError(p, `missing array ${rel}`);
    }
    const r = await readArray(path.join(p, rel));
    return { meta: r.meta, data: r.data };
  };
  const opt = async (rel: string) => {
    try {
      await fsp.access(path.join(p, rel, '.zarray'));
    } catch {
      return undefined;
    }
    return need(rel);
  };
  const typed = <T>(rel: string, v: { meta: ZArrayMeta; data: ZarrData }, dtype: string, ctor: new (...a: never[]) => T, rank: number): T => {
    if (v.meta.dtype !== dtype || v.meta.shape.length !== rank || !(v.data instanceof ctor)) {
      throw new InputError(p, `${rel} has dtype ${v.meta.dtype} and shape ${JSON.stringify(v.meta.shape)}, expected ${dtype} of rank ${rank}`);
    }
    return v.data;
  };
  const strings = (rel: string, v: { meta: ZArrayMeta; data: ZarrData }): string[] => {
    if (!Array.isArray(v.data)) throw new InputError(p, `${rel} has dtype ${v.meta.dtype}, expected a unicode string array`);
    return v.data;
  };

  const time = typed('TIME', await need('TIME'), '<f8', Float64Array, 1);
  const interval = typed('INTERVAL', await need('INTERVAL'), '<f8', Float64Array, 1);
  const expV = await opt('EXPOSURE');
  const exposure = expV ? typed('EXPOSURE', expV, '<f8', Float64Array, 1) : undefined;
  const ant1 = typed('ANTENNA1', await need('ANTENNA1'), '<i4', Int32Array, 1);
  const ant2 = typed('ANTENNA2', await need('ANTENNA2'), '<i4', Int32Array, 1);
  const cf = await need('SPECTRAL_WINDOW/CHAN_FREQ');
  const freq = typed('SPECTRAL_WINDOW/CHAN_FREQ', cf, '<f8', Float64Array, 2);
  const chanWidth = typed('SPECTRAL_WINDOW/CHAN_WIDTH', await need('SPECTRAL_WINDOW/CHAN_WIDTH'), '<f8', Float64Array, 2);
  if (cf.meta.shape[0] !== 1) throw new InputError(p, `SPECTRAL_WINDOW has ${cf.meta.shape[0]} windows; version 1 tables hold exactly one`);
  const corrType = typed('POLARIZATION/CORR_TYPE', await need('POLARIZATION/CORR_TYPE'), '<i4', Int32Array, 1);
  const antennaNames = strings('ANTENNA/NAME', await need('ANTENNA/NAME'));
  const stV = await opt('ANTENNA/STATION');
  const stationNames = stV ? strings('ANTENNA/STATION', stV) : undefined;
  const antennaPositions = typed('ANTENNA/POSITION', await need('ANTENNA/POSITION'), '<f8', Float64Array, 2);
  const dishDiameter = typed('ANTENNA/DISH_DIAMETER', await need('ANTENNA/DISH_DIAMETER'), '<f8', Float64Array, 1);
  const phaseDirA = typed('FIELD/PHASE_DIR', await need('FIELD/PHASE_DIR'), '<f8', Float64Array, 2);
  const fnV = await opt('FIELD/NAME');
  const mrV = await opt('FIELD/MERIDIAN_RA');
  const mdV = await opt('FIELD/MERIDIAN_DEC');
  const telV = await opt('OBSERVATION/TELESCOPE_NAME');
  const obsV = await opt('OBSERVATION/OBSERVER');
  const prjV = await opt('OBSERVATION/PROJECT');

  const meta: MsMeta = {
    groupId: typeof attrs.group_id === 'string' ? attrs.group_id : path.basename(p).replace(/\.ms\.zarr$/, ''),
    nTimes: time.length,
    nBaselines: ant1.length,
    nChan: freq.length,
    nPol: corrType.length,
    time,
    interval,
    ant1,
    ant2,
    freq,
    chanWidth,
    corrType,
    antennaNames,
    antennaPositions,
    dishDiameter,
    phaseDir: [phaseDirA[0], phaseDirA[1]],
    meridianRa: mrV ? typed('FIELD/MERIDIAN_RA', mrV, '<f8', Float64Array, 1) : undefined,
    meridianDec: mdV ? typed('FIELD/MERIDIAN_DEC', mdV, '<f8', Float64Array, 1) : undefined,
    telescope: telV ? strings('OBSERVATION/TELESCOPE_NAME', telV)[0] : String(attrs.telescope ?? ''),
    attrs,
    stationNames,
    exposure,
    fieldName: fnV ? strings('FIELD/NAME', fnV)[0] : undefined,
    observer: obsV ? strings('OBSERVATION/OBSERVER', obsV)[0] : undefined,
    project: prjV ? strings('OBSERVATION/PROJECT', prjV)[0] : undefined,
  };
  // Cross-check every shape against the dimensions, so a bad table fails here, not mid-command.
  const chk = (what: string, got: number, want: number) => {
    if (got !== want) throw new InputError(p, `${what} has ${got} entries, expected ${want}`);
  };
  chk('INTERVAL', interval.length, meta.nTimes);
  if (exposure) chk('EXPOSURE', exposure.length, meta.nTimes);
  chk('ANTENNA2', ant2.length, meta.nBaselines);
  chk('SPECTRAL_WINDOW/CHAN_WIDTH', chanWidth.length, meta.nChan);
  chk('ANTENNA/POSITION', antennaPositions.length, 3 * antennaNames.length);
  chk('ANTENNA/DISH_DIAMETER', dishDiameter.length, antennaNames.length);
  if (stationNames) chk('ANTENNA/STATION', stationNames.length, antennaNames.length);
  chk('FIELD/PHASE_DIR', phaseDirA.length, 2);
  if (meta.meridianRa) chk('FIELD/MERIDIAN_RA', meta.meridianRa.length, meta.nTimes);
  if (meta.meridianDec) chk('FIELD/MERIDIAN_DEC', meta.meridianDec.length, meta.nTimes);
  const nAnt = antennaNames.length;
  for (let b = 0; b < meta.nBaselines; b++) {
    if (ant1[b] < 0 || ant1[b] >= nAnt || ant2[b] < 0 || ant2[b] >= nAnt) {
      throw new InputError(p, `baseline ${b} refers to antenna ${ant1[b]}-${ant2[b]}, but ANTENNA has ${nAnt} rows`);
    }
  }
  for (let i = 1; i < meta.nChan; i++) {
    if (!(freq[i] > freq[i - 1])) throw new InputError(p, `SPECTRAL_WINDOW/CHAN_FREQ is not strictly ascending at channel ${i}`);
  }

  const columns = new Map<MainColumn, ZArrayMeta>();
  for (const c of MAIN_COLUMNS) {
    let zm: ZArrayMeta;
    try {
      await fsp.access(path.join(p, c, '.zarray'));
    } catch {
      if (REQUIRED_COLUMNS.includes(c)) throw new InputError(p, `missing array ${c}`);
      continue;
    }
    zm = await readArrayMeta(path.join(p, c));
    const want = columnShape(meta, c);
    const dims = c === 'UVW' ? '(time, baseline, uvw)' : '(time, baseline, frequency, polarization)';
    if (JSON.stringify(zm.shape) !== JSON.stringify(want)) {
      throw new InputError(p, `${c} has shape ${JSON.stringify(zm.shape)}, expected ${JSON.stringify(want)} ${dims}`);
    }
    if (zm.dtype !== COLUMN_DTYPE[c]) throw new InputError(p, `${c} has dtype ${zm.dtype}, expected ${COLUMN_DTYPE[c]}`);
    for (let d = 1; d < want.length; d++) {
      if (zm.chunks[d] !== want[d]) throw new InputError(p, `${c} is chunked ${JSON.stringify(zm.chunks)}; only the time axis may be split`);
    }
    columns.set(c, zm);
  }
  return new MsTable(p, meta, columns, await readHistory(p));
}

// ---------------------------------------------------------------- locking, history, column swap

const LOCK_NAME = '.dsa110.lock';

async function lockHolder(lock: string): Promise<number | null> {
  try {
    const pid = Number((await fsp.readFile(lock, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : 0;
  } catch {
    return null;
  }
}

/**
 * Serialise metadata updates (HISTORY, .zmetadata, column swaps) between processes with an
 * O_EXCL lock file holding our pid; a lock of a dead process (or older than 10 min) is broken.
 */
async function withStoreLock<T>(root: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const lock = path.join(root, LOCK_NAME);
  const start = Date.now();
  for (;;) {
    try {
      const fh = await fsp.open(lock, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(e, 'locking', root);
      const holder = await lockHolder(lock);
      let old = false;
      try {
        old = Date.now() - (await fsp.stat(lock)).mtimeMs > 600_000;
      } catch {
        continue; // released meanwhile
      }
      // holder 0 = file being written right now; give it time unless it is old.
      if ((holder !== null && holder > 0 && !pidAlive(holder)) || old) {
        await fsp.rm(lock, { force: true });
        continue;
      }
      if (Date.now() - start > timeoutMs) throw new DsaError(`timed out waiting for lock ${lock} (held by pid ${holder})`, { subject: root });
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  try {
    return await fn();
  } finally {
    await fsp.rm(lock, { force: true });
  }
}

async function appendHistoryUnlocked(root: string, entry: HistoryInput): Promise<void> {
  const dir = path.join(root, 'HISTORY');
  try {
    await fsp.access(path.join(dir, '.zgroup'));
  } catch {
    await writeGroup(dir);
  }
  const attrs = await readAttrs(dir);
  const entries = Array.isArray(attrs.entries) ? (attrs.entries as unknown[]) : [];
  entries.push(normaliseHistory(entry));
  await writeAttrs(dir, { ...attrs, entries }, true);
  await consolidateMetadata(root);
}

/** Append one entry to HISTORY (atomic file replace under the store lock; ~ms). */
export async function appendHistory(root: string, entry: HistoryInput): Promise<void> {
  try {
    await fsp.access(path.join(root, '.zgroup'));
  } catch {
    throw new InputError(root, 'not a Zarr group (no .zgroup): not a dsa110 MS table');
  }
  await withStoreLock(root, () => appendHistoryUnlocked(root, entry));
}

export interface ReplaceColumnOptions {
  /** History entry appended after the swap. */
  history?: HistoryInput;
  fsync?: boolean;
  /** Test hook: throw SimulatedCrash from it to leave the store as a crash at that step would. */
  failpoint?: FailPoint;
}

/**
 * Write a complete new column (one time at a time from `produce`) next to the old one, then swap
 * it in atomically, rebuild `.zmetadata` and append HISTORY. If `produce` throws, the temp is
 * removed and the old column is untouched. Creates MODEL_DATA / CORRECTED_DATA if absent.
 * The array returned by produce(t) may be reused by the caller once the next produce call starts.
 */
export async function replaceColumn(
  ms: MsTable,
  column: ReplaceableColumn,
  produce: (t: number) => Promise<ArrayBufferView> | ArrayBufferView,
  opts: ReplaceColumnOptions = {},
): Promise<void> {
  if (!['FLAG', 'MODEL_DATA', 'CORRECTED_DATA', 'WEIGHT_SPECTRUM'].includes(column)) {
    throw new DsaError(`replaceColumn: ${column} cannot be replaced`);
  }
  const root = ms.path;
  const finalDir = path.join(root, column);
  const tmp = tempSiblingName(finalDir);
  let zm: ZArrayMeta;
  try {
    zm = await createArray(tmp, columnSpec(ms.meta, column));
    for (let t = 0; t < ms.meta.nTimes; t++) {
      const v = checkColumnArray(ms.meta, column, await produce(t), `${root} ${column} time ${t}`);
      await writeChunk(tmp, zm, [t, 0, 0, 0], v);
    }
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw ioError(e, 'writing', finalDir);
  }
  try {
    await withStoreLock(root, async () => {
      await commitDir(tmp, finalDir, { fsync: opts.fsync ?? true, failpoint: opts.failpoint });
      await consolidateMetadata(root);
      if (opts.history) await appendHistoryUnlocked(root, opts.history);
    });
  } catch (e) {
    if (e instanceof SimulatedCrash) throw e; // leave the disk exactly as a crash would
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    await recoverAtomicDir(finalDir, { includeOwnPid: true }).catch(() => []);
    throw ioError(e, 'writing', finalDir);
  }
  ms.columns.set(column, zm);
  if (opts.history) await ms.refreshHistory();
}
