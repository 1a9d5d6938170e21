"""Per-method colour ids: MSEC's djb2 over the method name (spec §1.6, vectors V7)."""


def color_id(name: str) -> int:
    """djb2 with a 32-bit unsigned accumulator, adding each byte as a *signed* char.

    Bytes ≥ 0x80 are added as negative values, as the original C++ did, so names
    with non-ASCII characters get the same id on every MSEC peer.
    """
    h = 5381
    for b in name.encode("utf-8"):
        c = b - 256 if b >= 0x80 else b
        h = (h * 33 + c) & 0xFFFFFFFF
    return h
