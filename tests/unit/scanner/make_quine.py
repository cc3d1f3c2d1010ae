#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes a zip that holds itself: one entry, r.zip, whose deflated bytes
inflate to the whole file, for the scanner's recursive-archive test.

The deflate stream is a quine built from two kinds of 5-byte operations:
Lit(n), a stored block whose n bytes follow it, and Rep(n), a
fixed-Huffman block copying the last n bytes out (padded to 40 bits with
an empty fixed block, or made of two copies of n/2).  The zip's local
header (60 bytes, padded with an extra field) precedes the stream and the
central directory with its end record (73 bytes) follows it; the stream
prints header, itself and trailer.  The CRC-32 of the file is written in
the file: CRC-32 is affine over GF(2), so the value that is its own CRC is
found by solving 32 linear equations.

Usage: make_quine.py OUT
"""
import struct
import sys
import zlib

NAME = b"r.zip"
HEAD = 60                        # local header + name + extra
TAIL = 46 + len(NAME) + 22       # central directory entry + end record

# deflate length and distance codes: base values and extra bits
LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35,
            43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
LEN_EXTRA = [0] * 8 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4 + [0]
DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193]
DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]


class Bits:
    """Bits in deflate order: values LSB first, Huffman codes MSB first."""

    def __init__(self):
        self.bits = []

    def value(self, v, n):
        self.bits += [(v >> i) & 1 for i in range(n)]

    def code(self, c, n):
        self.bits += [(c >> i) & 1 for i in range(n - 1, -1, -1)]

    def symbol(self, v):
        """A literal/length symbol in the fixed Huffman code."""
        if v < 144:
            self.code(0x30 + v, 8)
        elif v < 256:
            self.code(0x190 + v - 144, 9)
        elif v < 280:
            self.code(v - 256, 7)
        else:
            self.code(0xC0 + v - 280, 8)

    def block_end(self):
        self.symbol(256)

    def tobytes(self):
        b = self.bits + [0] * (-len(self.bits) % 8)
        return bytes(sum(b[i + j] << j for j in range(8))
                     for i in range(0, len(b), 8))


def lit(n, final=0):
    """A stored block header for the n bytes that follow it."""
    return bytes([final, n & 255, n >> 8, ~n & 255, (~n >> 8) & 255])


def rep(n, parts, empties, final=0):
    """A fixed block copying n bytes from n back, as copies of <parts>
    lengths, then <empties> empty fixed blocks to reach a byte edge."""
    w = Bits()
    w.value(final, 1)
    w.value(1, 2)
    for length in parts:
        i = max(k for k in range(len(LEN_BASE)) if LEN_BASE[k] <= length)
        w.symbol(257 + i)
        w.value(length - LEN_BASE[i], LEN_EXTRA[i])
        j = max(k for k in range(len(DIST_BASE)) if DIST_BASE[k] <= n)
        w.code(j, 5)
        w.value(n - DIST_BASE[j], DIST_EXTRA[j])
    w.block_end()
    for _ in range(empties):
        w.value(0, 1)
        w.value(1, 2)
        w.block_end()
    if not final and len(w.bits) % 8:
        sys.exit("rep(%d) does not end on a byte" % n)
    return w.tobytes()


def stream(head, tail):
    """The deflate stream that inflates to head + itself + tail."""
    x = lit(HEAD + 5)
    r1 = rep(HEAD + 5, [HEAD + 5], 1)      # 65: one copy, one empty block
    z = lit(5)
    w = lit(20)
    r4 = rep(20, [10, 10], 0)              # two copies fill 40 bits
    rs = rep(TAIL + 4, [TAIL + 4], 0, final=1)
    t = lit(TAIL + len(rs))
    if len(r1) != 5 or len(r4) != 5 or len(rs) != 4:
        sys.exit("operation sizes are off")
    ops = [x, head, x, r1, z, r1, z, z, w, r1, z, z, w, r4,
           w, r4, w, r4, w, r4,
           w, r4, w, z, t, r4, w, z, t, z, t, z, t, t, rs, tail, rs]
    return b"".join(ops)


def build(crc, fill):
    qlen = len(stream(bytes(HEAD), bytes(TAIL)))
    total = HEAD + qlen + TAIL
    ext = HEAD - 30 - len(NAME)
    extra = struct.pack("<HH", 0x7071, ext - 4) + bytes([fill]) * (ext - 4)
    head = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc,
                       qlen, total, len(NAME), len(extra)) + NAME + extra
    tail = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0,
                       0x21, crc, qlen, total, len(NAME), 0, 0, 0, 0, 0,
                       0) + NAME
    tail += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1,
                        46 + len(NAME), HEAD + qlen, 0)
    return head + stream(head, tail) + tail


def own_crc(fill):
    """The CRC value c with crc32(build(c)) == c, or None."""
    base = zlib.crc32(build(0, fill))
    # crc32(build(c)) = base ^ sum of c's bits times their effect, so
    # c = that is sum over bits i of c_i * (effect_i ^ (1 << i)) = base
    cols = [zlib.crc32(build(1 << i, fill)) ^ base ^ (1 << i)
            for i in range(32)]
    rows = []
    for b in range(32):
        mask = sum(1 << i for i in range(32) if (cols[i] >> b) & 1)
        rows.append([mask, (base >> b) & 1])
    pivots = []
    r = 0
    for col in range(32):
        k = next((j for j in range(r, 32) if (rows[j][0] >> col) & 1), None)
        if k is None:
            continue
        rows[r], rows[k] = rows[k], rows[r]
        for j in range(32):
            if j != r and (rows[j][0] >> col) & 1:
                rows[j][0] ^= rows[r][0]
                rows[j][1] ^= rows[r][1]
        pivots.append(col)
        r += 1
    if any(rows[j][1] for j in range(r, 32)):
        return None
    return sum(1 << col for j, col in enumerate(pivots) if rows[j][1])


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_quine.py OUT")
    for fill in range(256):
        crc = own_crc(fill)
        if crc is not None and zlib.crc32(build(crc, fill)) == crc:
            data = build(crc, fill)
            break
    else:
        sys.exit("no CRC-32 fixed point found")
    if zlib.decompressobj(-15).decompress(data[HEAD:-TAIL]) != data:
        sys.exit("the stream does not inflate to the file")
    with open(sys.argv[1], "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
