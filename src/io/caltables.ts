/**
 * Calibration tables `<prefix>.<type>.zarr`: small Zarr v2 groups (zlib-compressed arrays) that
 * xarray opens directly.
 *   kcal : delay <f8 (antenna, polarization) ns, flag |b1, snr <f4
 *   bpcal: gain <c8 (antenna, frequency, polarization), flag, snr, coordinate frequency (Hz)
 *   gpcal: gain <c8 (time, antenna, polarization), flag, snr, coordinate time (MJD s UTC)
 * Coordinates antenna (names) and polarization (Stokes codes) in all. Root attributes carry the
 * type, refant, source MS, calibrator, validity window (MJD days), solution interval, QA figures
 * and `dsa110_caltable_format`. Written with writeDirAtomic: readers never see a partial table.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { DsaError, InputError } from '../util/errors.js';
import { writeDirAtomic } from '../util/atomic.js';
import { ArraySpec, ZarrData, consolidateMetadata, readArray, readAttrs, unicodeWidthFor, writeArray, writeGroup } from './zarr.js';

export const CALTABLE_FORMAT_VERSION = 1;
export type CalType = 'kcal' | 'bpcal' | 'gpcal';
export const CAL_TYPES: readonly CalType[] = ['kcal', 'bpcal', 'gpcal'];

interface CalCommon {
  /** Reference antenna name. */
  refant: string;
  /** MS the solutions were derived from. */
  sourceMs: string;
  calibrator: string;
  /** Validity window, MJD days (UTC). */
  validFromMjd: number;
  validToMjd: number;
  /** Solution interval as given to calibrate ('inf', '60s', ...). */
  solint: string;
  /** Quality figures (fraction flagged, median SNR, ...). */
  qa: Record<string, number>;
  antennaNames: string[];
  /** Stokes codes of the polarization axis. */
  corrType: Int32Array;
  /** Extra root attributes (on read: everything not mapped to a field above). */
  attrs?: Record<string, unknown>;
}

/** Delays [ant, pol] in ns. */
export interface KCalTable extends CalCommon {
  type: 'kcal';
  delayNs: Float64Array;
  flags: Uint8Array;
  snr?: Float32Array;
}
/** Bandpass gains [ant, chan, pol], complex interleaved. */
export interface BpCalTable extends CalCommon {
  type: 'bpcal';
  freq: Float64Array;
  gains: Float32Array;
  flags: Uint8Array;
  snr: Float32Array;
}
/** Gains [time, ant, pol], complex interleaved; time in MJD seconds UTC. */
export interface GpCalTable extends CalCommon {
  type: 'gpcal';
  time: Float64Array;
  gains: Float32Array;
  flags: Uint8Array;
  snr: Float32Array;
}
export type Caltable = KCalTable | BpCalTable | GpCalTable;

export function caltablePath(prefix: string, type: CalType): string {
  return `${prefix}.${type}.zarr`;
}

const Z = { id: 'zlib', level: 1 } as const;
const MAPPED = new Set(['dsa110_caltable_format', 'cal_type', 'refant', 'source_ms', 'calibrator', 'valid_from_mjd', 'valid_to_mjd', 'solint', 'qa']);

function solutionShape(t: Caltable): { shape: number[]; dims: string[] } {
  const nAnt = t.antennaNames.length;
  const nPol = t.corrType.length;
  switch (t.type) {
    case 'kcal':
      return { shape: [nAnt, nPol], dims: ['antenna', 'polarization'] };
    case 'bpcal':
      return { shape: [nAnt, t.freq.length, nPol], dims: ['antenna', 'frequency', 'polarization'] };
    case 'gpcal':
      return { shape: [t.time.length, nAnt, nPol], dims: ['time', 'antenna', 'polarization'] };
  }
}

