/**
 * UVH5 reader (pyuvdata's HDF5 visibility format, as written by the DSA-110 correlator and by
 * current pyuvdata). Metadata come from `Header/`, visibilities from `Data/` and are returned in
 * stored order: interleaved complex64, flags as 0/1 bytes, nsamples as float32.
 * Unfiltered contiguous Data/ datasets (what the correlator and our simulator write) are read
 * with one pread per slice straight into the caller's arrays (see H5Reader.directExtent);
 * complex64 visdata need no conversion at all. Chunked/filtered data go through h5wasm.
 */
import { DsaError, InputError } from '../util/errors.js';
import { DEG } from '../astro/constants.js';
import { geodeticToEcef } from '../astro/geodesy.js';
import { H5Reader } from './hdf5.js';

export type PhaseType = 'drift' | 'phased' | 'sidereal' | 'unprojected' | 'driftscan';

export interface PhaseCenter {
  /** Longitude-like coordinate (RA for sidereal/phased), radians. */
  ra: number;
  /** Latitude-like coordinate (Dec), radians. */
  dec: number;
  frame: string;
  epoch?: number;
  name?: string;
}

export interface Uvh5Meta {
  path: string;
  nBlts: number;
  nBls: number;
  nTimes: number;
  nFreqs: number;
  nPols: number;
  nAnts: number;
  nAntsData: number;
  nSpws: number;
  /** Channel frequencies in Hz, as stored (DSA-110: descending). */
  freqs: Float64Array;
  /** Per-channel widths in Hz (a stored scalar is expanded). */
  channelWidth: Float64Array;
  /** AIPS codes: -5 XX, -6 YY, -7 XY, -8 YX; -1..-4 RR LL RL LR; 1..4 IQUV. */
  polarizations: Int32Array;
  /** JD (UTC) per baseline-time. */
  times: Float64Array;
  /** Sorted distinct JDs. */
  uniqueTimes: Float64Array;
  /** Seconds per baseline-time. */
  integrationTime: Float64Array;
  /** Antenna numbers per baseline-time. */
  ant1: Int32Array;
  ant2: Int32Array;
  /** 3·Nblts, metres, uvw = x(ant2) − x(ant1). */
  uvw: Float64Array;
  antennaNames: string[];
  antennaNumbers: Int32Array;
  /** 3·Nants, ECEF metres relative to telescopeLocation. */
  antennaPositions: Float64Array;
  antennaDiameters?: Float64Array;
  /** ECEF metres. */
  telescopeLocation: [number, number, number];
  /** Geodetic latitude, longitude (radians) and height (m) when stored. */
  telescopeLatLonAlt?: [number, number, number];
  telescopeName: string;
  instrument: string;
  objectName?: string;
  phaseType: PhaseType;
  phaseCenter?: PhaseCenter;
  /** DSA-110 `extra_keywords/phase_center_dec` (radians, apparent): the pointing declination. */
  phaseCenterDecApp?: number;
  /** DSA-110 `extra_keywords/ha_phase_center` (radians). */
  haPhaseCenter?: number;
  extraKeywords: Record<string, unknown>;
  visDtype: 'c8' | 'c16' | 'i4';
  rank: 3 | 4;
  history: string;
}

export interface Uvh5Data {
  meta: Uvh5Meta;
  /** 2·n·Nfreqs·Npols interleaved (re, im), stored order (blt, freq, pol). */
  vis: Float32Array;
  /** n·Nfreqs·Npols, 0/1. */
  flags: Uint8Array;
  /** n·Nfreqs·Npols. */
  nsamples: Float32Array;
}

/** An open UVH5 file for streaming reads along the baseline-time axis. */
export interface Uvh5Handle {
  meta: Uvh5Meta;
  /** Read baseline-times [start, end) in stored order. */
  readBlts(start: number, end: number): Uvh5Data;
  /** As readBlts, into caller-owned arrays (sized at least for end − start rows). */
  readBltsInto(start: number, end: number, out: { vis: Float32Array; flags: Uint8Array; nsamples: Float32Array }): void;
  close(): void;
}

// ----------------------------------------------------------------------------------------------
// value coercion helpers (h5wasm returns bigint for int64, typed arrays, strings, nested arrays)

