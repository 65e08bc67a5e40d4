/**
 * Deterministic pseudo-random numbers for the simulator: sfc32 seeded through splitmix32, with
 * independent named streams so that e.g. changing the noise level does not change the gains.
 */

function splitmix32(x: number): () => number {
  let s = x >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

export class Rng {
  /** sfc32 state a, b, c, d kept in an Int32Array: class fields holding uint32 values would be boxed as heap numbers (100x slower). */
  private st = new Int32Array(4);
  private spare = NaN;

  /** A stream determined by (seed, name). */
  constructor(seed: number, name = '') {
    const sm = splitmix32((seed >>> 0) ^ hashString(name));
    for (let i = 0; i < 4; i++) this.st[i] = sm();
    for (let i = 0; i < 12; i++) this.i32();
  }

  /** Next 32 random bits as a signed int32. */
  i32(): number {
    const s = this.st;
    const a = s[0];
    const b = s[1];
    const c = s[2];
    const d = s[3];
    const t = (((a + b) | 0) + d) | 0;
    s[3] = (d + 1) | 0;
    s[0] = b ^ (b >>> 9);
    s[1] = (c + (c << 3)) | 0;
    s[2] = (((c << 21) | (c >>> 11)) + t) | 0;
    return t;
  }

  u32(): number {
    return this.i32() >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.u32() / 4294967296;
  }

  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  int(lo: number, hiExclusive: number): number {
    return lo + Math.floor(this.uniform() * (hiExclusive - lo));
  }

  /** Standard normal (Marsaglia polar method, pairs cached). */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const s = this.spare;
      this.spare = NaN;
      return s;
    }
    let u: number;
    let v: number;
    let q: number;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      q = u * u + v * v;
    } while (q >= 1 || q === 0);
    const f = Math.sqrt((-2 * Math.log(q)) / q);
    this.spare = v * f;
    return u * f;
  }

  /**
   * Standard normal by the Marsaglia–Tsang (2000) ziggurat: ~99 % of draws cost one 32-bit
   * random number and a table lookup (the polar method made noise the simulator's bottleneck).
   */
  zigNormal(): number {
    const hz = this.i32();
    const iz = hz & 127;
    if (Math.abs(hz) < ZIG.kn[iz]) return hz * ZIG.wn[iz];
    return this.zigFix(hz, iz);
  }

  private zigFix(hz0: number, iz0: number): number {
    const r = 3.442619855899;
    let hz = hz0;
    let iz = iz0;
    for (;;) {
      const x = hz * ZIG.wn[iz];
      if (iz === 0) {
        let xx: number;
        let y: number;
        do {
          xx = -Math.log(1 - this.uniform()) / r;
          y = -Math.log(1 - this.uniform());
        } while (y + y < xx * xx);
        return hz > 0 ? r + xx : -r - xx;
      }
      if (ZIG.fn[iz] + this.uniform() * (ZIG.fn[iz - 1] - ZIG.fn[iz]) < Math.exp(-0.5 * x * x)) return x;
      hz = this.i32();
      iz = hz & 127;
      if (Math.abs(hz) < ZIG.kn[iz]) return hz * ZIG.wn[iz];
    }
  }

  /** Fill `out[start..end)` with N(0, sigma²) values (ziggurat). */
  fillNormal(out: Float32Array | Float64Array, sigma: number, start = 0, end = out.length): void {
    const kn = ZIG.kn;
    const wn = ZIG.wn;
    for (let i = start; i < end; i++) {
      const hz = this.i32();
      const iz = hz & 127;
      out[i] = sigma * (Math.abs(hz) < kn[iz] ? hz * wn[iz] : this.zigFix(hz, iz));
    }
  }
}

/** Ziggurat tables (Marsaglia & Tsang 2000, 128 layers, 32-bit). */
const ZIG = (() => {
  const kn = new Float64Array(128);
  const wn = new Float64Array(128);
  const fn = new Float64Array(128);
  const m1 = 2147483648.0;
  let dn = 3.442619855899;
  let tn = dn;
  const vn = 9.91256303526217e-3;
  const q = vn / Math.exp(-0.5 * dn * dn);
  kn[0] = (dn / q) * m1;
  kn[1] = 0;
  wn[0] = q / m1;
  wn[127] = dn / m1;
  fn[0] = 1.0;
  fn[127] = Math.exp(-0.5 * dn * dn);
  for (let i = 126; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(vn / dn + Math.exp(-0.5 * dn * dn)));
    kn[i + 1] = (dn / tn) * m1;
    tn = dn;
    fn[i] = Math.exp(-0.5 * dn * dn);
    wn[i] = dn / m1;
  }
  return { kn, wn, fn };
})();
