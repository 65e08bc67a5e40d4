/**
 * Complex FFTs on interleaved [re, im] Float32Arrays, backed by PFFFT compiled to WASM
 * (SIMD build when the runtime supports it). PFFFT needs complex lengths that factor as
 * 2^a·3^b·5^c and are multiples of 16; `goodFftSize` picks such a length.
 *
 * Conventions: forward = Σ x_k e^{-2πi jk/N}, inverse = Σ X_j e^{+2πi jk/N}, both unscaled.
 */
import type { PffftModule } from '@echogarden/pffft-wasm/simd';
import { DsaError } from '../util/errors.js';

let modulePromise: Promise<PffftModule> | undefined;
let mod: PffftModule | undefined;

/** Load the WASM module once per thread. Must be awaited before any transform is made. */
export async function initFft(): Promise<void> {
  if (mod) return;
  modulePromise ??= (async () => {
    try {
      const m = await import('@echogarden/pffft-wasm/simd');
      return await m.default();
    } catch {
      // Runtimes without WASM SIMD: the scalar build has the same API.
      const m = await import('@echogarden/pffft-wasm');
      return await m.default();
    }
  })();
  mod = await modulePromise;
}

function getModule(): PffftModule {
  if (!mod) throw new DsaError('FFT module not initialised: await initFft() first');
  return mod;
}

/** True if n = 2^a·3^b·5^c. */
function is235(n: number): boolean {
  for (const p of [2, 3, 5]) while (n % p === 0) n /= p;
  return n === 1;
}

/** Smallest length ≥ n that PFFFT handles as a complex transform (2^a·3^b·5^c, multiple of 16). */
export function goodFftSize(n: number): number {
  let m = Math.max(16, Math.ceil(n / 16) * 16);
  while (!is235(m)) m += 16;
  return m;
}

/** A 1-D complex FFT of fixed length n with its own WASM buffers (not thread-shared). */
export class Fft1d {
  readonly n: number;
  private setup: number;
  private inPtr: number;
  private outPtr: number;
  private workPtr: number;

  constructor(n: number) {
    if (n % 16 !== 0 || !is235(n)) throw new DsaError(`FFT length ${n} is not a multiple of 16 of the form 2^a·3^b·5^c`);
    const m = getModule();
    this.n = n;
    this.setup = m._pffft_new_setup(n, 1);
    if (!this.setup) throw new DsaError(`PFFFT refused length ${n}`);
    this.inPtr = m._pffft_aligned_malloc(8 * n);
    this.outPtr = m._pffft_aligned_malloc(8 * n);
    this.workPtr = m._pffft_aligned_malloc(8 * n);
    if (!this.inPtr || !this.outPtr || !this.workPtr) throw new DsaError(`out of WASM memory for FFT of length ${n}`);
  }

  /**
   * input(), zeroed once per layout: callers that always write the same index range (and rely on
   * zeros elsewhere) pass a tag naming that layout; PFFFT never writes its input buffer, so the
   * zeros persist across runs and a full fill per transform is saved.
   */
  inputZeroedFor(tag: string): Float32Array {
    const a = this.input();
    if (this.zeroTag !== tag) { a.fill(0); this.zeroTag = tag; }
    return a;
  }
  private zeroTag: string | undefined;

  /** The WASM input buffer (n complex); fill it, call run(), read output(). Re-fetch after allocations. */
  input(): Float32Array {
    this.refresh();
    return this.inView;
  }
  output(): Float32Array {
    this.refresh();
    return this.outView;
  }
  private heapBuf: ArrayBufferLike | undefined;
  private inView: Float32Array = new Float32Array(0);
  private outView: Float32Array = new Float32Array(0);
  /** Views die when WASM memory grows; rebuild them only then. */
  private refresh(): void {
    const heap = getModule().HEAPF32;
    if (heap.buffer === this.heapBuf && this.inView.length) return;
    this.heapBuf = heap.buffer;
    this.inView = heap.subarray(this.inPtr >> 2, (this.inPtr >> 2) + 2 * this.n);
    this.outView = heap.subarray(this.outPtr >> 2, (this.outPtr >> 2) + 2 * this.n);
  }
  /** Transform input() → output(); sign −1 forward, +1 inverse. */
  run(sign: -1 | 1): void {
    getModule()._pffft_transform_ordered(this.setup, this.inPtr, this.outPtr, this.workPtr, sign < 0 ? 0 : 1);
  }

  /** In-place transform of n complex values of `data` starting at complex index `offset`. */
  transform(data: Float32Array, offset: number, sign: -1 | 1): void {
    this.zeroTag = undefined;
    const heap = getModule().HEAPF32;
    const o2 = 2 * offset;
    heap.set(data.subarray(o2, o2 + 2 * this.n), this.inPtr >> 2);
    this.run(sign);
    data.set(heap.subarray(this.outPtr >> 2, (this.outPtr >> 2) + 2 * this.n), o2);
  }

  dispose(): void {
    const m = getModule();
    m._pffft_destroy_setup(this.setup);
    m._pffft_aligned_free(this.inPtr);
    m._pffft_aligned_free(this.outPtr);
    m._pffft_aligned_free(this.workPtr);
    this.setup = this.inPtr = this.outPtr = this.workPtr = 0;
  }
}

/**
 * In-place 2-D complex FFT of an ny×nx row-major interleaved array (x fastest).
 * Columns are gathered in blocks so that memory is read in cache-line-sized runs.
 */
export function fft2d(data: Float32Array, nx: number, ny: number, sign: -1 | 1): void {
  if (data.length !== 2 * nx * ny) throw new DsaError(`fft2d: array length ${data.length} ≠ 2·${nx}·${ny}`);
  const fx = new Fft1d(nx);
  for (let y = 0; y < ny; y++) fx.transform(data, y * nx, sign);
  fx.dispose();
  const fy = nx === ny ? new Fft1d(ny) : new Fft1d(ny);
  const B = 8;
  const block = new Float32Array(2 * ny * B);
  for (let x0 = 0; x0 < nx; x0 += B) {
    const nb = Math.min(B, nx - x0);
    for (let y = 0; y < ny; y++) {
      const src = 2 * (y * nx + x0);
      for (let b = 0; b < nb; b++) {
        block[2 * (b * ny + y)] = data[src + 2 * b];
        block[2 * (b * ny + y) + 1] = data[src + 2 * b + 1];
      }
    }
    for (let b = 0; b < nb; b++) fy.transform(block, b * ny, sign);
    for (let y = 0; y < ny; y++) {
      const dst = 2 * (y * nx + x0);
      for (let b = 0; b < nb; b++) {
        data[dst + 2 * b] = block[2 * (b * ny + y)];
        data[dst + 2 * b + 1] = block[2 * (b * ny + y) + 1];
      }
    }
  }
  fy.dispose();
}