function flatNumbers(v: unknown): number[] {
  if (v === null || v === undefined) return [];
  if (typeof v === 'number') return [v];
  if (typeof v === 'bigint') return [Number(v)];
  if (typeof v === 'boolean') return [v ? 1 : 0];
  if (ArrayBuffer.isView(v)) {
    const a = v as unknown as ArrayLike<number | bigint>;
    const out = new Array<number>(a.length);
    for (let i = 0; i < a.length; i++) out[i] = Number(a[i]);
    return out;
  }
  if (Array.isArray(v)) return v.flatMap((x) => flatNumbers(x));
  return [NaN];
}

function flatStrings(v: unknown): string[] {
  if (v === null || v === undefined) return [];
  if (typeof v === 'string') return [v.replace(/\0+$/, '')];
  if (v instanceof Uint8Array) return [Buffer.from(v).toString('utf8').replace(/\0+$/, '')];
  if (Array.isArray(v)) return v.flatMap((x) => flatStrings(x));
  return [String(v)];
}

/** JSON-friendly value of an extra keyword. */
function plainValue(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === 'string') return v.replace(/\0+$/, '');
  if (ArrayBuffer.isView(v)) {
    const a = flatNumbers(v);
    return a.length === 1 ? a[0] : a;
  }
  if (Array.isArray(v)) return v.map(plainValue);
  return v;
}

class HeaderReader {
  constructor(readonly h5: H5Reader, readonly file: string) {}
  has(name: string): boolean {
    return this.h5.kind(`Header/${name}`) === 'dataset';
  }
  raw(name: string): unknown {
    return this.h5.value(`Header/${name}`);
  }
  num(name: string, required = true): number {
    if (!this.has(name)) {
      if (required) throw new InputError(this.file, `missing Header/${name}`);
      return NaN;
    }
    // raw numeric read first (~10x cheaper than h5wasm's .value); other types via .value
    const a = this.h5.numeric(`Header/${name}`) ?? flatNumbers(this.raw(name));
    if (a.length !== 1 || !Number.isFinite(a[0])) throw new InputError(this.file, `Header/${name} is not a scalar number`);
    return a[0];
  }
  int(name: string, required = true): number {
    const v = this.num(name, required);
    if (required && !Number.isSafeInteger(v)) throw new InputError(this.file, `Header/${name} = ${v} is not an integer`);
    return v;
  }
  f64(name: string, len: number | null, required = true): Float64Array | undefined {
    if (!this.has(name)) {
      if (required) throw new InputError(this.file, `missing Header/${name}`);
      return undefined;
    }
    const fast = this.h5.numeric(`Header/${name}`);
    const a = fast ?? Float64Array.from(flatNumbers(this.raw(name)));
    if (len !== null && a.length !== len) {
      throw new InputError(this.file, `Header/${name} has ${a.length} values, expected ${len}`);
    }
    return a;
  }
  i32(name: string, len: number | null, required = true): Int32Array | undefined {
    const a = this.f64(name, len, required);
    if (!a) return undefined;
    const out = new Int32Array(a.length);
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      // (v | 0) === v exactly for integers representable as int32 (NaN, fractions, overflow fail)
      if ((v | 0) !== v) throw new InputError(this.file, `Header/${name} holds a non-integer or out-of-range value`);
      out[i] = v;
    }
    return out;
  }
  str(name: string, fallback?: string): string {
    if (!this.has(name)) {
      if (fallback !== undefined) return fallback;
      throw new InputError(this.file, `missing Header/${name}`);
    }
    return flatStrings(this.raw(name)).join('');
  }
  strs(name: string): string[] {
    return flatStrings(this.raw(name));
  }
}

interface DataLayout {
  visType: 'c8' | 'c16' | 'i4';
  visElem: number;
  offR: number;
  offI: number;
  flagsElem: number;
  flagsAreEnum: boolean;
  nsType: 'f4' | 'f8' | 'other';
  nsElem: number;
  rank: 3 | 4;
}

function describeShape(s: number[] | null): string {
  return s ? `(${s.join(',')})` : 'null';
}

