/**
 * Colour ids (spec §1.6): MSEC's `gen_colorid`, a djb2 hash of the method
 * name, and the default flow id derived from it.
 */

const utf8 = new TextEncoder();

/**
 * djb2 over the UTF-8 bytes of `method`: start 5381, `h = h*33 + c` in an
 * unsigned 32-bit accumulator, where `c` is the byte as a *signed* char (C's
 * `char` on x86), so bytes ≥ 0x80 add negative values. Zero-extended to 64 bits.
 */
export function colorId(method: string): bigint {
  let h = 5381;
  for (let i = 0; i < method.length; i++) {
    const unit = method.charCodeAt(i);
    if (unit < 0x80) {
      h = (Math.imul(h, 33) + unit) >>> 0;
    } else {
      // Non-ASCII: hash the UTF-8 bytes of the rest of the string.
      for (const byte of utf8.encode(method.slice(i))) {
        h = (Math.imul(h, 33) + (byte << 24 >> 24)) >>> 0;
      }
      break;
    }
  }
  return BigInt(h);
}

/** Default flow id of a request that starts a call chain: `color_id XOR sequence` (spec §1.6). */
export function defaultFlowId(method: string, sequence: bigint): bigint {
  return colorId(method) ^ sequence;
}
