#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Generates the scanner benchmark corpus (deterministic for a given seed).

usage: gen_corpus.py OUT_DIR [SCALE] [FIXTURES_DIR]

OUT_DIR/tree      a directory snapshot: jars (plain, shaded, nested in WARs
                  and Spring Boot jars, the log4j fixture jars when given),
                  text with planted secrets and PII, binaries, package
                  databases (dpkg, Python, npm)
OUT_DIR/sigs      ClamAV signatures: sigs.hdb (MD5) and sigs.hsb (SHA256)
                  for some binaries of the tree
OUT_DIR/image.tar a docker-save image of two layers made from part of it
OUT_DIR/disk.img  an ext4 image (mke2fs -d) of another part
SCALE multiplies the file counts (default 1: about 400 MB).
"""
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import zipfile

WORDS = ("the quick brown fox jumps over lazy dog lorem ipsum dolor sit amet "
         "consectetur adipiscing elit sed do eiusmod tempor incididunt ut "
         "labore et dolore magna aliqua service request response handler "
         "config value timeout retry cluster node").split()


def text_blob(rng, size):
    out, n = [], 0
    while n < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14)))
        out.append(line)
        n += len(line) + 1
    return out


def luhn_card(rng):
    digits = [4] + [rng.randint(0, 9) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        d2 = d * 2 if i % 2 == 0 else d
        total += d2 - 9 if d2 > 9 else d2
    return "".join(map(str, digits + [(10 - total % 10) % 10]))


def planted(rng):
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    mixed = alnum + "abcdefghijklmnopqrstuvwxyz"
    return rng.choice([
        "aws_access_key_id=AKIA" + "".join(rng.choice(alnum) for _ in range(16)),
        "token: ghp_" + "".join(rng.choice(mixed) for _ in range(36)),
        "stripe sk_live_" + "".join(rng.choice(mixed) for _ in range(24)),
        "mail %s.%s@example.com" % (rng.choice(WORDS), rng.choice(WORDS)),
        "card " + luhn_card(rng),
        "ssn %03d-%02d-%04d" % (rng.randint(1, 665), rng.randint(1, 99),
                                rng.randint(1, 9999)),
        "iban DE89370400440532013000",
    ])


def jar_bytes(rng, group, artifact, version, n_classes, nested=()):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("META-INF/MANIFEST.MF",
                   "Manifest-Version: 1.0\nImplementation-Title: %s\n"
                   "Implementation-Version: %s\n" % (artifact, version))
        z.writestr("META-INF/maven/%s/%s/pom.properties" % (group, artifact),
                   "groupId=%s\nartifactId=%s\nversion=%s\n"
                   % (group, artifact, version))
        pkg = group.replace(".", "/") + "/" + artifact.replace("-", "")
        for i in range(n_classes):
            body = bytes([0xCA, 0xFE, 0xBA, 0xBE]) + rng.randbytes(600) + \
                (" ".join(rng.choice(WORDS) for _ in range(150))).encode()
            z.writestr("%s/C%d.class" % (pkg, i), body)
        for name, data in nested:
            z.writestr(name, data, compress_type=zipfile.ZIP_STORED)
    return buf.getvalue()


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def gen_tree(tree, rng, scale, fixtures):
    bins = []
    # jars: plain, then WARs and Spring Boot jars nesting others
    libs = []
    for i in range(int(150 * scale)):
        j = jar_bytes(rng, "com.example.g%d" % (i % 20), "lib%d" % i,
                      "1.%d.%d" % (i % 7, i % 3), rng.randint(20, 80))
        libs.append(("lib%d-1.0.jar" % i, j))
        write(os.path.join(tree, "opt/jars/lib%d.jar" % i), j)
    for i in range(int(20 * scale)):
        nested = [("WEB-INF/lib/" + n, d) for n, d in rng.sample(libs, 6)]
        write(os.path.join(tree, "srv/webapps/app%d.war" % i),
              jar_bytes(rng, "com.example.web", "app%d" % i, "2.0", 30, nested))
        nested = [("BOOT-INF/lib/" + n, d) for n, d in rng.sample(libs, 6)]
        write(os.path.join(tree, "srv/boot/svc%d.jar" % i),
              jar_bytes(rng, "com.example.boot", "svc%d" % i, "3.0", 30, nested))
    if fixtures and os.path.isdir(fixtures):
        for root, _, files in os.walk(fixtures):
            for f in files:
                if f.endswith((".jar", ".war", ".ear", ".zip")):
                    src = os.path.join(root, f)
                    dst = os.path.join(tree, "opt/fixtures",
                                       os.path.relpath(src, fixtures))
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    shutil.copyfile(src, dst)
    # text with planted secrets and PII
    for i in range(int(2500 * scale)):
        lines = text_blob(rng, rng.randint(8, 64) * 1024)
        for _ in range(rng.randint(0, 3)):
            lines.insert(rng.randrange(len(lines)), planted(rng))
        write(os.path.join(tree, "home/user%d/doc%d.txt" % (i % 50, i)),
              ("\n".join(lines) + "\n").encode())
    # binaries: random (incompressible) and a few real ELF files
    for i in range(int(300 * scale)):
        p = os.path.join(tree, "usr/local/bin/blob%d.bin" % i)
        write(p, rng.randbytes(rng.randint(64, 768) * 1024))
        bins.append(p)
    for name in ("ls", "cat", "sha256sum", "tar", "gzip"):
        src = shutil.which(name)
        if src:
            dst = os.path.join(tree, "usr/bin", name)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(src, dst)
    # package databases
    if os.path.exists("/var/lib/dpkg/status"):
        os.makedirs(os.path.join(tree, "var/lib/dpkg"), exist_ok=True)
        shutil.copyfile("/var/lib/dpkg/status",
                        os.path.join(tree, "var/lib/dpkg/status"))
    for i in range(int(200 * scale)):
        write(os.path.join(tree, "usr/lib/python3/dist-packages/p%d-1.%d.dist-info/METADATA" % (i, i)),
              ("Metadata-Version: 2.1\nName: p%d\nVersion: 1.%d\n\n" % (i, i)).encode())
        write(os.path.join(tree, "srv/node/node_modules/m%d/package.json" % i),
              json.dumps({"name": "m%d" % i, "version": "1.0.%d" % i}).encode())
    return bins


def gen_sigs(out, bins, rng):
    os.makedirs(out, exist_ok=True)
    chosen = rng.sample(bins, min(40, len(bins)))
    with open(os.path.join(out, "sigs.hdb"), "w") as hdb, \
            open(os.path.join(out, "sigs.hsb"), "w") as hsb:
        for i, p in enumerate(chosen):
            data = open(p, "rb").read()
            if i % 2:
                hdb.write("%s:%d:Bench.Md5-%d\n" % (hashlib.md5(data).hexdigest(), len(data), i))
            else:
                hsb.write("%s:%d:Bench.Sha256-%d\n" % (hashlib.sha256(data).hexdigest(), len(data), i))
        # signatures that match nothing here, for a realistic set size
        for i in range(5000):
            hdb.write("%s:%d:Bench.Other-%d\n" % (rng.randbytes(16).hex(), rng.randint(1000, 10 ** 7), i))


def gen_image(tree, out):
    """docker-save tar of two layers: /opt and /usr/lib/python3, then /srv."""
    work = out + ".d"
    os.makedirs(work, exist_ok=True)
    layers, diffs = [], []
    for n, parts in enumerate((("opt", "usr/lib/python3"), ("srv",))):
        lt = os.path.join(work, "l%d.tar" % n)
        with tarfile.open(lt, "w") as t:
            for part in parts:
                t.add(os.path.join(tree, part), arcname=part)
        layers.append("l%d/layer.tar" % n)
        diffs.append("sha256:" + hashlib.sha256(open(lt, "rb").read()).hexdigest())
    cfg = json.dumps({"rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
    man = json.dumps([{"Config": "config.json", "RepoTags": ["bench:1"],
                       "Layers": layers}]).encode()
    with tarfile.open(out, "w") as t:
        for n, name in enumerate(layers):
            t.add(os.path.join(work, "l%d.tar" % n), arcname=name)
        for name, data in (("config.json", cfg), ("manifest.json", man)):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    shutil.rmtree(work)


def main():
    out = sys.argv[1]
    scale = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    fixtures = sys.argv[3] if len(sys.argv) > 3 else None
    rng = random.Random(20261203)
    tree = os.path.join(out, "tree")
    if os.path.exists(out):
        shutil.rmtree(out)
    bins = gen_tree(tree, rng, scale, fixtures)
    gen_sigs(os.path.join(out, "sigs"), bins, rng)
    gen_image(tree, os.path.join(out, "image.tar"))
    subprocess.run(["mke2fs", "-q", "-t", "ext4", "-d",
                    os.path.join(tree, "srv"), os.path.join(out, "disk.img"),
                    "256M"], check=True)


if __name__ == "__main__":
    main()