function readMetaFrom(h5: H5Reader, file: string): { meta: Uvh5Meta; layout: DataLayout } {
  if (h5.kind('Header') !== 'group' || h5.kind('Data') !== 'group') {
    throw new InputError(file, 'not a UVH5 file (no Header and Data groups)');
  }
  for (const ds of ['Data/visdata', 'Data/flags', 'Data/nsamples']) {
    if (h5.kind(ds) !== 'dataset') throw new InputError(file, `not a UVH5 file (missing ${ds})`);
  }
  const H = new HeaderReader(h5, file);
  const nBlts = H.int('Nblts');
  const nBls = H.int('Nbls');
  const nTimes = H.int('Ntimes');
  const nFreqs = H.int('Nfreqs');
  const nPols = H.int('Npols');
  const nSpws = H.has('Nspws') ? H.int('Nspws') : 1;
  const nAnts = H.int('Nants_telescope');
  const nAntsData = H.has('Nants_data') ? H.int('Nants_data') : nAnts;
  if (nBlts <= 0 || nFreqs <= 0 || nPols <= 0) throw new InputError(file, `empty data (Nblts=${nBlts}, Nfreqs=${nFreqs}, Npols=${nPols})`);

  // --- visibility datasets: shapes, types ---
  const vm = h5.meta('Data/visdata');
  const shape = vm.shape ?? [];
  let rank: 3 | 4;
  if (shape.length === 4 && shape[0] === nBlts && shape[1] === 1 && shape[2] === nFreqs && shape[3] === nPols) rank = 4;
  else if (shape.length === 3 && shape[0] === nBlts && shape[1] === nFreqs && shape[2] === nPols) rank = 3;
  else {
    throw new InputError(
      file,
      `Data/visdata shape ${describeShape(vm.shape)} is not (Nblts,1,Nfreqs,Npols) = (${nBlts},1,${nFreqs},${nPols}) ` +
        `nor (Nblts,Nfreqs,Npols): axes transposed or header inconsistent; refusing to guess`,
    );
  }
  for (const ds of ['Data/flags', 'Data/nsamples']) {
    const s = h5.meta(ds).shape;
    if (!s || s.length !== shape.length || s.some((x, i) => x !== shape[i])) {
      throw new InputError(file, `${ds} shape ${describeShape(s)} differs from Data/visdata ${describeShape(vm.shape)}`);
    }
  }
  if (nBlts !== nBls * nTimes) {
    throw new InputError(
      file,
      `irregular baseline-time layout (Nblts=${nBlts} != Nbls*Ntimes=${nBls}*${nTimes}, e.g. baseline-dependent averaging): not supported`,
    );
  }
  if (vm.type !== 6 || !vm.compound_type) throw new InputError(file, 'Data/visdata is not a compound {r, i} datatype');
  const members = vm.compound_type.members;
  const mr = members.find((m) => m.name === 'r');
  const mi = members.find((m) => m.name === 'i');
  if (!mr || !mi || mr.type !== mi.type || mr.size !== mi.size) {
    throw new InputError(file, `Data/visdata compound members ${members.map((m) => m.name).join(',')} are not a matching {r, i} pair`);
  }
  let visType: DataLayout['visType'];
  if (mr.type === 1 && mr.size === 4) visType = 'c8';
  else if (mr.type === 1 && mr.size === 8) visType = 'c16';
  else if (mr.type === 0 && mr.size === 4 && mr.signed) visType = 'i4';
  else throw new InputError(file, `unsupported Data/visdata member type (class ${mr.type}, ${mr.size} bytes)`);
  if (!mr.littleEndian || !mi.littleEndian) {
    // h5wasm converts big-endian to little-endian in memory, so this is only informative.
  }
  const fm = h5.meta('Data/flags');
  if (!((fm.type === 8 && fm.size === 1) || (fm.type === 0 && fm.size === 1))) {
    throw new InputError(file, `Data/flags datatype (class ${fm.type}, ${fm.size} bytes) is neither bool nor uint8`);
  }
  const nm = h5.meta('Data/nsamples');
  const nsType: DataLayout['nsType'] = nm.type === 1 && nm.size === 4 ? 'f4' : nm.type === 1 && nm.size === 8 ? 'f8' : 'other';
  if (nsType === 'other' && !(nm.type === 0 && [1, 2, 4].includes(nm.size))) {
    throw new InputError(file, `Data/nsamples datatype (class ${nm.type}, ${nm.size} bytes) is not supported`);
  }
  for (const ds of ['Data/visdata', 'Data/flags', 'Data/nsamples']) h5.checkFilters(ds);

  // --- frequencies, polarisations ---
  const freqs = H.f64('freq_array', nFreqs) as Float64Array;
  let channelWidth = H.f64('channel_width', null) as Float64Array;
  if (channelWidth.length === 1 && nFreqs !== 1) channelWidth = new Float64Array(nFreqs).fill(channelWidth[0]);
  if (channelWidth.length !== nFreqs) throw new InputError(file, `Header/channel_width has ${channelWidth.length} values for ${nFreqs} channels`);
  const polarizations = H.i32('polarization_array', nPols) as Int32Array;

  // --- baseline-time axis ---
  const times = H.f64('time_array', nBlts) as Float64Array;
  // Distinct times: sort only the heads of runs of equal values (24 of them for the time-major
  // files DSA-110 writes, instead of sorting all Nblts values).
  let nHeads = 0;
  const heads = new Float64Array(times.length);
  for (let i = 0; i < times.length; i++) if (i === 0 || times[i] !== times[i - 1]) heads[nHeads++] = times[i];
  const uniqueTimes = heads.subarray(0, nHeads).sort();
  let nu = 0;
  for (let i = 0; i < uniqueTimes.length; i++) if (i === 0 || uniqueTimes[i] !== uniqueTimes[nu - 1]) uniqueTimes[nu++] = uniqueTimes[i];
  const uniqueTimesOut = uniqueTimes.slice(0, nu);
  if (uniqueTimesOut.length !== nTimes) throw new InputError(file, `Header/time_array has ${uniqueTimesOut.length} distinct times, Ntimes = ${nTimes}`);
  let integrationTime = H.f64('integration_time', null) as Float64Array;
  if (integrationTime.length === 1 && nBlts !== 1) integrationTime = new Float64Array(nBlts).fill(integrationTime[0]);
  if (integrationTime.length !== nBlts) throw new InputError(file, `Header/integration_time has ${integrationTime.length} values for ${nBlts} baseline-times`);
  const ant1 = H.i32('ant_1_array', nBlts) as Int32Array;
  const ant2 = H.i32('ant_2_array', nBlts) as Int32Array;
  const uvw = H.f64('uvw_array', 3 * nBlts) as Float64Array;

  // --- antennas, telescope ---
  const antennaNames = H.strs('antenna_names');
  const antennaNumbers = H.i32('antenna_numbers', nAnts) as Int32Array;
  if (antennaNames.length !== nAnts) throw new InputError(file, `Header/antenna_names has ${antennaNames.length} names, Nants_telescope = ${nAnts}`);
  const antennaPositions = H.f64('antenna_positions', 3 * nAnts) as Float64Array;
  const antennaDiameters = H.has('antenna_diameters') ? H.f64('antenna_diameters', null) : undefined;
  let telescopeLocation: [number, number, number];
  let telescopeLatLonAlt: [number, number, number] | undefined;
  if (H.has('latitude') && H.has('longitude') && H.has('altitude')) {
    telescopeLatLonAlt = [H.num('latitude') * DEG, H.num('longitude') * DEG, H.num('altitude')];
    telescopeLocation = geodeticToEcef(...telescopeLatLonAlt);
  } else if (H.has('telescope_location')) {
    const l = H.f64('telescope_location', 3) as Float64Array;
    telescopeLocation = [l[0], l[1], l[2]];
  } else {
    throw new InputError(file, 'missing telescope location (Header/latitude, longitude, altitude)');
  }

  // --- extra keywords ---
  const extraKeywords: Record<string, unknown> = {};
  if (h5.kind('Header/extra_keywords') === 'group') {
    for (const k of h5.names('Header/extra_keywords')) {
      const p = `Header/extra_keywords/${k}`;
      if (h5.kind(p) !== 'dataset') continue;
      try {
        extraKeywords[k] = plainValue(h5.value(p));
      } catch (e) {
        if (e instanceof DsaError) extraKeywords[k] = null;
        else throw e;
      }
    }
  }
  const num = (v: unknown): number | undefined => {
    const a = flatNumbers(v);
    return a.length === 1 && Number.isFinite(a[0]) ? a[0] : undefined;
  };
  const phaseCenterDecApp = num(extraKeywords['phase_center_dec']);
  const haPhaseCenter = num(extraKeywords['ha_phase_center']);

  // --- phasing ---
  let phaseType: PhaseType;
  let phaseCenter: PhaseCenter | undefined;
  const catalog = readPhaseCenterCatalog(h5, H, file);
  if (catalog.length > 0) {
    let use = catalog[0];
    if (H.has('phase_center_id_array')) {
      const ids = H.i32('phase_center_id_array', nBlts) as Int32Array;
      use = catalog.find((c) => c.id === ids[0]) ?? catalog[0];
    }
    const t = use.type.toLowerCase();
    if (t === 'sidereal' || t === 'unprojected' || t === 'driftscan') phaseType = t;
    else if (t === 'ephem') throw new InputError(file, `phase centre "${use.name}" is of type ephem: not supported`);
    else throw new InputError(file, `unknown phase centre type "${use.type}"`);
    if (t !== 'unprojected' && Number.isFinite(use.lon) && Number.isFinite(use.lat)) {
      phaseCenter = { ra: use.lon, dec: use.lat, frame: use.frame, name: use.name };
      if (use.epoch !== undefined) phaseCenter.epoch = use.epoch;
    }
  } else {
    const pt = H.str('phase_type', 'drift').toLowerCase();
    if (pt === 'drift') phaseType = 'drift';
    else if (pt === 'phased') {
      phaseType = 'phased';
      phaseCenter = {
        ra: H.num('phase_center_ra'),
        dec: H.num('phase_center_dec'),
        frame: H.str('phase_center_frame', 'icrs'),
      };
      if (H.has('phase_center_epoch')) phaseCenter.epoch = H.num('phase_center_epoch');
    } else throw new InputError(file, `unknown Header/phase_type "${pt}"`);
  }

  const meta: Uvh5Meta = {
    path: file,
    nBlts,
    nBls,
    nTimes,
    nFreqs,
    nPols,
    nAnts,
    nAntsData,
    nSpws,
    freqs,
    channelWidth,
    polarizations,
    times,
    uniqueTimes: uniqueTimesOut,
    integrationTime,
    ant1,
    ant2,
    uvw,
    antennaNames,
    antennaNumbers,
    antennaPositions,
    antennaDiameters,
    telescopeLocation,
    telescopeLatLonAlt,
    telescopeName: H.str('telescope_name', ''),
    instrument: H.str('instrument', ''),
    objectName: H.has('object_name') ? H.str('object_name') : undefined,
    phaseType,
    phaseCenter,
    phaseCenterDecApp,
    haPhaseCenter,
    extraKeywords,
    visDtype: visType,
    rank,
    history: H.str('history', ''),
  };
  const layout: DataLayout = {
    visType,
    visElem: vm.size,
    offR: mr.offset,
    offI: mi.offset,
    flagsElem: 1,
    flagsAreEnum: fm.type === 8,
    nsType,
    nsElem: nm.size,
    rank,
  };
  return { meta, layout };
}

