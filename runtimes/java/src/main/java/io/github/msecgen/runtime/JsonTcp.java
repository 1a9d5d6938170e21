package io.github.msecgen.runtime;

import java.nio.charset.StandardCharsets;

/**
 * The length-prefixed JSON protocol of MSEC's heterogeneous example services (spec §5.5,
 * the seed's Jsoup service): a 10-character, left-justified, space-padded ASCII decimal
 * byte length (Python's {@code "%-10d"}), then that many bytes of UTF-8 JSON. Same framing
 * both ways. The JSON itself stays text: parse it with the JSON library of your choice.
 */
public final class JsonTcp {
    private JsonTcp() {}

    /** Width of the length prefix. */
    public static final int PREFIX_BYTES = 10;

    /** Frames JSON text: {@code "%-10d%s" % (len(json), json)} with the length in UTF-8 bytes. */
    public static byte[] encode(String json) {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        String prefix = String.format("%-" + PREFIX_BYTES + "d", body.length);
        if (prefix.length() != PREFIX_BYTES) throw new IllegalArgumentException("JSON of " + body.length + " bytes does not fit a 10-digit length");
        byte[] out = new byte[PREFIX_BYTES + body.length];
        System.arraycopy(prefix.getBytes(StandardCharsets.US_ASCII), 0, out, 0, PREFIX_BYTES);
        System.arraycopy(body, 0, out, PREFIX_BYTES, body.length);
        return out;
    }

    /**
     * Completeness of a length-prefixed message in {@code buf[0, length)} (a {@link ReplyCheck}):
     * 0 while the prefix or body is incomplete, the total length once whole, -1 when the prefix
     * is not digits followed by spaces only.
     */
    public static int check(byte[] buf, int length) {
        if (length < PREFIX_BYTES) return 0;
        long size = 0;
        int i = 0;
        while (i < PREFIX_BYTES && buf[i] >= '0' && buf[i] <= '9') size = size * 10 + (buf[i++] - '0');
        if (i == 0) return -1;
        while (i < PREFIX_BYTES && buf[i] == ' ') i++;
        if (i != PREFIX_BYTES || size > Integer.MAX_VALUE - PREFIX_BYTES) return -1;
        int total = PREFIX_BYTES + (int) size;
        return length >= total ? total : 0;
    }

    /** The JSON text of one complete message (as {@link #check} measured it). */
    public static String decode(byte[] message) {
        return new String(message, PREFIX_BYTES, message.length - PREFIX_BYTES, StandardCharsets.UTF_8);
    }
}
