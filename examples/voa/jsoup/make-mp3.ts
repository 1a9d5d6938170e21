/**
 * Writes the example's fixture MP3 files (committed; rerun only to change
 * them): each is an ID3v2.3 tag carrying the title, then a run of silent
 * MPEG-1 Layer III frames — 32 kbit/s, 44.1 kHz, mono, no CRC. A frame of
 * silence is its 4-byte header followed by zeros: all-zero side information
 * means no main data (part2_3_length 0), which decoders play as silence.
 *
 *     node --import tsx examples/voa/jsoup/make-mp3.ts
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** Sync word, MPEG-1, Layer III, no CRC | 32 kbit/s, 44.1 kHz, no padding | mono. */
const FRAME_HEADER = [0xff, 0xfb, 0x10, 0xc0];
/** floor(144 × 32000 / 44100): bytes in one frame at this bitrate and sample rate. */
const FRAME_BYTES = 104;
/** Samples per MPEG-1 Layer III frame, for the duration in the catalogue's comment. */
export const SAMPLES_PER_FRAME = 1152;

/** One ID3v2.3 text frame (ISO-8859-1). */
function id3TextFrame(id: string, text: string): Buffer {
  const body = Buffer.concat([Buffer.from([0]), Buffer.from(text, "latin1")]);
  const head = Buffer.alloc(10);
  head.write(id, 0, "latin1");
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

/** An ID3v2.3 tag with the title (TIT2) and artist (TPE1). */
function id3Tag(title: string): Buffer {
  const frames = Buffer.concat([id3TextFrame("TIT2", title), id3TextFrame("TPE1", "msec-gen VOA example")]);
  const size = frames.length;
  // The tag size is "syncsafe": 7 bits per byte.
  const header = Buffer.from([0x49, 0x44, 0x33, 3, 0, 0, (size >> 21) & 0x7f, (size >> 14) & 0x7f, (size >> 7) & 0x7f, size & 0x7f]);
  return Buffer.concat([header, frames]);
}

/** `frames` silent frames after the tag. */
export function silentMp3(title: string, frames: number): Buffer {
  const frame = Buffer.alloc(FRAME_BYTES);
  frame.set(FRAME_HEADER, 0);
  return Buffer.concat([id3Tag(title), ...Array.from({ length: frames }, () => frame)]);
}

interface Entry {
  title: string;
  file: string;
  frames: number;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const catalogue = JSON.parse(readFileSync(path.join(HERE, "catalogue.json"), "utf8")) as Record<string, Entry[]>;
  for (const entries of Object.values(catalogue)) {
    for (const entry of entries) {
      const bytes = silentMp3(entry.title, entry.frames);
      writeFileSync(path.join(HERE, "mp3", entry.file), bytes);
      console.log(`${entry.file}: ${bytes.length} bytes, ${((entry.frames * SAMPLES_PER_FRAME) / 44100).toFixed(2)} s`);
    }
  }
}