function validate(t: Caltable, p: string): void {
  const bad = (why: string): never => {
    throw new DsaError(`cannot write ${p}: ${why}`, { subject: p });
  };
  if (!CAL_TYPES.includes(t.type)) bad(`unknown calibration type ${JSON.stringify(t.type)}`);
  const { shape } = solutionShape(t);
  const n = shape.reduce((a, b) => a * b, 1);
  if (t.antennaNames.length === 0 || t.corrType.length === 0) bad('no antennas or polarizations');
  if (t.type === 'kcal') {
    if (t.delayNs.length !== n) bad(`delayNs has ${t.delayNs.length} values, expected ${n} [ant, pol]`);
    if (t.snr && t.snr.length !== n) bad(`snr has ${t.snr.length} values, expected ${n}`);
  } else {
    if (t.gains.length !== 2 * n) bad(`gains has ${t.gains.length} floats, expected ${2 * n} (complex ${JSON.stringify(shape)})`);
    if (t.snr.length !== n) bad(`snr has ${t.snr.length} values, expected ${n}`);
  }
  if (t.flags.length !== n) bad(`flags has ${t.flags.length} values, expected ${n}`);
  if (!(t.validToMjd >= t.validFromMjd)) bad(`validity window ${t.validFromMjd}..${t.validToMjd} is empty`);
  if (!t.antennaNames.includes(t.refant)) bad(`refant ${t.refant} is not one of the antennas`);
}

/** Write a calibration table atomically (replacing any previous one at `p`). */
export async function writeCaltable(p: string, t: Caltable, opts: { fsync?: boolean } = {}): Promise<void> {
  validate(t, p);
  const { shape, dims } = solutionShape(t);
  await writeDirAtomic(
    p,
    async (dir) => {
      await writeGroup(dir, {
        ...(t.attrs ?? {}),
        dsa110_caltable_format: CALTABLE_FORMAT_VERSION,
        cal_type: t.type,
        refant: t.refant,
        source_ms: t.sourceMs,
        calibrator: t.calibrator,
        valid_from_mjd: t.validFromMjd,
        valid_to_mjd: t.validToMjd,
        solint: t.solint,
        qa: t.qa,
      });
      const w = (name: string, data: ZarrData, spec: Omit<ArraySpec, 'compressor'>) =>
        writeArray(path.join(dir, name), data, { ...spec, compressor: Z });
      const nAnt = t.antennaNames.length;
      const nPol = t.corrType.length;
      await w('antenna', t.antennaNames, { shape: [nAnt], dtype: `<U${Math.max(16, unicodeWidthFor(t.antennaNames))}`, dims: ['antenna'] });
      await w('polarization', t.corrType, { shape: [nPol], dtype: '<i4', dims: ['polarization'] });
      await w('flag', t.flags, { shape, dtype: '|b1', dims, attrs: { long_name: 'solution flag (true = bad)' } });
      if (t.type === 'kcal') {
        await w('delay', t.delayNs, { shape, dtype: '<f8', dims, attrs: { units: 'ns' } });
        if (t.snr) await w('snr', t.snr, { shape, dtype: '<f4', dims });
      } else {
        await w('gain', t.gains, { shape, dtype: '<c8', dims });
        await w('snr', t.snr, { shape, dtype: '<f4', dims });
        if (t.type === 'bpcal') await w('frequency', t.freq, { shape: [t.freq.length], dtype: '<f8', dims: ['frequency'], attrs: { units: 'Hz' } });
        else {
          await w('time', t.time, {
            shape: [t.time.length],
            dtype: '<f8',
            dims: ['time'],
            attrs: { units: 'seconds since 1858-11-17 00:00:00', calendar: 'proleptic_gregorian', long_name: 'MJD seconds UTC' },
          });
        }
      }
      await consolidateMetadata(dir, { atomic: false });
    },
    { fsync: opts.fsync ?? true },
  );
}

