/**
 * UVH5 writer producing files laid out like the DSA-110 correlator's (dsa110-meridian-fs
 * `initialize_uvh5_file` / `update_uvh5_file`, written with h5py): legacy rank-4
 * `Data/visdata (Nblts,1,Nfreqs,Npols)` compound {r: f4, i: f4} (numpy complex64), `Data/flags`
 * as numpy bool (HDF5 enum int8 FALSE/TRUE), `Data/nsamples` float32, `phase_type = "drift"`,
 * pointing declination in `Header/extra_keywords/phase_center_dec` (radians).
 *
 * Differences from the correlator, on purpose: datasets are contiguous rather than chunked, and
 * `uvw_array` is float64 (the correlator writes float32; pyuvdata reads both) so that simulated
 * phases can be checked to 1e-6.
 *
 * Files are written to a temporary sibling, fsynced and renamed into place.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempSiblingName } from '../util/atomic.js';
import { H5Builder, H5Output, T } from './hdf5.js';

export interface Uvh5WriteHeader {
  /** Channel frequencies (Hz) in stored order (DSA-110: descending). */
  freqs: Float64Array;
  /** Channel width (Hz), positive, as the correlator stores it (a scalar). */
  channelWidth: number;
  /** AIPS polarisation codes, e.g. [-5, -6]. */
  polarizations: Int32Array;
  /** JD per baseline-time. */
  times: Float64Array;
  /** Seconds per baseline-time (or one value for all). */
  integrationTime: Float64Array | number;
  /** Antenna numbers per baseline-time. */
  ant1: Int32Array;
  ant2: Int32Array;
  /** 3·Nblts metres. */
  uvw: Float64Array;
  antennaNames: string[];
  antennaNumbers: Int32Array;
  /** 3·Nants ECEF metres relative to the telescope location. */
  antennaPositions: Float64Array;
  antennaDiameters?: Float64Array;
  latitudeDeg: number;
  longitudeDeg: number;
  altitudeM: number;
  /** Pointing (apparent) declination, radians → extra_keywords/phase_center_dec. */
  phaseCenterDecRad: number;
  telescopeName?: string;
  instrument?: string;
  objectName?: string;
  history?: string;
  /** Further extra_keywords (numbers stored as float64, integers given as bigint as int64, strings as S<n>). */
  extraKeywords?: Record<string, number | bigint | string>;
}

export interface Uvh5WriteData {
  /** 2·Nblts·Nfreqs·Npols interleaved complex64. */
  vis: Float32Array;
  /** Nblts·Nfreqs·Npols, 0/1. */
  flags: Uint8Array;
  /** Nblts·Nfreqs·Npols. */
  nsamples: Float32Array;
}

function i64(a: ArrayLike<number>): BigInt64Array {
  const out = new BigInt64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = BigInt(a[i]);
  return out;
}

/** An open UVH5 file being written; fill with writeBlts (any order), then commit(). */
export class Uvh5Writer {
  private committed = false;
  private constructor(
    readonly finalPath: string,
    readonly tmpPath: string,
    private out: H5Output,
    readonly nBlts: number,
    readonly nFreqs: number,
    readonly nPols: number,
  ) {}

