#!/usr/bin/env python3
"""Prints the advance widths that Sources/ModelTree/Output/TextMetrics.swift estimates text with.

The pictures ask for "DejaVu Sans, Verdana, sans-serif": DejaVu Sans is what Debian (and the
browser test) renders with, and Verdana, its usual stand-in elsewhere, is about as wide, so boxes
sized from these widths hold their text. Reads the font's `cmap` (format 4) and `hmtx` tables with
the standard library only:

    python3 tools/font_widths.py /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf \
                                 /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf
"""
import struct
import sys


def tables(data):
    count = struct.unpack_from(">H", data, 4)[0]
    out = {}
    for i in range(count):
        tag, _, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        out[tag.decode()] = (offset, length)
    return out


def advances(path):
    """{code point: advance in em} for the font's BMP characters (cmap format 4)."""
    data = open(path, "rb").read()
    t = tables(data)
    units = struct.unpack_from(">H", data, t["head"][0] + 18)[0]
    metrics = struct.unpack_from(">H", data, t["hhea"][0] + 34)[0]
    hmtx = t["hmtx"][0]
    widths = [struct.unpack_from(">H", data, hmtx + 4 * g)[0] for g in range(metrics)]
    cmap = t["cmap"][0]
    subtables = struct.unpack_from(">H", data, cmap + 2)[0]
    for i in range(subtables):
        platform, encoding, offset = struct.unpack_from(">HHI", data, cmap + 4 + 8 * i)
        if (platform, encoding) in ((3, 1), (0, 3)) and struct.unpack_from(">H", data, cmap + offset)[0] == 4:
            sub = cmap + offset
            break
    else:
        raise SystemExit(f"{path}: no format-4 Unicode cmap")
    segs = struct.unpack_from(">H", data, sub + 6)[0] // 2
    ends = struct.unpack_from(f">{segs}H", data, sub + 14)
    starts = struct.unpack_from(f">{segs}H", data, sub + 16 + 2 * segs)
    deltas = struct.unpack_from(f">{segs}h", data, sub + 16 + 4 * segs)
    range_base = sub + 16 + 6 * segs
    offsets = struct.unpack_from(f">{segs}H", data, range_base)
    out = {}
    for s in range(segs):
        for c in range(starts[s], ends[s] + 1):
            if c == 0xFFFF:
                continue
            if offsets[s] == 0:
                glyph = (c + deltas[s]) & 0xFFFF
            else:
                at = range_base + 2 * s + offsets[s] + 2 * (c - starts[s])
                glyph = struct.unpack_from(">H", data, at)[0]
                if glyph:
                    glyph = (glyph + deltas[s]) & 0xFFFF
            if glyph:
                out[c] = widths[min(glyph, metrics - 1)] / units
    return out


def main():
    for path in sys.argv[1:]:
        w = advances(path)
        ascii_row = [round(w[c] * 1000) for c in range(0x20, 0x7F)]
        others = [v for c, v in w.items() if c >= 0xA0 and not 0x2000 <= c < 0x3000]
        print(path)
        print("  ASCII 0x20...0x7E (1/1000 em):", ", ".join(map(str, ascii_row)))
        print(f"  widest other non-wide character: {max(others):.3f} em; mean {sum(others) / len(others):.3f} em over {len(others)}")


if __name__ == "__main__":
    main()