/** Read and validate a calibration table; `expect` refuses a table of another type. */
export async function readCaltable(p: string, expect?: CalType): Promise<Caltable> {
  let st;
  try {
    st = await fsp.stat(p);
  } catch {
    throw new InputError(p, 'no such calibration table');
  }
  if (!st.isDirectory()) throw new InputError(p, 'not a directory: expected a <prefix>.<type>.zarr calibration table');
  try {
    await fsp.access(path.join(p, '.zgroup'));
  } catch {
    throw new InputError(p, 'not a Zarr group (no .zgroup): not a dsa110 calibration table');
  }
  const a = await readAttrs(p);
  if (a.dsa110_caltable_format === undefined) throw new InputError(p, 'not a dsa110 calibration table (no dsa110_caltable_format attribute)');
  if (a.dsa110_caltable_format !== CALTABLE_FORMAT_VERSION) {
    throw new InputError(p, `unsupported calibration table format ${JSON.stringify(a.dsa110_caltable_format)} (this dsa110 reads ${CALTABLE_FORMAT_VERSION})`);
  }
  const type = a.cal_type as CalType;
  if (!CAL_TYPES.includes(type)) throw new InputError(p, `unknown cal_type ${JSON.stringify(a.cal_type)}`);
  if (expect && type !== expect) throw new InputError(p, `is a ${type} table, expected ${expect}`);

  const arr = async (name: string, optional = false) => {
    try {
      await fsp.access(path.join(p, name, '.zarray'));
    } catch {
      if (optional) return undefined;
      throw new InputError(p, `missing array ${name}`);
    }
    return readArray(path.join(p, name));
  };
  const DT = new Map<unknown, string>([[Float64Array, '<f8'], [Int32Array, '<i4'], [Uint8Array, '|b1']]);
  const typed = <T>(name: string, r: { meta: { dtype: string; shape: number[] }; data: ZarrData } | undefined, ctor: new (...a: never[]) => T, want?: number[]): T => {
    // Float32Array holds both <f4 (snr) and <c8 (gain): tell them apart by name.
    const dtype = (ctor as unknown) === Float32Array ? (name === 'gain' ? '<c8' : '<f4') : DT.get(ctor);
    if (!r || !(r.data instanceof ctor) || r.meta.dtype !== dtype) throw new InputError(p, `${name} has dtype ${r?.meta.dtype}, expected ${dtype}`);
    if (want && JSON.stringify(r.meta.shape) !== JSON.stringify(want)) {
      throw new InputError(p, `${name} has shape ${JSON.stringify(r.meta.shape)}, expected ${JSON.stringify(want)}`);
    }
    return r.data;
  };
  const antR = await arr('antenna');
  if (!antR || !Array.isArray(antR.data)) throw new InputError(p, 'antenna is not a string array');
  const antennaNames = antR.data;
  const corrType = typed('polarization', await arr('polarization'), Int32Array);
  const nAnt = antennaNames.length;
  const nPol = corrType.length;
  const num = (k: string): number => {
    const v = a[k];
    if (typeof v !== 'number') throw new InputError(p, `attribute ${k} missing or not a number`);
    return v;
  };
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) if (!MAPPED.has(k)) extra[k] = v;
  const common: CalCommon = {
    refant: String(a.refant ?? ''),
    sourceMs: String(a.source_ms ?? ''),
    calibrator: String(a.calibrator ?? ''),
    validFromMjd: num('valid_from_mjd'),
    validToMjd: num('valid_to_mjd'),
    solint: String(a.solint ?? ''),
    qa: (typeof a.qa === 'object' && a.qa !== null ? a.qa : {}) as Record<string, number>,
    antennaNames,
    corrType,
    attrs: extra,
  };
  if (type === 'kcal') {
    const shape = [nAnt, nPol];
    const snrR = await arr('snr', true);
    return {
      ...common,
      type,
      delayNs: typed('delay', await arr('delay'), Float64Array, shape),
      flags: typed('flag', await arr('flag'), Uint8Array, shape),
      snr: snrR ? typed('snr', snrR, Float32Array, shape) : undefined,
    };
  }
  if (type === 'bpcal') {
    const freq = typed('frequency', await arr('frequency'), Float64Array);
    const shape = [nAnt, freq.length, nPol];
    return {
      ...common,
      type,
      freq,
      gains: typed('gain', await arr('gain'), Float32Array, shape),
      flags: typed('flag', await arr('flag'), Uint8Array, shape),
      snr: typed('snr', await arr('snr'), Float32Array, shape),
    };
  }
  const time = typed('time', await arr('time'), Float64Array);
  const shape = [time.length, nAnt, nPol];
  return {
    ...common,
    type,
    time,
    gains: typed('gain', await arr('gain'), Float32Array, shape),
    flags: typed('flag', await arr('flag'), Uint8Array, shape),
    snr: typed('snr', await arr('snr'), Float32Array, shape),
  };
}