interface CatalogEntry {
  id: number;
  name: string;
  type: string;
  lon: number;
  lat: number;
  frame: string;
  epoch?: number;
}

/** pyuvdata ≥ 2.2 phase_center_catalog: a group of per-id groups, or (early versions) a JSON string. */
function readPhaseCenterCatalog(h5: H5Reader, H: HeaderReader, file: string): CatalogEntry[] {
  const kind = h5.kind('Header/phase_center_catalog');
  if (kind === null) return [];
  const out: CatalogEntry[] = [];
  const fromObj = (id: number, o: Record<string, unknown>): CatalogEntry => {
    const n = (k: string): number => {
      const a = flatNumbers(o[k]);
      return a.length === 1 ? a[0] : NaN;
    };
    const s = (k: string): string => flatStrings(o[k]).join('');
    const e: CatalogEntry = { id, name: s('cat_name'), type: s('cat_type'), lon: n('cat_lon'), lat: n('cat_lat'), frame: s('cat_frame') || 'icrs' };
    const ep = n('cat_epoch');
    if (Number.isFinite(ep)) e.epoch = ep;
    if (Number.isFinite(n('cat_id'))) e.id = n('cat_id');
    return e;
  };
  if (kind === 'group') {
    for (const key of h5.names('Header/phase_center_catalog')) {
      const g = `Header/phase_center_catalog/${key}`;
      if (h5.kind(g) !== 'group') continue;
      const o: Record<string, unknown> = {};
      for (const f of h5.names(g)) {
        if (h5.kind(`${g}/${f}`) === 'dataset') o[f] = h5.value(`${g}/${f}`);
      }
      out.push(fromObj(Number(key), o));
    }
  } else {
    const text = H.str('phase_center_catalog');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new InputError(file, 'Header/phase_center_catalog is neither a group nor valid JSON');
    }
    if (parsed && typeof parsed === 'object') {
      for (const [key, val] of Object.entries(parsed as Record<string, unknown>)) {
        if (val && typeof val === 'object') {
          const o = val as Record<string, unknown>;
          // Early JSON catalogs were keyed by name with cat_id inside.
          const e = fromObj(Number.isFinite(Number(key)) ? Number(key) : NaN, o);
          if (!e.name) e.name = key;
          out.push(e);
        }
      }
    }
  }
  out.sort((a, b) => a.id - b.id);
  return out;
}

