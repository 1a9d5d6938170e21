/**
 * Small byte arrays for encoded frames and heads, carved from shared 64 KiB
 * slabs. Making a view on a slab costs a fraction of `Buffer.allocUnsafe`
 * (which does the same with 8 KiB pools), and the encoder makes one per
 * frame. Like Node's pool, a slab stays alive while any array carved from it
 * does; arrays above `SLAB_ALLOC_MAX_BYTES` get memory of their own.
 */

/** Size of one slab. */
export const SLAB_BYTES = 64 * 1024;
/** Largest array carved from a slab. */
export const SLAB_ALLOC_MAX_BYTES = 4 * 1024;

let slab = new ArrayBuffer(SLAB_BYTES);
let used = 0;

/** A `Uint8Array` of `size` bytes with unspecified contents (the caller overwrites all of it). */
export function allocBytes(size: number): Uint8Array {
  if (size > SLAB_ALLOC_MAX_BYTES) return Buffer.allocUnsafe(size); // no zero-fill: it is all overwritten
  if (used + size > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  const bytes = new Uint8Array(slab, used, size);
  used = (used + size + 7) & ~7; // keep 8-byte alignment
  return bytes;
}
