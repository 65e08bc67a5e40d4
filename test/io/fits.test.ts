import { describe, it, expect } from 'vitest';
import * as path from 'node:path';
import * as os from 'node:os';
import { promises as fsp } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  readFits, readFitsBuffer, readFitsHeader, writeFits, encodeFits, listHdus, FitsHeader, makeImageHeader,
  formatFitsFloat, FITS_BLOCK,
} from '../../src/io/fits.js';
import { Wcs, makeSinWcs } from '../../src/astro/wcs.js';
import { InputError } from '../../src/util/errors.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED = process.env.DSA110_SHARED ?? path.resolve(repoRoot, '..', 'shared');
const FITS_DIR = path.join(SHARED, 'data', 'fits');

/** Build a FITS file by hand from raw card strings (independent of FitsHeader.encode). */
function rawFits(cards: string[], data: Buffer, extra: Buffer[] = []): Buffer {
  const text = [...cards, 'END'].map((c) => c.padEnd(80, ' ')).join('');
  const hlen = Math.ceil(text.length / FITS_BLOCK) * FITS_BLOCK;
  const dlen = Math.ceil(data.length / FITS_BLOCK) * FITS_BLOCK;
  const out = Buffer.alloc(hlen + dlen, 0);
  out.fill(0x20, 0, hlen);
  out.write(text, 0, 'latin1');
  data.copy(out, hlen);
  return Buffer.concat([out, ...extra]);
}
const card = (k: string, v: string): string => k.padEnd(8, ' ') + '= ' + v.padStart(20, ' ');

async function tmpDir(): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), 'fits-test-'));
}

describe('reading real FITS files (values from astropy 5.2.1, by hand)', () => {
  it('FIRST cutout: shape, pixel values, sum, header cards', async () => {
    const im = await readFits(path.join(FITS_DIR, 'first_cutout_J105007+304037.fits'));
    expect(im.shape).toEqual([33, 33]);
    expect(im.bitpix).toBe(-32);
    expect(im.data).toBeInstanceOf(Float32Array);
    // astropy: data[0,0] = 0.0001270552456844598; data[5,7] (row 5, column 7) = -0.000249381031608209
    expect(im.data[0]).toBe(Math.fround(0.0001270552456844598));
    expect(im.data[5 * 33 + 7]).toBe(Math.fround(-0.000249381031608209));
    let s = 0;
    for (const v of im.data) s += v;
    expect(s).toBeCloseTo(0.6062558546856138, 12); // np.nansum(float64)
    expect(im.header.getString('BUNIT')).toBe('JY/BEAM');
    expect(im.header.getString('OBJCTRA')).toBe('10 50 07.200');
    expect(im.header.getNumber('CRPIX1')).toBe(-361.737);
    expect(im.header.getNumber('CDELT3')).toBe(2.1875e7);
    expect(im.header.getNumber('BMAJ')).toBe(1.5e-3);
    expect(im.header.history().length).toBe(53); // astropy: len(header['HISTORY']) = 53
    expect(im.header.history()[0]).toBe('AIPS   CLEAN BMAJ=  1.5000E-03 BMIN=  1.5000E-03 BPA=   0.00');
  });
  it('Parkes 1904-66: NaN blanks preserved (14,837 NaN; nansum 635.6082706251914)', async () => {
    const im = await readFits(path.join(FITS_DIR, 'parkes_1904-66_SIN.fits'));
    let s = 0, nan = 0;
    for (const v of im.data) {
      if (Number.isNaN(v)) nan++;
      else s += v;
    }
    expect(nan).toBe(14837);
    expect(s).toBeCloseTo(635.6082706251914, 9);
    expect(im.header.getNumber('LONPOLE')).toBe(180);
    expect(im.header.getNumber('PV2_1')).toBe(0);
  });
  it('MAGPIS: sum 125.15107863468597 and (5,7) = 0.001453932374715805', async () => {
    const im = await readFits(path.join(FITS_DIR, 'magpis_gps20cm_G10.5+0.0.fits'), { as: 'float64' });
    expect(im.data).toBeInstanceOf(Float64Array);
    expect(im.data[5 * 300 + 7]).toBe(Math.fround(0.001453932374715805));
    let s = 0;
    for (const v of im.data) s += v;
    expect(s).toBeCloseTo(125.15107863468597, 9);
    expect(im.header.getString('OBJECT')).toBe('G10.500000+0.000000');
  });
  it('readFitsHeader reads only the header', () => {
    const h = readFitsHeader(path.join(FITS_DIR, 'magpis_gps20cm_G10.5+0.0.fits'));
    expect(h.getString('CTYPE1')).toBe('GLON-SIN');
    expect(h.getNumber('NAXIS2')).toBe(300);
  });
});

