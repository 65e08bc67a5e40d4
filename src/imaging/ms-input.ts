/**
 * Stokes-I visibilities of a measurement set for the imager: I = (XX + YY)/2 from the chosen data
 * column, cross-correlations only, flags and weights honoured, an optional uv-range cut.
 */
import type { MsTable } from '../io/ms.js';
import { DsaError, InputError } from '../util/errors.js';
import type { VisInput } from './types.js';

export type DataColumn = 'DATA' | 'CORRECTED_DATA' | 'MODEL_DATA';

export interface MsInputOptions {
  column: DataColumn;
  /** Projected baseline range √(u²+v²) in metres; rows outside get weight 0. */
  uvMinM?: number;
  uvMaxM?: number;
}

export interface MsInputStats {
  rows: number;
  /** Fraction of (row, channel) samples with weight > 0. */
  usable: number;
}

/** Column to image: CORRECTED_DATA when present and non-zero, else DATA. */
export async function chooseDataColumn(ms: MsTable, requested?: DataColumn): Promise<DataColumn> {
  if (requested) {
    if (!ms.has(requested)) throw new InputError(ms.path, `no ${requested} column`);
    return requested;
  }
  if (ms.has('CORRECTED_DATA')) {
    const d = await ms.readTime('CORRECTED_DATA', Math.floor(ms.meta.nTimes / 2));
    for (let i = 0; i < d.length; i++) if (d[i] !== 0 && Number.isFinite(d[i]!)) return 'CORRECTED_DATA';
  }
  if (!ms.has('DATA')) throw new InputError(ms.path, 'no DATA column');
  return 'DATA';
}

function polIndex(corr: Int32Array, codes: number[]): number {
  for (const c of codes) {
    const i = Array.prototype.indexOf.call(corr, c) as number;
    if (i >= 0) return i;
  }
  return -1;
}

export async function msStokesI(ms: MsTable, o: MsInputOptions): Promise<{ input: VisInput; stats: MsInputStats }> {
  const m = ms.meta;
  if (m.nChan === 0) throw new InputError(ms.path, 'empty spectral window (no channels)');
  // XX/YY (9/12) or RR/LL (5/8); a single parallel-hand polarisation is imaged as it is.
  let p1 = polIndex(m.corrType, [9, 5, 1]);
  let p2 = polIndex(m.corrType, [12, 8]);
  if (p1 < 0 && p2 < 0) throw new InputError(ms.path, `no parallel-hand polarisations to form Stokes I (CORR_TYPE ${[...m.corrType]})`);
  if (p1 < 0) p1 = p2;
  if (p2 < 0) p2 = p1;
  const cross: number[] = [];
  for (let b = 0; b < m.nBaselines; b++) if (m.ant1[b] !== m.ant2[b]) cross.push(b);
  if (!cross.length) throw new InputError(ms.path, 'no cross-correlation baselines');
  const nRow = cross.length * m.nTimes;
  const nChan = m.nChan, nPol = m.nPol;
  const vis = new Float32Array(2 * nRow * nChan);
  const weight = new Float32Array(nRow * nChan);
  const uvw = new Float64Array(3 * nRow);
  const uvMin2 = (o.uvMinM ?? 0) ** 2, uvMax2 = (o.uvMaxM ?? Infinity) ** 2;
  let usable = 0;
  let dBuf: Float32Array | undefined, fBuf: Uint8Array | undefined, wBuf: Float32Array | undefined, uBuf: Float64Array | undefined;
  const hasW = ms.has('WEIGHT_SPECTRUM');
  for (let t = 0; t < m.nTimes; t++) {
    dBuf = await ms.readTime(o.column, t, dBuf);
    fBuf = await ms.readTime('FLAG', t, fBuf);
    if (hasW) wBuf = await ms.readTime('WEIGHT_SPECTRUM', t, wBuf);
    uBuf = await ms.readTime('UVW', t, uBuf);
    for (let k = 0; k < cross.length; k++) {
      const b = cross[k]!;
      const r = t * cross.length + k;
      const u = uBuf[3 * b]!, v = uBuf[3 * b + 1]!;
      uvw[3 * r] = u; uvw[3 * r + 1] = v; uvw[3 * r + 2] = uBuf[3 * b + 2]!;
      const inUv = u * u + v * v >= uvMin2 && u * u + v * v <= uvMax2;
      const base = b * nChan * nPol;
      for (let c = 0; c < nChan; c++) {
        const i1 = base + c * nPol + p1, i2 = base + c * nPol + p2;
        const ok1 = fBuf[i1] === 0 && Number.isFinite(dBuf[2 * i1]!) && Number.isFinite(dBuf[2 * i1 + 1]!);
        const ok2 = fBuf[i2] === 0 && Number.isFinite(dBuf[2 * i2]!) && Number.isFinite(dBuf[2 * i2 + 1]!);
        const w1 = ok1 ? (hasW ? wBuf![i1]! : 1) : 0;
        const w2 = ok2 ? (hasW ? wBuf![i2]! : 1) : 0;
        const o2 = r * nChan + c;
        if (!inUv || (w1 <= 0 && w2 <= 0)) { weight[o2] = 0; continue; }
        if (w1 > 0 && w2 > 0) {
          vis[2 * o2] = 0.5 * (dBuf[2 * i1]! + dBuf[2 * i2]!);
          vis[2 * o2 + 1] = 0.5 * (dBuf[2 * i1 + 1]! + dBuf[2 * i2 + 1]!);
          // var(I) = (σ₁² + σ₂²)/4 → w = 4/(1/w₁ + 1/w₂)
          weight[o2] = 4 / (1 / w1 + 1 / w2);
        } else {
          const i = w1 > 0 ? i1 : i2;
          vis[2 * o2] = dBuf[2 * i]!;
          vis[2 * o2 + 1] = dBuf[2 * i + 1]!;
          weight[o2] = w1 > 0 ? w1 : w2;
        }
        usable++;
      }
    }
  }
  if (usable === 0) throw new DsaError(`all data are flagged (or outside the uv range) in ${o.column}`, { subject: ms.path });
  return { input: { nRow, nChan, uvw, freq: m.freq, vis, weight }, stats: { rows: nRow, usable: usable / (nRow * nChan) } };
}
