#!/usr/bin/env bash
# Builds the seed corpora fuzz/corpus/<target>/ from the spec's test vectors
# (spec/vectors/{frames,malformed,conversations}.json) plus a few frames of
# the example session of spec section 19, so the corpora are never empty.
# A vector file that is missing or not (yet) valid JSON is skipped with a
# warning. Seeds are named by their SHA-1, as libFuzzer names its own, so
# running this again adds nothing twice.
#
# Usage: fuzz/seed-corpus.sh [VECTORS_DIR]   (default: spec/vectors)
set -euo pipefail

fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
vectors_dir="${1:-$fuzz_dir/../spec/vectors}"

exec python3 - "$vectors_dir" "$fuzz_dir/corpus" <<'PY'
import hashlib
import json
import pathlib
import re
import struct
import sys

vectors_dir = pathlib.Path(sys.argv[1])
corpus_dir = pathlib.Path(sys.argv[2])


def warn(message):
    print(f"seed-corpus: {message}", file=sys.stderr)


def unhex(text, where):
    """Bytes of a hex string; spaces, underscores and a 0x prefix are allowed."""
    if not isinstance(text, str):
        warn(f"{where}: hex is not a string, skipped")
        return None
    cleaned = re.sub(r"[\s_]", "", text)
    if cleaned[:2].lower() == "0x":
        cleaned = cleaned[2:]
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        warn(f"{where}: not hex, skipped")
        return None


def load(name):
    path = vectors_dir / name
    if not path.is_file():
        warn(f"{path} not found, skipped")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        warn(f"{path} is not valid JSON ({err}), skipped")
        return None


def walk(node):
    """Every dict in a JSON tree, whatever the file's top-level shape."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def hex_entries(name):
    """(bytes, entry) for every object with a "hex" key."""
    doc = load(name)
    if doc is None:
        return []
    found = []
    for i, entry in enumerate(d for d in walk(doc) if "hex" in d):
        data = unhex(entry["hex"], f"{name} entry {i}")
        if data is not None:
            found.append((data, entry))
    print(f"seed-corpus: {name}: {len(found)} vectors")
    return found


def conversations():
    """(client stream, login_attempts) of every conversation."""
    doc = load("conversations.json")
    if doc is None:
        return []
    found = []
    for i, conv in enumerate(d for d in walk(doc) if isinstance(d.get("steps"), list)):
        stream = b""
        for j, step in enumerate(conv["steps"]):
            client = step.get("client") if isinstance(step, dict) else None
            if client is None:
                continue
            parts = client if isinstance(client, list) else [client]
            for part in parts:
                data = unhex(part, f"conversations.json conversation {i} step {j}")
                if data is not None:
                    stream += data
        server = conv.get("server") if isinstance(conv.get("server"), dict) else {}
        attempts = server.get("login_attempts", 3)
        if stream:
            found.append((stream, attempts if isinstance(attempts, int) else 3))
    print(f"seed-corpus: conversations.json: {len(found)} client streams")
    return found


def frame(code, body_hex):
    body = bytes.fromhex(body_hex.replace(" ", ""))
    return bytes([code]) + struct.pack(">I", len(body)) + body


# The example session of spec section 19, with lengths computed here.
HELLO = frame(0x10, "434F4E464142 0001 00 06 636F6E666162")
LOGIN = frame(0x11, "00 05 616C696365 00")
SEND = frame(0x15, "00000001 05 6C6F626279 0002 6869")
GOODBYE = frame(0x03, "0000 0000")
BUILTIN_CLIENT = [HELLO, LOGIN, SEND, frame(0x01, "0000000000000007"), GOODBYE]
BUILTIN_SERVER = [
    frame(0x81, "05 616C696365 00 0000019ABB4D8B0A"),
    frame(0x86, "05 6C6F626279 0000000000000008 00000002"),
    frame(0x8B, "00 05 6C6F626279 0000 00"),
    frame(
        0x83,
        "000000000000002A 0000000000000008 0000019ABB4D8B0A 00"
        " 05 6C6F626279 05 616C696365 0002 6869",
    ),
    frame(0x84, "00000001 000000000000002A 0000000000000008 0000019ABB4D8B0A"),
    frame(0xA0, "0102"),
]

frames = [data for data, _ in hex_entries("frames.json")] + BUILTIN_CLIENT + BUILTIN_SERVER
malformed = hex_entries("malformed.json")
convs = conversations() + [(b"".join(BUILTIN_CLIENT), 3)]
streams = [stream for stream, _ in convs]

written = {}


def seed(target, data):
    directory = corpus_dir / target
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / hashlib.sha1(data).hexdigest()
    if not path.exists():
        path.write_bytes(data)
        written[target] = written.get(target, 0) + 1


# codec: [max_frame selector, chunking mode] + stream (fuzz_targets/codec.rs).
# Selector 1 is 65,536 (the default), 0 is 4,096, 2 is 16 MiB, 9 is 1 byte.
# Chunking 0 is one read, 1 is a byte per read, 3 is reads of random sizes.
for data in frames + streams:
    for config in (b"\x01\x00", b"\x00\x01", b"\x02\x03", b"\x09\x00"):
        seed("codec", config + data)
for data, entry in malformed:
    # A vector that names its own max_frame is seeded with the matching selector.
    selector = {4096: 0, 65536: 1, 16 * 1024 * 1024: 2}.get(entry.get("max_frame", 65536), 1)
    for chunking in (0, 1, 3):
        seed("codec", bytes([selector, chunking]) + data)
seed("codec", b"\x01\x03" + b"".join(frames))

# handshake: [chunking mode, config] + the client's stream
# (fuzz_targets/handshake.rs). Config bits 0-1 are login_attempts - 1 (the
# harness allows 1..=4); 0 leaves max_frame at 65,536 and the versions at 1..=1.
login = HELLO + LOGIN
for stream, attempts in convs:
    config = min(max(attempts, 1), 4) - 1
    for chunking in (0, 1, 3):
        seed("handshake", bytes([chunking, config]) + stream)
for data in frames:
    seed("handshake", b"\x00\x02" + login + data)
for data, _ in malformed:
    seed("handshake", b"\x00\x02" + data)
    seed("handshake", b"\x00\x02" + login + data)
seed("handshake", b"\x00\x00" + HELLO + frame(0x11, "00 03 626F62 00") + LOGIN + SEND)

# roundtrip builds frames with `arbitrary`; raw vectors still give it varied
# starting points.
for data in frames + [data for data, _ in malformed] + streams:
    seed("roundtrip", data)

for target in ("codec", "handshake", "roundtrip"):
    total = len(list((corpus_dir / target).iterdir()))
    print(f"seed-corpus: {target}: {written.get(target, 0)} new seeds, {total} in corpus/{target}")
PY