describe('integer BITPIX, scaling, BLANK (files built by hand)', () => {
  it('BITPIX 16 with BSCALE/BZERO/BLANK', () => {
    const d = Buffer.alloc(6 * 2);
    [-32768, -1, 0, 1, 32767, -5].forEach((v, i) => d.writeInt16BE(v, i * 2));
    const buf = rawFits([card('SIMPLE', 'T'), card('BITPIX', '16'), card('NAXIS', '2'), card('NAXIS1', '3'), card('NAXIS2', '2'),
      card('BSCALE', '0.5'), card('BZERO', '10.0'), card('BLANK', '-5')], d);
    const im = readFitsBuffer(buf, 'i16');
    expect(Array.from(im.data)).toEqual([-16374, 9.5, 10, 10.5, 16393.5, NaN]);
  });
  it('BITPIX 8 (unsigned), 32, 64, −64 big-endian', () => {
    const b8 = Buffer.from([0, 1, 200, 255]);
    const im8 = readFitsBuffer(rawFits([card('SIMPLE', 'T'), card('BITPIX', '8'), card('NAXIS', '1'), card('NAXIS1', '4')], b8));
    expect(Array.from(im8.data)).toEqual([0, 1, 200, 255]);
    const b32 = Buffer.alloc(12);
    [-2147483648, 123456789, -7].forEach((v, i) => b32.writeInt32BE(v, i * 4));
    const im32 = readFitsBuffer(rawFits([card('SIMPLE', 'T'), card('BITPIX', '32'), card('NAXIS', '1'), card('NAXIS1', '3'), card('BLANK', '-2147483648')], b32));
    expect(im32.data).toBeInstanceOf(Float64Array);
    expect(Array.from(im32.data)).toEqual([NaN, 123456789, -7]);
    const b64 = Buffer.alloc(16);
    b64.writeBigInt64BE(-9007199254740991n, 0);
    b64.writeBigInt64BE(42n, 8);
    const im64 = readFitsBuffer(rawFits([card('SIMPLE', 'T'), card('BITPIX', '64'), card('NAXIS', '1'), card('NAXIS1', '2')], b64));
    expect(Array.from(im64.data)).toEqual([-9007199254740991, 42]);
    const bf = Buffer.alloc(16);
    bf.writeDoubleBE(Math.PI, 0);
    bf.writeDoubleBE(-1e-300, 8);
    const imf = readFitsBuffer(rawFits([card('SIMPLE', 'T'), card('BITPIX', '-64'), card('NAXIS', '1'), card('NAXIS1', '2')], bf));
    expect(Array.from(imf.data)).toEqual([Math.PI, -1e-300]);
  });
  it('4-axis image with degenerate FREQ/STOKES axes keeps NAXIS1-fastest order', () => {
    const d = Buffer.alloc(6 * 4);
    for (let i = 0; i < 6; i++) d.writeFloatBE(i * 1.5, i * 4);
    const im = readFitsBuffer(rawFits([card('SIMPLE', 'T'), card('BITPIX', '-32'), card('NAXIS', '4'), card('NAXIS1', '3'), card('NAXIS2', '2'), card('NAXIS3', '1'), card('NAXIS4', '1')], d));
    expect(im.shape).toEqual([3, 2, 1, 1]);
    expect(im.data[1 * 3 + 2]).toBe(7.5);
  });
  it('lists and reads IMAGE extensions, skipping a BINTABLE', () => {
    const prim = rawFits([card('SIMPLE', 'T'), card('BITPIX', '8'), card('NAXIS', '0'), card('EXTEND', 'T')], Buffer.alloc(0));
    const tbl = rawFits([card('XTENSION', "'BINTABLE'"), card('BITPIX', '8'), card('NAXIS', '2'), card('NAXIS1', '4'), card('NAXIS2', '1000'),
      card('PCOUNT', '100'), card('GCOUNT', '1'), card('TFIELDS', '1'), "TFORM1  = '1J      '"], Buffer.alloc(4100));
    const d = Buffer.alloc(8);
    d.writeFloatBE(2.5, 0);
    d.writeFloatBE(-1, 4);
    const img = rawFits([card('XTENSION', "'IMAGE   '"), card('BITPIX', '-32'), card('NAXIS', '1'), card('NAXIS1', '2'), card('PCOUNT', '0'), card('GCOUNT', '1'), "EXTNAME = 'PB      '"], d);
    const buf = Buffer.concat([prim, tbl, img]);
    const hdus = listHdus(buf, 'ext');
    expect(hdus.map((h) => h.type)).toEqual(['PRIMARY', 'BINTABLE', 'IMAGE']);
    expect(hdus[1].dataBytes).toBe(4100);
    expect(Array.from(readFitsBuffer(buf, 'ext', { hdu: 'pb' }).data)).toEqual([2.5, -1]);
    expect(Array.from(readFitsBuffer(buf, 'ext', { hdu: 2 }).data)).toEqual([2.5, -1]);
    expect(() => readFitsBuffer(buf, 'ext', { hdu: 1 })).toThrow(/BINTABLE extension, not an image/);
    expect(readFitsBuffer(buf, 'ext').shape).toEqual([]);
  });
  it('parses string quotes, logicals, D exponents, comments', () => {
    const buf = rawFits([card('SIMPLE', 'T'), card('BITPIX', '8'), card('NAXIS', '0'),
      "OBSERVER= 'O''Brien  '         / who", "FLAG    =                    F / a flag", "BIG     =            1.5D+03 / D exponent",
      "NOVAL   =                      / undefined value", 'HISTORY   indented history'], Buffer.alloc(0));
    const h = readFitsBuffer(buf).header;
    expect(h.get('OBSERVER')).toBe("O'Brien");
    expect(h.cards.find((c) => c.key === 'OBSERVER')?.comment).toBe('who');
    expect(h.getBool('FLAG')).toBe(false);
    expect(h.getNumber('BIG')).toBe(1500);
    expect(h.has('NOVAL')).toBe(true);
    expect(h.get('NOVAL')).toBeUndefined();
    expect(h.history()).toEqual(['  indented history']);
  });
});

