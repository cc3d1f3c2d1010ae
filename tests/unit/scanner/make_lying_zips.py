#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Builds zips whose headers lie, for test_hostile.c, under argv[1].

  lie-size.jar   entry lib/zeros.jar: 32 MiB of zeros, deflated, with both
                 the local header and the central directory declaring an
                 uncompressed size of 1000 bytes
  lie-csize.jar  the same entry with honest uncompressed sizes but a
                 compressed size declared equal to them (ratio 1 on paper),
                 so only the bytes actually consumed show the ratio
  corrupt.jar    entry META-INF/MANIFEST.MF whose deflate data is damaged
Made at test time with zipfile, then patched in place; nothing checked in.
"""
import os
import struct
import sys
import zipfile

MIB = 1 << 20


def build(path, name, data):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED,
                         compresslevel=9) as z:
        z.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data,
                   compress_type=zipfile.ZIP_DEFLATED)
    with open(path, "rb") as f:
        return bytearray(f.read())


def headers(buf):
    """Offsets of the one local header and the one central record."""
    local = buf.index(b"PK\x03\x04")
    central = buf.rindex(b"PK\x01\x02")
    return local, central


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    zeros = bytes(32 * MIB)

    buf = build(os.path.join(out, "lie-size.jar"), "lib/zeros.jar", zeros)
    local, central = headers(buf)
    struct.pack_into("<I", buf, local + 22, 1000)
    struct.pack_into("<I", buf, central + 24, 1000)
    with open(os.path.join(out, "lie-size.jar"), "wb") as f:
        f.write(buf)

    buf = build(os.path.join(out, "lie-csize.jar"), "lib/zeros.jar", zeros)
    local, central = headers(buf)
    # the deflate stream ends where it ends: a larger compressed size on
    # paper only lets the reader run on into the central directory
    struct.pack_into("<I", buf, local + 18, len(zeros))
    struct.pack_into("<I", buf, central + 20, len(zeros))
    with open(os.path.join(out, "lie-csize.jar"), "wb") as f:
        f.write(buf)

    text = b"Manifest-Version: 1.0\n" + b"Implementation-Title: x\n" * 400
    buf = build(os.path.join(out, "corrupt.jar"), "META-INF/MANIFEST.MF",
                text)
    local, _ = headers(buf)
    data = local + 30 + struct.unpack_from("<H", buf, local + 26)[0] + \
        struct.unpack_from("<H", buf, local + 28)[0]
    for i in range(data + 2, data + 12):
        buf[i] ^= 0xA5
    with open(os.path.join(out, "corrupt.jar"), "wb") as f:
        f.write(buf)


if __name__ == "__main__":
    main()
