#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Builds the hostile container images of test_hostile_images.c under argv[1].

  null-layer.tar   docker save whose manifest lists null and a number among
                   its layers, and a number among the config's diff ids; the
                   one string layer holds pypi package "kept" 1.0
  huge-size.tar    manifest.json, then a member whose base-256 size is near
                   2^64 (the checksum is right, so only the size is wrong)
  bad-sum.tar      manifest.json, then a header with a wrong checksum
  docker.tar.gz    `docker save | gzip`: one layer holding pypi "zipped" 2.0
  replaced.tar     two layers: the upper one puts a regular file where the
                   lower had directory usr/lib/py (package "under-file") and
                   a symlink where it had opt/app (npm "under-link"); the
                   lower layer's "kept" 1.0 stays
Everything is made here, at test time; nothing is checked in.
"""
import gzip
import io
import json
import os
import sys
import tarfile


def add_bytes(tar, name, data, kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def layer(entries):
    """A layer tar from (name, data|None, kind, link) tuples."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data, kind, link in entries:
            add_bytes(t, name, data or b"", kind, link)
    return buf.getvalue()


def metadata(name, version):
    return ("Name: %s\nVersion: %s\n" % (name, version)).encode()


def npm(name, version):
    return json.dumps({"name": name, "version": version}).encode()


def docker_save(layers, manifest_layers, diff_ids):
    """A docker-save tar: layers as <i>/layer.tar, then config, manifest."""
    buf = io.BytesIO()
    config = json.dumps({"rootfs": {"type": "layers",
                                    "diff_ids": diff_ids}}).encode()
    manifest = json.dumps([{"Config": "config.json",
                            "RepoTags": ["hostile:1"],
                            "Layers": manifest_layers}]).encode()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for i, data in enumerate(layers):
            add_bytes(t, "l%d/layer.tar" % i, data)
        add_bytes(t, "config.json", config)
        add_bytes(t, "manifest.json", manifest)
    return buf.getvalue()


def checksum(hdr):
    return sum(hdr[:148]) + 8 * 32 + sum(hdr[156:])


def raw_header(name, size_field, good_sum=True):
    """A 512-byte ustar header with a 12-byte raw size field."""
    hdr = bytearray(512)
    hdr[0:len(name)] = name.encode()
    hdr[100:108] = b"0000644\0"
    hdr[108:116] = b"0000000\0"
    hdr[116:124] = b"0000000\0"
    hdr[124:136] = size_field
    hdr[136:148] = b"00000000000\0"
    hdr[156] = ord("0")
    hdr[257:263] = b"ustar\0"
    hdr[263:265] = b"00"
    s = checksum(hdr) + (0 if good_sum else 1)
    hdr[148:156] = b"%06o\0 " % s
    return bytes(hdr)


def manifest_first(tail):
    """A tar holding manifest.json, then the raw bytes <tail>."""
    buf = io.BytesIO()
    man = json.dumps([{"Config": "config.json", "Layers": []}]).encode()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        add_bytes(t, "manifest.json", man)
    data = buf.getvalue().rstrip(b"\0")
    data += b"\0" * (-len(data) % 512)
    return data + tail + b"\0" * 1024


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    REG, DIR, SYM = tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE

    kept = layer([("usr/lib/py/kept-1.0.dist-info/METADATA",
                   metadata("kept", "1.0"), REG, "")])
    with open(os.path.join(out, "null-layer.tar"), "wb") as f:
        f.write(docker_save([kept], [None, 7, "l0/layer.tar"],
                            [7, None, "sha256:" + "ab" * 32]))

    # 0x80 marks base-256; the value fills the other 11 bytes
    huge = bytes([0x80]) + b"\xff" * 11
    with open(os.path.join(out, "huge-size.tar"), "wb") as f:
        f.write(manifest_first(raw_header("big.bin", huge) + b"x" * 512))
    with open(os.path.join(out, "bad-sum.tar"), "wb") as f:
        f.write(manifest_first(raw_header("bad.bin", b"00000001000\0",
                                          good_sum=False) + b"y" * 512))

    zipped = layer([("usr/lib/py/zipped-2.0.dist-info/METADATA",
                     metadata("zipped", "2.0"), REG, "")])
    with open(os.path.join(out, "docker.tar.gz"), "wb") as f:
        f.write(gzip.compress(docker_save([zipped], ["l0/layer.tar"],
                                          ["sha256:" + "cd" * 32]),
                              mtime=0))

    lower = layer([
        ("usr/lib/py/", None, DIR, ""),
        ("usr/lib/py/under-file-1.0.dist-info/METADATA",
         metadata("under-file", "1.0"), REG, ""),
        ("opt/app/node_modules/under-link/package.json",
         npm("under-link", "1.0"), REG, ""),
        ("srv/py/kept-1.0.dist-info/METADATA", metadata("kept", "1.0"),
         REG, ""),
    ])
    upper = layer([
        ("usr/lib/py", b"a file where a directory was\n", REG, ""),
        ("opt/app", None, SYM, "/srv"),
    ])
    with open(os.path.join(out, "replaced.tar"), "wb") as f:
        f.write(docker_save([lower, upper], ["l0/layer.tar", "l1/layer.tar"],
                            ["sha256:" + "01" * 32, "sha256:" + "02" * 32]))


if __name__ == "__main__":
    main()