describe('bad input gives InputError naming the file', () => {
  it('non-FITS, short, truncated header, truncated data', async () => {
    expect(() => readFitsBuffer(Buffer.alloc(100), 'a.fits')).toThrow(InputError);
    expect(() => readFitsBuffer(Buffer.alloc(3000, 0x41), 'a.fits')).toThrow(/not a FITS file/);
    const good = await fsp.readFile(path.join(FITS_DIR, 'first_cutout_J105007+304037.fits'));
    expect(() => readFitsBuffer(good.subarray(0, 2880), 'cut.fits')).toThrow(/truncated FITS header/);
    try {
      readFitsBuffer(good.subarray(0, good.length - 2880), 'cut.fits');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).oneLine()).toMatch(/^cut\.fits: truncated FITS file/);
    }
    const dir = await tmpDir();
    await expect(readFits(path.join(dir, 'missing.fits'))).rejects.toThrow(/cannot read: ENOENT/);
    await fsp.writeFile(path.join(dir, 'short.fits'), good.subarray(0, 1000));
    expect(() => readFitsHeader(path.join(dir, 'short.fits'))).toThrow(/not a FITS file/);
    await fsp.rm(dir, { recursive: true });
  });
});

describe('header formatting', () => {
  it('floats: shortest round trip, ≤ 20 chars, upper-case E, decimal point', () => {
    expect(formatFitsFloat(1)).toBe('1.0');
    expect(formatFitsFloat(1.405e9)).toBe('1405000000.0');
    expect(formatFitsFloat(1e-7)).toBe('1.0E-07');
    expect(formatFitsFloat(-2.5e21)).toBe('-2.5E+21');
    expect(formatFitsFloat(-3 / 3600 / 4)).toBe('-0.00020833333333333');
    for (const v of [Math.PI, -1 / 3600, 6.02214076e23, -1.2345678901234567e-100, 202.5]) {
      const s = formatFitsFloat(v);
      expect(s.length).toBeLessThanOrEqual(20);
      expect(Math.abs(Number(s) - v)).toBeLessThanOrEqual(Math.abs(v) * 1e-12);
    }
  });
  it('cards are 80 chars, fixed-format values right-justified to column 30, header padded to 2880', () => {
    const h = new FitsHeader();
    h.set('NAXIS', 2).set('CRVAL1', 202.5).setFloat('CDELT3', 1).set('BUNIT', 'JY/BEAM').set('ok', true, 'logical');
    h.addHistory('a'.repeat(150));
    const enc = h.encode();
    expect(enc.length).toBe(2880);
    const t = enc.toString('latin1');
    expect(t.slice(0, 80)).toBe('NAXIS   =                    2'.padEnd(80));
    expect(t.slice(80, 160)).toBe('CRVAL1  =                202.5'.padEnd(80));
    expect(t.slice(160, 240)).toBe('CDELT3  =                  1.0'.padEnd(80));
    expect(t.slice(240, 320)).toBe("BUNIT   = 'JY/BEAM '".padEnd(80));
    expect(t.slice(320, 400)).toBe('OK      =                    T / logical'.padEnd(80));
    expect(t.slice(400, 480)).toBe('HISTORY ' + 'a'.repeat(72));
    expect(t.slice(560, 640)).toBe('HISTORY ' + 'a'.repeat(6) + ' '.repeat(66));
    expect(t.slice(640, 720)).toBe('END'.padEnd(80));
    expect(() => h.set('TOOLONGKEY', 1)).toThrow(/≤ 8 characters/);
    expect(() => h.set('X', NaN)).toThrow(/not finite/);
  });
});