// ----------------------------------------------------------------------------------------------
// data reading

const SLICE_BYTES = 64 << 20;

/** Scratch bytes for type conversion, kept per open file so streaming reads do not reallocate. */
class Scratch {
  private buf = new Uint8Array(0);
  get(n: number): Uint8Array {
    if (this.buf.length < n) this.buf = new Uint8Array(n);
    return this.buf.subarray(0, n);
  }
}

/** visdata elements [i0, i0 + m) of raw compound bytes `raw` → interleaved float32 at `o`. */
function convertVis(L: DataLayout, raw: Uint8Array, m: number, vis: Float32Array, o: number): void {
  const es = L.visElem;
  const w = L.visType === 'c16' ? 8 : 4;
  if (es % w === 0 && L.offR % w === 0 && L.offI % w === 0 && raw.byteOffset % w === 0) {
    // aligned members: typed-array view, no per-element DataView calls
    const src = L.visType === 'c16' ? new Float64Array(raw.buffer, raw.byteOffset, (m * es) / 8)
      : L.visType === 'c8' ? new Float32Array(raw.buffer, raw.byteOffset, (m * es) / 4)
      : new Int32Array(raw.buffer, raw.byteOffset, (m * es) / 4);
    const stride = es / w;
    const r = L.offR / w;
    const im = L.offI / w;
    for (let i = 0, j = 0; i < m; i++, j += stride) {
      vis[o + 2 * i] = src[j + r];
      vis[o + 2 * i + 1] = src[j + im];
    }
    return;
  }
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let i = 0; i < m; i++) {
    const a = i * es;
    if (L.visType === 'c16') {
      vis[o + 2 * i] = dv.getFloat64(a + L.offR, true);
      vis[o + 2 * i + 1] = dv.getFloat64(a + L.offI, true);
    } else if (L.visType === 'c8') {
      vis[o + 2 * i] = dv.getFloat32(a + L.offR, true);
      vis[o + 2 * i + 1] = dv.getFloat32(a + L.offI, true);
    } else {
      vis[o + 2 * i] = dv.getInt32(a + L.offR, true);
      vis[o + 2 * i + 1] = dv.getInt32(a + L.offI, true);
    }
  }
}

