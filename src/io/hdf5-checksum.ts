/** The checksum of HDF5 version-2 metadata blocks (used by the writer and by the layout parser). */

/** Jenkins lookup3 hashlittle(), the checksum of HDF5 v2 metadata (H5_checksum_lookup3). */
export function lookup3(k: Uint8Array, initval = 0): number {
  let length = k.length;
  let a = (0xdeadbeef + length + initval) >>> 0;
  let b = a;
  let c = a;
  const rot = (x: number, s: number): number => ((x << s) | (x >>> (32 - s))) >>> 0;
  let o = 0;
  while (length > 12) {
    a = (a + (k[o] | (k[o + 1] << 8) | (k[o + 2] << 16) | (k[o + 3] << 24))) >>> 0;
    b = (b + (k[o + 4] | (k[o + 5] << 8) | (k[o + 6] << 16) | (k[o + 7] << 24))) >>> 0;
    c = (c + (k[o + 8] | (k[o + 9] << 8) | (k[o + 10] << 16) | (k[o + 11] << 24))) >>> 0;
    // mix
    a = (a - c) >>> 0; a = (a ^ rot(c, 4)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rot(a, 6)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rot(b, 8)) >>> 0; b = (b + a) >>> 0;
    a = (a - c) >>> 0; a = (a ^ rot(c, 16)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rot(a, 19)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rot(b, 4)) >>> 0; b = (b + a) >>> 0;
    length -= 12;
    o += 12;
  }
  // tail: up to 12 remaining bytes, added byte-wise into a, b, c (hashlittle's byte path)
  if (length === 0) return c;
  for (let t = length - 1; t >= 0; t--) {
    const v = (k[o + t] << (8 * (t % 4))) >>> 0;
    if (t >= 8) c = (c + v) >>> 0;
    else if (t >= 4) b = (b + v) >>> 0;
    else a = (a + v) >>> 0;
  }
  // final
  c = (c ^ b) >>> 0; c = (c - rot(b, 14)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rot(c, 11)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rot(a, 25)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rot(b, 16)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rot(c, 4)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rot(a, 14)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rot(b, 24)) >>> 0;
  return c;
}
