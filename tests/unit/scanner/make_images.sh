#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the snapshot fixtures of test_snapshot.c under $1:
#   docker.tar  docker-save archive of two layers (second layer whites out
#               and replaces files of the first)
#   oci/        the same layers as an OCI image layout, gzip-compressed
#   disk.img    an ext4 image made with mke2fs -d (no mounting), with
#               symlinks inside, escaping and looping
#   digests     "docker1 docker2 oci1 oci2" layer digests, one line
set -eu
W=$1
mkdir -p "$W/l1" "$W/l2" "$W/root"
meta() { mkdir -p "$(dirname "$1")"; printf 'Name: %s\nVersion: %s\n' "$2" "$3" > "$1"; }
npm() { mkdir -p "$(dirname "$1")"; printf '{"name":"%s","version":"%s"}' "$2" "$3" > "$1"; }

meta "$W/l1/usr/lib/py/a-1.0.dist-info/METADATA" a 1.0
meta "$W/l1/usr/lib/py/b-1.0.dist-info/METADATA" b 1.0
npm "$W/l1/node/node_modules/c/package.json" c 1.0
npm "$W/l1/opt/d/node_modules/d/package.json" d 1.0
ln -s /etc/passwd "$W/l1/usr/lib/py/escape"
mkdir -p "$W/l2/usr/lib/py"
: > "$W/l2/usr/lib/py/.wh.b-1.0.dist-info"
mkdir -p "$W/l2/opt/d"
: > "$W/l2/opt/d/.wh..wh..opq"
npm "$W/l2/opt/d/node_modules/e/package.json" e 2.0
npm "$W/l2/node/node_modules/c/package.json" c 2.0

# docker save (old layout: <id>/layer.tar, diff ids in the config)
mkdir -p "$W/d/l1" "$W/d/l2"
tar -C "$W/l1" -cf "$W/d/l1/layer.tar" .
tar -C "$W/l2" -cf "$W/d/l2/layer.tar" .
D1=sha256:$(sha256sum "$W/d/l1/layer.tar" | cut -d' ' -f1)
D2=sha256:$(sha256sum "$W/d/l2/layer.tar" | cut -d' ' -f1)
printf '{"rootfs":{"type":"layers","diff_ids":["%s","%s"]}}' "$D1" "$D2" > "$W/d/config.json"
printf '[{"Config":"config.json","RepoTags":["t:1"],"Layers":["l1/layer.tar","l2/layer.tar"]}]' > "$W/d/manifest.json"
tar -C "$W/d" -cf "$W/docker.tar" l1/layer.tar l2/layer.tar config.json manifest.json

# OCI layout
mkdir -p "$W/oci/blobs/sha256"
blob() { h=$(sha256sum "$1" | cut -d' ' -f1); cp "$1" "$W/oci/blobs/sha256/$h"; echo "$h"; }
gzip -n -c "$W/d/l1/layer.tar" > "$W/l1.tgz"
gzip -n -c "$W/d/l2/layer.tar" > "$W/l2.tgz"
O1=$(blob "$W/l1.tgz")
O2=$(blob "$W/l2.tgz")
C=$(blob "$W/d/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":1},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":1},{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":1}]}' "$C" "$O1" "$O2" > "$W/manifest.json"
M=$(blob "$W/manifest.json")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":1}]}' "$M" > "$W/oci/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' > "$W/oci/oci-layout"

# ext4: a small tree with a symlink out of the image and a fifo
meta "$W/root/usr/lib/py/a-1.0.dist-info/METADATA" a 1.0
npm "$W/root/srv/node_modules/e/package.json" e 2.0
mkdir -p "$W/root/deep/er/still"
meta "$W/root/deep/er/still/z-9.dist-info/METADATA" z 9
ln -s /etc "$W/root/etc-link"
# links: one to a file inside (scanned under its own path), one escaping,
# one looping, one absolute to a file the image lacks (never the host's)
mkdir -p "$W/root/srv/node_modules/f" "$W/root/srv/node_modules/g"
ln -s ../e/package.json "$W/root/srv/node_modules/f/package.json"
ln -s /srv/node_modules/e/package.json "$W/root/srv/node_modules/g/package.json"
ln -s ../../etc/passwd "$W/root/srv/escape"
ln -s loop "$W/root/loop"
ln -s /etc/shadow "$W/root/shadow"
mkfifo "$W/root/fifo"
mke2fs -q -t ext4 -d "$W/root" "$W/disk.img" 8M

echo "$D1 $D2 sha256:$O1 sha256:$O2" > "$W/digests"