function readBltsImpl(
  h5: H5Reader,
  meta: Uvh5Meta,
  L: DataLayout,
  scratch: Scratch,
  start: number,
  end: number,
  out: { vis: Float32Array; flags: Uint8Array; nsamples: Float32Array },
): void {
  const file = meta.path;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > meta.nBlts || start > end) {
    throw new InputError(file, `baseline-time range [${start}, ${end}) outside [0, ${meta.nBlts})`);
  }
  const n = end - start;
  const per = meta.nFreqs * meta.nPols;
  if (out.vis.length < 2 * n * per || out.flags.length < n * per || out.nsamples.length < n * per) {
    throw new Error('readBltsInto: output arrays too small');
  }
  if (n === 0) return;
  const offs = (s: number): number[] => (L.rank === 4 ? [s, 0, 0, 0] : [s, 0, 0]);
  const cnts = (k: number): number[] => (L.rank === 4 ? [k, 1, meta.nFreqs, meta.nPols] : [k, meta.nFreqs, meta.nPols]);

  // visdata
  if (L.visType === 'c8' && L.visElem === 8 && L.offR === 0 && L.offI === 4) {
    // stored layout equals ours (interleaved complex64): read straight into the output array
    h5.readRaw('Data/visdata', offs(start), cnts(n), new Uint8Array(out.vis.buffer, out.vis.byteOffset, 2 * n * per * 4), 0, SLICE_BYTES);
  } else {
    const rowBytes = per * L.visElem;
    const rowsPer = Math.max(1, Math.floor(SLICE_BYTES / rowBytes));
    const tmp = scratch.get(Math.min(n, rowsPer) * rowBytes);
    for (let r0 = 0; r0 < n; r0 += rowsPer) {
      const k = Math.min(rowsPer, n - r0);
      h5.readRaw('Data/visdata', offs(start + r0), cnts(k), tmp, 0, SLICE_BYTES);
      convertVis(L, tmp, k * per, out.vis, 2 * r0 * per);
    }
  }

  // flags (bool enum or uint8): bytes, normalised to 0/1
  const fl = out.flags.subarray(0, n * per);
  h5.readRaw('Data/flags', offs(start), cnts(n), fl, 0, SLICE_BYTES);
  // HDF5 bool enums hold 0/1 by construction; plain uint8 flags may hold any non-zero value
  if (!L.flagsAreEnum) for (let i = 0; i < fl.length; i++) if (fl[i] > 1) fl[i] = 1;

  // nsamples
  if (L.nsType === 'f4') {
    h5.readRaw('Data/nsamples', offs(start), cnts(n), new Uint8Array(out.nsamples.buffer, out.nsamples.byteOffset, n * per * 4), 0, SLICE_BYTES);
  } else {
    const rowBytes = per * L.nsElem;
    const rowsPer = Math.max(1, Math.floor(SLICE_BYTES / rowBytes));
    const tmp = scratch.get(Math.min(n, rowsPer) * rowBytes);
    const dv = new DataView(tmp.buffer, tmp.byteOffset, tmp.byteLength);
    const sm = h5.meta('Data/nsamples');
    for (let r0 = 0; r0 < n; r0 += rowsPer) {
      const k = Math.min(rowsPer, n - r0);
      h5.readRaw('Data/nsamples', offs(start + r0), cnts(k), tmp, 0, SLICE_BYTES);
      const m = k * per;
      const o = r0 * per;
      for (let i = 0; i < m; i++) {
        let v: number;
        if (L.nsType === 'f8') v = dv.getFloat64(i * 8, true);
        else if (sm.size === 1) v = sm.signed ? dv.getInt8(i) : dv.getUint8(i);
        else if (sm.size === 2) v = sm.signed ? dv.getInt16(i * 2, true) : dv.getUint16(i * 2, true);
        else v = sm.signed ? dv.getInt32(i * 4, true) : dv.getUint32(i * 4, true);
        out.nsamples[o + i] = v;
      }
    }
  }
}