describe('long strings (CONTINUE convention)', () => {
  it('writes values over 68 characters as CONTINUE cards with LONGSTRN, and reads them back', () => {
    const long = "/data/ms/2025-10-02T00:12:00.ms.zarr with 'quotes' and a path that goes well beyond one card " + 'x'.repeat(80);
    const h = new FitsHeader();
    h.set('MSPATH', long, 'source MS');
    const t = h.encode().toString('latin1');
    const cards = t.match(/.{80}/g) ?? [];
    expect(cards[0]).toBe("LONGSTRN= 'OGIP 1.0'           / long string convention (CONTINUE) is used".padEnd(80));
    expect(cards[1].startsWith("MSPATH  = '/data/ms/")).toBe(true);
    expect(cards[1].endsWith("&'")).toBe(true);
    expect(cards[2].startsWith("CONTINUE  '")).toBe(true);
    // Independent reassembly of the card text: strip quotes/ampersands, unescape ''.
    const pieces = cards.filter((c) => c.startsWith('MSPATH') || c.startsWith('CONTINUE')).map((c) => {
      const m = /'(.*)'/.exec(c.slice(10).split(" / ")[0].trimEnd()) as RegExpExecArray;
      return m[1].replace(/&$/, '');
    });
    expect(pieces.join('').replace(/''/g, "'")).toBe(long);
    const back = readFitsBuffer(Buffer.concat([new FitsHeader([{ key: 'SIMPLE', value: true }, { key: 'BITPIX', value: 8 }, { key: 'NAXIS', value: 0 }, ...h.cards]).encode()]), 'long');
    expect(back.header.get('MSPATH')).toBe(long);
    expect(back.header.cards.find((c) => c.key === 'MSPATH')?.comment).toBe('source MS');
    expect(back.header.has('CONTINUE')).toBe(false);
  });
});

