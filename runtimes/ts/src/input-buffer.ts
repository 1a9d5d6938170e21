/**
 * Bytes received but not yet parsed, kept in one owned buffer that grows by
 * doubling. A peer that sends a request in 1-byte TCP segments makes one
 * chunk object per byte; holding those chunks (or views on them) costs about
 * a hundred bytes of heap per byte received. Copying each chunk into one
 * buffer keeps the memory of an incomplete request within twice the bytes
 * received, whatever the segmentation.
 */

const EMPTY = Buffer.alloc(0);
/** Smallest capacity allocated, so the first few 1-byte chunks do not each reallocate. */
const MIN_CAPACITY = 64;

export class InputBuffer {
  private store: Buffer = EMPTY;
  private start = 0;
  private end = 0;

  /** Bytes held. */
  get length(): number {
    return this.end - this.start;
  }

  /** The bytes held, as a view valid until the next `append`, `consume` or `clear`. */
  view(): Buffer {
    return this.store.subarray(this.start, this.end);
  }

  /**
   * Appends a copy of `chunk`. `limit`, when given, caps the capacity growth
   * (e.g. the announced length of the message being assembled), so a peer
   * that announces a large message but sends little gets a small buffer.
   */
  append(chunk: Uint8Array, limit = Infinity): void {
    const need = this.length + chunk.length;
    if (this.end + chunk.length > this.store.length) {
      if (need <= this.store.length && this.start >= this.store.length / 2) {
        // Enough room once the consumed front is dropped.
        this.store.copyWithin(0, this.start, this.end);
      } else {
        const capacity = Math.max(need, Math.min(Math.max(MIN_CAPACITY, this.store.length * 2), limit));
        const grown = Buffer.allocUnsafe(capacity);
        this.store.copy(grown, 0, this.start, this.end);
        this.store = grown;
      }
      this.end -= this.start;
      this.start = 0;
    }
    this.store.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** Drops the first `n` bytes. */
  consume(n: number): void {
    this.start += n;
    if (this.start >= this.end) this.clear();
  }

  /**
   * Takes the bytes held as a buffer of their own and empties this one: the
   * caller may keep views on the result (e.g. a frame handed to a call)
   * while this buffer is reused.
   */
  take(): Buffer {
    const bytes = this.store.subarray(this.start, this.end);
    this.store = EMPTY;
    this.start = 0;
    this.end = 0;
    return bytes;
  }

  /** Forgets everything and releases the memory. */
  clear(): void {
    this.store = EMPTY;
    this.start = 0;
    this.end = 0;
  }
}
