/**
 * DSA-110 station coordinates (dsa110-antpos DSA110_Station_Coordinates.csv): 5 preamble lines,
 * a header on line 6, a leading empty column; Station Number `DSA-001`…`DSA-117`, Latitude and
 * Longitude in degrees (WGS84), Elevation in metres (DSA-117's is blank in the survey file and
 * is taken as 1182.6 m, the common pad height, as dsa110-antpos does).
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../util/errors.js';
import { DEG } from './constants.js';
import { packageDataPath } from './data-path.js';
import { geodeticToEcef } from './geodesy.js';

export interface Stations {
  /** Station names as in the file, e.g. "DSA-001". */
  names: string[];
  /** Station numbers (1 for DSA-001 …). */
  numbers: Int32Array;
  latRad: Float64Array;
  lonRad: Float64Array;
  heightM: Float64Array;
  /** ITRF/ECEF positions, metres, [x, y, z] per station (length 3N). */
  ecef: Float64Array;
}

/** Elevation used when the survey leaves it blank (DSA-117). */
export const DEFAULT_STATION_ELEVATION_M = 1182.6;

/** Path of the station file: `DSA110_ANTENNAS_CSV` if set, else the package's data/ copy. */
export function defaultStationsPath(): string {
  const env = process.env['DSA110_ANTENNAS_CSV'];
  return env !== undefined && env !== '' ? env : packageDataPath('DSA110_Station_Coordinates.csv');
}

/** Split one CSV line (no quoted commas occur in this file; quotes are stripped if present). */
function splitCsv(line: string): string[] {
  return line.split(',').map((f) => f.trim().replace(/^"(.*)"$/, '$1').trim());
}

/** Parse the station CSV text; `subject` names the file in errors. */
export function parseStations(text: string, subject: string): Stations {
  const lines = text.split(/\r?\n/);
  // Find the header row rather than trusting the line count blindly.
  let headerIdx = -1;
  let cols: string[] = [];
  for (let i = 0; i < Math.min(lines.length, 20); i++) {
    const f = splitCsv(lines[i]!).map((s) => s.toLowerCase());
    if (f.some((s) => s.startsWith('station'))) {
      headerIdx = i;
      cols = f;
      break;
    }
  }
  if (headerIdx < 0) throw new InputError(subject, 'no header row with "Station Number" in the first 20 lines');
  const iName = cols.findIndex((s) => s.startsWith('station'));
  const iLat = cols.findIndex((s) => s.startsWith('latitude'));
  const iLon = cols.findIndex((s) => s.startsWith('longitude'));
  const iEl = cols.findIndex((s) => s.startsWith('elevation'));
  if (iLat < 0 || iLon < 0 || iEl < 0) {
    throw new InputError(subject, `header on line ${headerIdx + 1} lacks Latitude/Longitude/Elevation columns`);
  }
  const names: string[] = [];
  const nums: number[] = [];
  const lat: number[] = [];
  const lon: number[] = [];
  const h: number[] = [];
  for (let i = headerIdx + 1; i < lines.length; i++) {
    const f = splitCsv(lines[i]!);
    if (f.every((s) => s === '')) continue;
    const name = f[iName] ?? '';
    const m = /^DSA-?(\d+)$/i.exec(name);
    if (!m) throw new InputError(`${subject}:${i + 1}`, `bad station name "${name}" (expected DSA-NNN)`);
    const la = Number(f[iLat]);
    const lo = Number(f[iLon]);
    const elText = f[iEl] ?? '';
    const el = elText === '' ? DEFAULT_STATION_ELEVATION_M : Number(elText);
    if (f[iLat] === '' || !Number.isFinite(la) || Math.abs(la) > 90) {
      throw new InputError(`${subject}:${i + 1}`, `bad latitude "${f[iLat] ?? ''}" for ${name}`);
    }
    if (f[iLon] === '' || !Number.isFinite(lo) || Math.abs(lo) > 360) {
      throw new InputError(`${subject}:${i + 1}`, `bad longitude "${f[iLon] ?? ''}" for ${name}`);
    }
    if (!Number.isFinite(el) || Math.abs(el) > 10000) {
      throw new InputError(`${subject}:${i + 1}`, `bad elevation "${elText}" for ${name}`);
    }
    const num = Number(m[1]);
    if (nums.includes(num)) throw new InputError(`${subject}:${i + 1}`, `duplicate station ${name}`);
    names.push(name);
    nums.push(num);
    lat.push(la * DEG);
    lon.push(lo * DEG);
    h.push(el);
  }
  if (names.length === 0) throw new InputError(subject, 'no stations after the header');
  const n = names.length;
  const ecef = new Float64Array(3 * n);
  for (let k = 0; k < n; k++) {
    const [x, y, z] = geodeticToEcef(lat[k]!, lon[k]!, h[k]!);
    ecef[3 * k] = x;
    ecef[3 * k + 1] = y;
    ecef[3 * k + 2] = z;
  }
  return {
    names,
    numbers: Int32Array.from(nums),
    latRad: Float64Array.from(lat),
    lonRad: Float64Array.from(lon),
    heightM: Float64Array.from(h),
    ecef,
  };
}

/** Load the DSA-110 stations (default: the package copy; env DSA110_ANTENNAS_CSV overrides). */
export function loadStations(csvPath?: string): Stations {
  const p = csvPath ?? defaultStationsPath();
  let text: string;
  try {
    text = readFileSync(p, 'utf8');
  } catch (e) {
    throw new InputError(p, `cannot read the station coordinate file (${(e as NodeJS.ErrnoException).code ?? String(e)})`, e);
  }
  return parseStations(text, p);
}

/**
 * ECEF positions (3·k) of the given station numbers (e.g. the 96 antennas in a file), in order.
 * Throws naming the first unknown station.
 */
export function stationEcef(stations: Stations, numbers: ArrayLike<number>): Float64Array {
  const out = new Float64Array(3 * numbers.length);
  for (let k = 0; k < numbers.length; k++) {
    const idx = stations.numbers.indexOf(numbers[k]!);
    if (idx < 0) throw new RangeError(`no station DSA-${String(numbers[k]).padStart(3, '0')} in the station table`);
    out[3 * k] = stations.ecef[3 * idx]!;
    out[3 * k + 1] = stations.ecef[3 * idx + 1]!;
    out[3 * k + 2] = stations.ecef[3 * idx + 2]!;
  }
  return out;
}