/** Options of `openUvh5`. */
export interface Uvh5OpenOptions {
  /**
   * Read unfiltered contiguous Data/ datasets directly from the file (default true); false
   * reads everything through h5wasm (used by tests to compare the two paths).
   */
  direct?: boolean;
  /** Smallest dataset read directly (bytes; default 4 MiB). */
  directMinBytes?: number;
}

/** Open a UVH5 file and read its metadata; read data with `readBlts`, then `close()`. */
export async function openUvh5(path: string, opts: Uvh5OpenOptions = {}): Promise<Uvh5Handle> {
  const h5 = await H5Reader.open(path, opts);
  try {
    const { meta, layout } = readMetaFrom(h5, path);
    const per = meta.nFreqs * meta.nPols;
    const scratch = new Scratch();
    return {
      meta,
      readBlts(start: number, end: number): Uvh5Data {
        const n = Math.max(0, end - start);
        const out = { vis: new Float32Array(2 * n * per), flags: new Uint8Array(n * per), nsamples: new Float32Array(n * per) };
        readBltsImpl(h5, meta, layout, scratch, start, end, out);
        return { meta, ...out };
      },
      readBltsInto(start, end, out) {
        readBltsImpl(h5, meta, layout, scratch, start, end, out);
      },
      close() {
        h5.close();
      },
    };
  } catch (e) {
    h5.close();
    throw e;
  }
}

export async function readUvh5Meta(path: string): Promise<Uvh5Meta> {
  const h = await openUvh5(path);
  h.close();
  return h.meta;
}

export async function readUvh5Data(path: string, opts: { bltStart?: number; bltEnd?: number } & Uvh5OpenOptions = {}): Promise<Uvh5Data> {
  const h = await openUvh5(path, opts);
  try {
    return h.readBlts(opts.bltStart ?? 0, opts.bltEnd ?? h.meta.nBlts);
  } finally {
    h.close();
  }
}