  static create(file: string, h: Uvh5WriteHeader): Uvh5Writer {
    const nBlts = h.times.length;
    const nFreqs = h.freqs.length;
    const nPols = h.polarizations.length;
    const nAnts = h.antennaNames.length;
    if (h.ant1.length !== nBlts || h.ant2.length !== nBlts || h.uvw.length !== 3 * nBlts) {
      throw new Error('Uvh5Writer: ant1/ant2/uvw lengths do not match times');
    }
    if (h.antennaNumbers.length !== nAnts || h.antennaPositions.length !== 3 * nAnts) {
      throw new Error('Uvh5Writer: antenna table lengths differ');
    }
    const uniqTimes = new Set(h.times).size;
    const bls = new Set<number>();
    const antsData = new Set<number>();
    for (let i = 0; i < nBlts; i++) {
      bls.add(h.ant1[i] * 100000 + h.ant2[i]);
      antsData.add(h.ant1[i]);
      antsData.add(h.ant2[i]);
    }
    const intTime =
      typeof h.integrationTime === 'number' ? new Float64Array(nBlts).fill(h.integrationTime) : h.integrationTime;
    if (intTime.length !== nBlts) throw new Error('Uvh5Writer: integrationTime length');

    const b = new H5Builder();
    b.group('Header');
    b.group('Data');
    b.dataset('Header/latitude', T.f64, [], new Float64Array([h.latitudeDeg]));
    b.dataset('Header/longitude', T.f64, [], new Float64Array([h.longitudeDeg]));
    b.dataset('Header/altitude', T.f64, [], new Float64Array([h.altitudeM]));
    b.string('Header/telescope_name', h.telescopeName ?? 'OVRO_MMA');
    b.string('Header/instrument', h.instrument ?? 'DSA');
    b.string('Header/object_name', h.objectName ?? 'search');
    b.string('Header/history', h.history ?? 'written by dsa110 (TypeScript)');
    b.string('Header/phase_type', 'drift');
    b.string('Header/version', '1.0');
    const scalar = (name: string, v: number): void => {
      b.dataset(`Header/${name}`, T.i64, [], new BigInt64Array([BigInt(v)]));
    };
    scalar('Nants_data', antsData.size);
    scalar('Nants_telescope', nAnts);
    scalar('Nbls', bls.size);
    scalar('Nblts', nBlts);
    scalar('Nfreqs', nFreqs);
    scalar('Npols', nPols);
    scalar('Nspws', 1);
    scalar('Ntimes', uniqTimes);
    b.dataset('Header/antenna_diameters', T.f64, [nAnts], h.antennaDiameters ?? new Float64Array(nAnts).fill(4.65));
    b.dataset('Header/ant_1_array', T.i64, [nBlts], i64(h.ant1));
    b.dataset('Header/ant_2_array', T.i64, [nBlts], i64(h.ant2));
    b.strings('Header/antenna_names', h.antennaNames);
    b.dataset('Header/antenna_numbers', T.i64, [nAnts], i64(h.antennaNumbers));
    b.dataset('Header/antenna_positions', T.f64, [nAnts, 3], h.antennaPositions);
    b.dataset('Header/uvw_array', T.f64, [nBlts, 3], h.uvw);
    b.dataset('Header/time_array', T.f64, [nBlts], h.times);
    b.dataset('Header/integration_time', T.f64, [nBlts], intTime);
    b.dataset('Header/freq_array', T.f64, [1, nFreqs], h.freqs);
    b.dataset('Header/channel_width', T.f64, [], new Float64Array([Math.abs(h.channelWidth)]));
    b.dataset('Header/spw_array', T.i64, [1], new BigInt64Array([1n]));
    b.dataset('Header/polarization_array', T.i64, [nPols], i64(h.polarizations));
    b.group('Header/extra_keywords');
    const extra: Record<string, number | bigint | string> = {
      phase_center_dec: h.phaseCenterDecRad,
      ha_phase_center: 0,
      phase_center_epoch: 2000n,
      ...(h.extraKeywords ?? {}),
    };
    for (const [k, v] of Object.entries(extra)) {
      const p = `Header/extra_keywords/${k}`;
      if (typeof v === 'string') b.string(p, v);
      else if (typeof v === 'bigint') b.dataset(p, T.i64, [], new BigInt64Array([v]));
      else b.dataset(p, T.f64, [], new Float64Array([v]));
    }
    const shape = [nBlts, 1, nFreqs, nPols];
    b.dataset('Data/visdata', T.complex(4), shape);
    b.dataset('Data/flags', T.bool, shape);
    b.dataset('Data/nsamples', T.f32, shape);

    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const tmp = tempSiblingName(file);
    const out = b.create(tmp);
    return new Uvh5Writer(file, tmp, out, nBlts, nFreqs, nPols);
  }

  /** Write baseline-times starting at `start` (arrays in stored order, any number of rows). */
  writeBlts(start: number, vis: Float32Array, flags: Uint8Array, nsamples: Float32Array): void {
    const per = this.nFreqs * this.nPols;
    const n = flags.length / per;
    if (!Number.isInteger(n) || vis.length !== 2 * n * per || nsamples.length !== n * per) {
      throw new Error('Uvh5Writer.writeBlts: array lengths are not whole baseline-time rows');
    }
    if (start < 0 || start + n > this.nBlts) throw new Error('Uvh5Writer.writeBlts: rows outside the file');
    this.out.writeAt('/Data/visdata', start * per * 8, vis);
    this.out.writeAt('/Data/flags', start * per, flags);
    this.out.writeAt('/Data/nsamples', start * per * 4, nsamples);
  }

  /** fsync, rename into place, fsync the directory. */
  commit(): void {
    if (this.committed) return;
    this.out.close(true);
    fs.renameSync(this.tmpPath, this.finalPath);
    this.committed = true;
    try {
      const dfd = fs.openSync(path.dirname(path.resolve(this.finalPath)), 'r');
      try {
        fs.fsyncSync(dfd);
      } finally {
        fs.closeSync(dfd);
      }
    } catch {
      /* directory fsync is best effort (not supported on every filesystem) */
    }
  }

  /** Discard the temporary file. */
  abort(): void {
    if (this.committed) return;
    try {
      this.out.close(false);
    } catch {
      /* already closed */
    }
    try {
      fs.unlinkSync(this.tmpPath);
    } catch {
      /* already gone */
    }
    this.committed = true;
  }
}

/** Write a whole UVH5 file atomically. */
export function writeUvh5(file: string, header: Uvh5WriteHeader, data: Uvh5WriteData): void {
  const w = Uvh5Writer.create(file, header);
  try {
    w.writeBlts(0, data.vis, data.flags, data.nsamples);
    w.commit();
  } catch (e) {
    w.abort();
    throw e;
  }
}
