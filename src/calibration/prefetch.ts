/**
 * Double buffering for streamed passes: chunk k is computed into buffer set k mod 2; when a
 * consumer takes chunk k, chunk k+1 starts computing into the other set, so reading and
 * computing the next chunk overlap with writing this one. The caller guarantees that when it
 * asks for chunk k, it is done with chunk k−1's set... which is the set chunk k+1 will use.
 * One chunk computes at a time, in order.
 */
export class ChunkPrefetcher {
  private pending = new Map<number, Promise<void>>();

  constructor(private readonly nChunks: number, private readonly compute: (k: number, set: 0 | 1) => Promise<void>) {}

  private start(k: number): Promise<void> {
    let p = this.pending.get(k);
    if (!p) {
      // Strictly after chunk k−1 (one compute at a time, sums accumulate in order).
      const prev = this.pending.get(k - 1) ?? Promise.resolve();
      p = prev.then(() => this.compute(k, (k % 2) as 0 | 1));
      p.catch(() => undefined); // surfaced by get(); avoid an unhandled rejection meanwhile
      this.pending.set(k, p);
    }
    return p;
  }

  /** Wait for chunk k (computing it if needed), start k+1, and return k's buffer set. */
  async get(k: number): Promise<0 | 1> {
    const p = this.start(k);
    this.pending.delete(k - 1);
    await p;
    if (k + 1 < this.nChunks) this.start(k + 1);
    return (k % 2) as 0 | 1;
  }
}