describe('writing images', () => {
  it('writes a 4-axis DSA-110 image that reads back bit-exactly with the right WCS', async () => {
    const nx = 64, ny = 48;
    const wcs = makeSinWcs({ raDeg: 202.5, decDeg: 55, cellDeg: 3 / 3600, nx, ny, freqHz: 1.405e9, bandwidthHz: 187.5e6 });
    const h = makeImageHeader({
      wcs, beam: { bmajDeg: 15 / 3600, bminDeg: 10 / 3600, bpaDeg: 30 }, mjdObs: 60950.5,
      history: ['dsa110 image x.ms.zarr'], keywords: { PIPEVER: '0.1.0', NITER: 1000 }, date: new Date('2026-01-02T03:04:05Z'),
    });
    const data = new Float32Array(nx * ny);
    for (let i = 0; i < data.length; i++) data[i] = Math.sin(i) * 1e-3;
    data[17] = NaN;
    const dir = await tmpDir();
    const f = path.join(dir, 'img.fits');
    await writeFits(f, h, data, [nx, ny, 1, 1]);
    const bytes = await fsp.readFile(f);
    expect(bytes.length % 2880).toBe(0);
    expect(bytes.length).toBe(2880 * 2 + Math.ceil((nx * ny * 4) / 2880) * 2880);
    expect(bytes.subarray(bytes.length - 100).every((b) => b === 0)).toBe(true); // zero data padding
    // Big-endian float at pixel 1 (checked with DataView, independent of the reader).
    expect(bytes.readFloatBE(2880 * 2 + 4)).toBe(data[1]);
    expect(bytes.equals(encodeFits(h, data, [nx, ny, 1, 1]))).toBe(true);
    const im = await readFits(f);
    expect(im.shape).toEqual([nx, ny, 1, 1]);
    expect(Array.from(im.data)).toEqual(Array.from(data));
    const r = im.header;
    expect(r.cards.slice(0, 8).map((c) => c.key)).toEqual(['SIMPLE', 'BITPIX', 'NAXIS', 'NAXIS1', 'NAXIS2', 'NAXIS3', 'NAXIS4', 'EXTEND']);
    expect(r.getString('CTYPE3')).toBe('FREQ');
    expect(r.getString('CTYPE4')).toBe('STOKES');
    expect(r.getString('RADESYS')).toBe('ICRS');
    expect(r.getString('TELESCOP')).toBe('DSA_110');
    expect(r.getString('BUNIT')).toBe('JY/BEAM');
    expect(r.getNumber('BMAJ')).toBe(15 / 3600);
    expect(r.getString('DATE-OBS')).toBe('2025-10-02T12:00:00.000');
    expect(r.getNumber('MJD-OBS')).toBe(60950.5);
    expect(r.getString('DATE')).toBe('2026-01-02T03:04:05.000');
    expect(r.getNumber('NITER')).toBe(1000);
    expect(r.history()).toEqual(['dsa110 image x.ms.zarr']);
    const w = Wcs.fromHeader(r);
    expect(w.params.spectral?.crval).toBe(1.405e9);
    expect(w.params.stokes).toBe(1);
    // astropy on a file written this way: pixel (0,0) of a 256² 3″ SIN at (202.5, 55) is
    // (202.68547452, 54.89319185); here check the 64×48 layout against the builder itself.
    const a = w.pixelToWorldDeg(3, 5), b = wcs.pixelToWorldDeg(3, 5);
    expect(a[0]).toBeCloseTo(b[0], 12);
    expect(a[1]).toBeCloseTo(b[1], 12);
    // No temp files left behind.
    expect(await fsp.readdir(dir)).toEqual(['img.fits']);
    await fsp.rm(dir, { recursive: true });
  });
  it('refuses a shape that does not match the data; a failed write leaves no file', async () => {
    const dir = await tmpDir();
    const f = path.join(dir, 'bad.fits');
    await expect(writeFits(f, new FitsHeader(), new Float32Array(10), [3, 3])).rejects.toThrow(/does not match shape/);
    await expect(writeFits(path.join(dir, 'no/such/dir.fits'), new FitsHeader(), new Float32Array(4), [2, 2])).rejects.toThrow(/cannot write/);
    expect(await fsp.readdir(dir)).toEqual([]);
    await fsp.rm(dir, { recursive: true });
  });
});
