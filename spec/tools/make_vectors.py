#!/usr/bin/env python3
"""Generate the Confab v1 wire-protocol test vectors.

This is an independent implementation of the Confab v1 frame encoder (and, for
self-checking, a decoder and a minimal model of the server's handshake state
machine), written from spec/PROTOCOL.md alone.  Python 3 standard library only.

Usage (from the repository root):

    python3 spec/tools/make_vectors.py           # (re)write spec/vectors/*.json
    python3 spec/tools/make_vectors.py --check   # verify the files are up to date

Every vector is checked before it is written:
  * frames.json      - each hex is decoded by the hand-written decoder below and
                       must give back exactly the "frame" object and consume
                       every byte; re-encoding the object must give the hex.
  * malformed.json   - the decoder must report exactly the listed error (or
                       "incomplete") for the bytes.
  * conversations.json - every step is replayed against the model server below
                       and its output must match the expectations.
The output is deterministic (sorted keys, 2-space indent, ASCII-only JSON).
"""

import argparse
import ipaddress
import json
import os
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC_DIR = os.path.dirname(HERE)
VECTOR_DIR = os.path.join(SPEC_DIR, "vectors")
PROTOCOL_MD = os.path.join(SPEC_DIR, "PROTOCOL.md")

U16_MAX = 0xFFFF
U32_MAX = 0xFFFFFFFF
U64_MAX = (1 << 64) - 1
U53_MAX = (1 << 53) - 1  # largest integer every JSON reader holds exactly
DEFAULT_MAX_FRAME = 65536
MAGIC = b"CONFAB"

# ---------------------------------------------------------------------------
# Section 15: error registry
# ---------------------------------------------------------------------------

ERRORS = {
    "NORMAL": 0,
    "MALFORMED_FRAME": 1,
    "FRAME_TOO_LARGE": 2,
    "INVALID_UTF8": 3,
    "UNKNOWN_FRAME_TYPE": 4,
    "UNEXPECTED_FRAME": 5,
    "NOT_CONFAB": 6,
    "UNSUPPORTED_VERSION": 7,
    "HANDSHAKE_TIMEOUT": 8,
    "TOO_MANY_ATTEMPTS": 9,
    "IDLE_TIMEOUT": 10,
    "NAME_TAKEN": 20,
    "NAME_INVALID": 21,
    "NAME_RESERVED": 22,
    "AUTH_FAILED": 23,
    "ACCOUNT_REQUIRED": 24,
    "ACCOUNT_EXISTS": 25,
    "ACCOUNTS_UNAVAILABLE": 26,
    "TRY_AGAIN_LATER": 27,
    "ACCOUNT_BANNED": 28,
    "PASSWORD_TOO_SHORT": 29,
    "ROOM_INVALID": 30,
    "NO_SUCH_ROOM": 31,
    "NOT_IN_ROOM": 32,
    "TOO_MANY_ROOMS": 33,
    "NO_SUCH_USER": 34,
    "EMPTY_MESSAGE": 35,
    "BODY_TOO_LONG": 36,
    "RATE_LIMITED": 37,
    "STORAGE_FAILURE": 38,
    "NOT_PERMITTED": 39,
    "BANNED": 40,
    "INVITE_ONLY": 41,
    "ROOM_FULL": 42,
    "CANNOT_SPEAK": 43,
    "INVALID_TARGET": 44,
    "TEXT_TOO_LONG": 45,
    "ROOM_LIMIT": 48,
    "RECIPIENT_BUSY": 49,
    "SLOW_CONSUMER": 50,
    "FLOODING": 51,
    "SERVER_FULL": 52,
    "TOO_MANY_CONNECTIONS": 53,
    "SERVER_SHUTDOWN": 54,
    "INTERNAL_ERROR": 55,
    "ADDRESS_BANNED": 56,
    "REMOVED": 57,
    "TAKEN_OVER": 58,
    "NODE_LEAVING": 59,
    "CLUSTER_UNAVAILABLE": 46,
}
FATAL = 1  # ERROR flags bit 0

# ---------------------------------------------------------------------------
# Section 5: frame catalogue, used by the ENCODER only.  (The decoder below is
# written out by hand, frame by frame, so that a slip in this table is caught
# by the round trip.)
# ---------------------------------------------------------------------------

# MOD-12: the fields of MODERATION_EVENT, also those of an AUDIT_ENTRIES entry.
MOD_EVENT_FIELDS = [("id", "u64"), ("time", "u64"), ("action", "u8"), ("room", "str8"),
                    ("actor", "str8"), ("target", "str8"), ("expires", "u64"),
                    ("reason", "str16")]
ROOM_INFO_ENTRY_FIELDS = [("name", "str8"), ("members", "u32"), ("modes", "u8"),
                          ("topic", "str16")]
# Section 21: the values of MODERATE/MODERATION_EVENT "action" and ROOM_INFO "role".
MOD_ACTIONS = {"KICK": 1, "BAN": 2, "UNBAN": 3, "MUTE": 4, "UNMUTE": 5, "INVITE": 6,
               "OP": 7, "DEOP": 8, "VOICE": 9, "DEVOICE": 10, "DISCONNECT": 16,
               "SERVER_BAN": 17, "SERVER_UNBAN": 18, "ANNOUNCE": 19, "SETTINGS": 32}
ROLES = {"none": 0, "voiced": 1, "operator": 2, "founder": 3, "server_operator": 4}
GREETING_MODERATION = 0x10  # GREETING flags bit 4
HELLO_MODERATION = 0x02  # HELLO flags bit 1
MODERATION_CODES = (0x1C, 0x1D, 0x1E, 0x8F, 0x90, 0x91, 0x92)

CATALOGUE = [
    (0x01, "PING", [("nonce", "u64")]),
    (0x02, "PONG", [("nonce", "u64")]),
    (0x03, "GOODBYE", [("reason", "u16"), ("message", "str16")]),
    (0x04, "ERROR", [("code", "u16"), ("flags", "u8"), ("frame_type", "u8"),
                     ("client_ref", "u32"), ("message", "str16")]),
    (0x10, "HELLO", [("magic", "magic"), ("version", "u16"), ("flags", "u8"),
                     ("client", "str8")]),
    (0x11, "LOGIN", [("mode", "u8"), ("username", "str8"), ("password", "str8")]),
    (0x12, "JOIN", [("room", "str8"), ("since_seq", "u64"), ("history", "u16")]),
    (0x13, "LEAVE", [("room", "str8")]),
    (0x14, "LIST_ROOMS", []),
    (0x15, "SEND", [("client_ref", "u32"), ("room", "str8"), ("body", "str16")]),
    (0x16, "DIRECT", [("client_ref", "u32"), ("to", "str8"), ("body", "str16")]),
    (0x17, "WHO", [("room", "str8")]),
    (0x18, "HISTORY", [("kind", "u8"), ("target", "str8"), ("direction", "u8"),
                       ("anchor", "u64"), ("limit", "u16")]),
    # 1.1, ACTION-1: the layouts of SEND and DIRECT, for actions.
    (0x1A, "SEND_ACTION", [("client_ref", "u32"), ("room", "str8"), ("body", "str16")]),
    (0x1B, "DIRECT_ACTION", [("client_ref", "u32"), ("to", "str8"), ("body", "str16")]),
    # 1.2, section 21: moderation, only with GREETING flag MODERATION (MOD-1).
    (0x1C, "MODERATE", [("action", "u8"), ("room", "str8"), ("target", "str8"),
                        ("duration_ms", "u64"), ("reason", "str16")]),
    (0x1D, "ROOM_SETTINGS", [("room", "str8"), ("change", "u8"), ("modes", "u8"),
                             ("member_limit", "u32"), ("topic", "str16")]),
    (0x1E, "AUDIT", [("room", "str8"), ("before", "u64"), ("limit", "u16")]),
    (0x80, "GREETING", [("magic", "magic"), ("min_version", "u16"),
                        ("max_version", "u16"), ("flags", "u8"), ("server", "str8"),
                        ("limits", "limits"), ("default_room", "str8"),
                        ("prompt", "str16")]),
    (0x81, "WELCOME", [("username", "str8"), ("flags", "u8"), ("server_time", "u64")]),
    (0x82, "LOGIN_REJECTED", [("code", "u16"), ("attempts_left", "u8"),
                              ("message", "str16")]),
    (0x83, "MESSAGE", [("id", "u64"), ("seq", "u64"), ("time", "u64"), ("flags", "u8"),
                       ("room", "str8"), ("sender", "str8"), ("body", "str16")]),
    (0x84, "ACK", [("client_ref", "u32"), ("id", "u64"), ("seq", "u64"), ("time", "u64")]),
    (0x85, "DIRECT_MESSAGE", [("id", "u64"), ("time", "u64"), ("flags", "u8"),
                              ("from", "str8"), ("to", "str8"), ("body", "str16")]),
    (0x86, "JOINED", [("room", "str8"), ("next_seq", "u64"), ("members", "u32")]),
    (0x87, "LEFT", [("room", "str8")]),
    (0x88, "ROOM_LIST", [("flags", "u8"), ("rooms", "room_entries")]),
    (0x89, "WHO_LIST", [("flags", "u8"), ("room", "str8"), ("users", "user_entries")]),
    (0x8A, "PRESENCE", [("event", "u8"), ("room", "str8"), ("username", "str8"),
                        ("time", "u64")]),
    (0x8B, "HISTORY_END", [("kind", "u8"), ("target", "str8"), ("count", "u16"),
                           ("flags", "u8")]),
    (0x8C, "MISSED", [("room", "str8"), ("from_seq", "u64"), ("to_seq", "u64")]),
    (0x8D, "NOTICE", [("level", "u8"), ("text", "str16")]),
    # 1.1, LIMITS-1/LIMITS-2: limits added since 1.0, right after the GREETING.
    (0x8E, "LIMITS", [("entries", "limit_entries")]),
    (0x8F, "ROOM_INFO", [("room", "str8"), ("modes", "u8"), ("member_limit", "u32"),
                         ("role", "u8"), ("founder", "str8"), ("changed_by", "str8"),
                         ("topic_by", "str8"), ("topic_at", "u64"), ("topic", "str16")]),
    (0x90, "MODERATION_EVENT", [(f, k) for f, k in MOD_EVENT_FIELDS]),
    (0x91, "AUDIT_ENTRIES", [("flags", "u8"), ("room", "str8"), ("entries", "mod_events")]),
    (0x92, "ROOM_LIST_INFO", [("flags", "u8"), ("rooms", "room_info_entries")]),
]

# LIMITS-2: the registry of limit ids (section 5.1).  Receivers ignore ids
# they do not know.
LIMIT_IDS = {"queue_bytes": 1, "min_password": 2}  # min_password: 1.2, AUTH-3
DEFAULT_QUEUE_BYTES = 2 * 1024 * 1024  # section 16
BY_NAME = {name: (code, fields) for code, name, fields in CATALOGUE}
BY_CODE = {code: name for code, name, _ in CATALOGUE}

LIMIT_FIELDS = [
    ("max_frame", "u32"),
    ("max_username", "u8"),
    ("max_room_name", "u8"),
    ("max_body", "u16"),
    ("max_rooms", "u16"),
    ("msg_rate", "u32"),
    ("msg_burst", "u32"),
    ("byte_rate", "u32"),
    ("byte_burst", "u32"),
    ("queue_depth", "u32"),
    ("ping_interval_ms", "u32"),
    ("ping_timeout_ms", "u32"),
    ("handshake_timeout_ms", "u32"),
    ("login_attempts", "u8"),
    ("history_max", "u16"),
]

# Section 16 defaults.
DEFAULT_LIMITS = {
    "max_frame": 65536,
    "max_username": 32,
    "max_room_name": 64,
    "max_body": 4096,
    "max_rooms": 32,
    "msg_rate": 20,
    "msg_burst": 60,
    "byte_rate": 65536,
    "byte_burst": 262144,
    "queue_depth": 4096,
    "ping_interval_ms": 30000,
    "ping_timeout_ms": 15000,
    "handshake_timeout_ms": 10000,
    "login_attempts": 3,
    "history_max": 200,
}

INT_WIDTH = {"u8": 1, "u16": 2, "u32": 4, "u64": 8}

# ---------------------------------------------------------------------------
# Encoder
# ---------------------------------------------------------------------------


class Enc:
    """Accumulates a body and records the byte range of every primitive piece
    (a string is two pieces: its length prefix and its data)."""

    def __init__(self):
        self.buf = bytearray()
        self.segments = []  # (label, start, end)

    def _put(self, label, data):
        start = len(self.buf)
        self.buf += data
        if data:
            self.segments.append((label, start, len(self.buf)))

    def int(self, label, kind, value):
        width = INT_WIDTH[kind]
        if not isinstance(value, int) or not 0 <= value < (1 << (8 * width)):
            raise ValueError("%s: %r does not fit %s" % (label, value, kind))
        self._put(label, value.to_bytes(width, "big"))

    def string(self, label, kind, value):
        # A bytes value is written raw (used to build invalid UTF-8 vectors).
        data = value if isinstance(value, bytes) else value.encode("utf-8")
        width = 1 if kind == "str8" else 2
        if len(data) >= (1 << (8 * width)):
            raise ValueError("%s: %d bytes do not fit %s" % (label, len(data), kind))
        self._put(label + ".len", len(data).to_bytes(width, "big"))
        self._put(label + ".data", data)

    def raw(self, label, data):
        self._put(label, data)


def encode_field(enc, label, kind, value):
    if kind in INT_WIDTH:
        enc.int(label, kind, value)
    elif kind in ("str8", "str16"):
        enc.string(label, kind, value)
    elif kind == "magic":
        enc.raw(label, MAGIC if value is None else value)
    elif kind == "limits":
        for name, k in LIMIT_FIELDS:
            enc.int("limits." + name, k, value[name])
    elif kind == "room_entries":
        enc.int(label + ".count", "u16", len(value))
        for i, entry in enumerate(value):
            enc.string("%s[%d].name" % (label, i), "str8", entry["name"])
            enc.int("%s[%d].members" % (label, i), "u32", entry["members"])
    elif kind == "limit_entries":
        enc.int(label + ".count", "u16", len(value))
        for i, entry in enumerate(value):
            enc.int("%s[%d].id" % (label, i), "u16", entry["id"])
            enc.int("%s[%d].value" % (label, i), "u64", entry["value"])
    elif kind == "user_entries":
        enc.int(label + ".count", "u16", len(value))
        for i, user in enumerate(value):
            enc.string("%s[%d]" % (label, i), "str8", user)
    elif kind in ("mod_events", "room_info_entries"):
        entry_fields = MOD_EVENT_FIELDS if kind == "mod_events" else ROOM_INFO_ENTRY_FIELDS
        enc.int(label + ".count", "u16", len(value))
        for i, entry in enumerate(value):
            assert set(entry) == {f for f, _ in entry_fields}, entry
            for fname, k in entry_fields:
                encode_field(enc, "%s[%d].%s" % (label, i, fname), k, entry[fname])
    else:
        raise AssertionError(kind)


def encode_body(frame, magic=None):
    """Return (body bytes, segments) for a frame object (the JSON form)."""
    name = frame["type"]
    if name == "UNKNOWN":
        body = bytes.fromhex(frame["body"])
        return body, ([("body", 0, len(body))] if body else [])
    _code, fields = BY_NAME[name]
    expected_keys = {"type"} | {f for f, k in fields if k != "magic"}
    if set(frame) != expected_keys:
        raise ValueError("%s: keys %s != %s" % (name, sorted(frame), sorted(expected_keys)))
    enc = Enc()
    for fname, kind in fields:
        encode_field(enc, fname, kind, magic if kind == "magic" else frame.get(fname))
    return bytes(enc.buf), enc.segments


def frame_code(frame):
    if frame["type"] == "UNKNOWN":
        return frame["frame_type"]
    return BY_NAME[frame["type"]][0]


def header(code, length):
    return bytes([code]) + length.to_bytes(4, "big")


def encode_frame(frame, magic=None):
    body, _ = encode_body(frame, magic)
    return header(frame_code(frame), len(body)) + body


# ---------------------------------------------------------------------------
# Decoder (hand-written per frame type; shares nothing with the encoder table)
# ---------------------------------------------------------------------------


class DecodeError(Exception):
    def __init__(self, name):
        Exception.__init__(self, name)
        self.name = name


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if n > len(self.data) - self.pos:
            raise DecodeError("MALFORMED_FRAME")  # TYPES-2, FRAMING-3
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return int.from_bytes(self.take(2), "big")

    def u32(self):
        return int.from_bytes(self.take(4), "big")

    def u64(self):
        return int.from_bytes(self.take(8), "big")

    def _utf8(self, raw):
        try:
            # Python's strict decoder rejects overlong forms, surrogates and
            # code points above U+10FFFF, as RFC 3629 requires (TYPES-1).
            return raw.decode("utf-8", "strict")
        except UnicodeDecodeError:
            raise DecodeError("INVALID_UTF8")

    def str8(self):
        n = self.u8()
        return self._utf8(self.take(n))

    def str16(self):
        n = self.u16()
        return self._utf8(self.take(n))

    def magic(self):
        if self.take(6) != b"CONFAB":
            raise DecodeError("NOT_CONFAB")

    def enum(self, allowed):
        v = self.u8()
        if v not in allowed:
            raise DecodeError("MALFORMED_FRAME")  # TYPES-4
        return v

    def finish(self):
        if self.pos != len(self.data):
            raise DecodeError("MALFORMED_FRAME")  # trailing bytes, FRAMING-3


def _d_ping(r):
    return {"type": "PING", "nonce": r.u64()}


def _d_pong(r):
    return {"type": "PONG", "nonce": r.u64()}


def _d_goodbye(r):
    reason = r.u16()
    return {"type": "GOODBYE", "reason": reason, "message": r.str16()}


def _d_error(r):
    f = {"type": "ERROR"}
    f["code"] = r.u16()
    f["flags"] = r.u8()
    f["frame_type"] = r.u8()
    f["client_ref"] = r.u32()
    f["message"] = r.str16()
    return f


def _d_hello(r):
    r.magic()
    f = {"type": "HELLO"}
    f["version"] = r.u16()
    f["flags"] = r.u8()
    f["client"] = r.str8()
    return f


def _d_login(r):
    f = {"type": "LOGIN"}
    f["mode"] = r.enum((0, 1, 2))
    f["username"] = r.str8()
    f["password"] = r.str8()
    return f


def _d_join(r):
    f = {"type": "JOIN"}
    f["room"] = r.str8()
    f["since_seq"] = r.u64()
    f["history"] = r.u16()
    return f


def _d_leave(r):
    return {"type": "LEAVE", "room": r.str8()}


def _d_list_rooms(r):
    return {"type": "LIST_ROOMS"}


def _d_send(r):
    f = {"type": "SEND"}
    f["client_ref"] = r.u32()
    f["room"] = r.str8()
    f["body"] = r.str16()
    return f


def _d_direct(r):
    f = {"type": "DIRECT"}
    f["client_ref"] = r.u32()
    f["to"] = r.str8()
    f["body"] = r.str16()
    return f


def _d_send_action(r):
    f = _d_send(r)
    f["type"] = "SEND_ACTION"
    return f


def _d_direct_action(r):
    f = _d_direct(r)
    f["type"] = "DIRECT_ACTION"
    return f


def _d_who(r):
    return {"type": "WHO", "room": r.str8()}


def _d_history(r):
    f = {"type": "HISTORY"}
    f["kind"] = r.enum((0, 1))
    f["target"] = r.str8()
    f["direction"] = r.enum((0, 1))
    f["anchor"] = r.u64()
    f["limit"] = r.u16()
    return f


def _d_greeting(r):
    r.magic()
    f = {"type": "GREETING"}
    f["min_version"] = r.u16()
    f["max_version"] = r.u16()
    f["flags"] = r.u8()
    f["server"] = r.str8()
    lim = {}
    lim["max_frame"] = r.u32()
    lim["max_username"] = r.u8()
    lim["max_room_name"] = r.u8()
    lim["max_body"] = r.u16()
    lim["max_rooms"] = r.u16()
    lim["msg_rate"] = r.u32()
    lim["msg_burst"] = r.u32()
    lim["byte_rate"] = r.u32()
    lim["byte_burst"] = r.u32()
    lim["queue_depth"] = r.u32()
    lim["ping_interval_ms"] = r.u32()
    lim["ping_timeout_ms"] = r.u32()
    lim["handshake_timeout_ms"] = r.u32()
    lim["login_attempts"] = r.u8()
    lim["history_max"] = r.u16()
    f["limits"] = lim
    f["default_room"] = r.str8()
    f["prompt"] = r.str16()
    return f  # nothing may follow the prompt (FRAMING-3, VERSION-2)


def _d_welcome(r):
    f = {"type": "WELCOME"}
    f["username"] = r.str8()
    f["flags"] = r.u8()
    f["server_time"] = r.u64()
    return f


def _d_login_rejected(r):
    f = {"type": "LOGIN_REJECTED"}
    f["code"] = r.u16()
    f["attempts_left"] = r.u8()
    f["message"] = r.str16()
    return f


def _d_message(r):
    f = {"type": "MESSAGE"}
    f["id"] = r.u64()
    f["seq"] = r.u64()
    f["time"] = r.u64()
    f["flags"] = r.u8()
    f["room"] = r.str8()
    f["sender"] = r.str8()
    f["body"] = r.str16()
    return f


def _d_ack(r):
    f = {"type": "ACK"}
    f["client_ref"] = r.u32()
    f["id"] = r.u64()
    f["seq"] = r.u64()
    f["time"] = r.u64()
    return f


def _d_direct_message(r):
    f = {"type": "DIRECT_MESSAGE"}
    f["id"] = r.u64()
    f["time"] = r.u64()
    f["flags"] = r.u8()
    f["from"] = r.str8()
    f["to"] = r.str8()
    f["body"] = r.str16()
    return f


def _d_joined(r):
    f = {"type": "JOINED"}
    f["room"] = r.str8()
    f["next_seq"] = r.u64()
    f["members"] = r.u32()
    return f


def _d_left(r):
    return {"type": "LEFT", "room": r.str8()}


def _d_room_list(r):
    f = {"type": "ROOM_LIST", "flags": r.u8()}
    count = r.u16()
    rooms = []
    for _ in range(count):  # never pre-allocates: SEC-1
        name = r.str8()
        rooms.append({"name": name, "members": r.u32()})
    f["rooms"] = rooms
    return f


def _d_who_list(r):
    f = {"type": "WHO_LIST", "flags": r.u8(), "room": r.str8()}
    count = r.u16()
    f["users"] = [r.str8() for _ in range(count)]
    return f


def _d_presence(r):
    f = {"type": "PRESENCE"}
    f["event"] = r.enum((1, 2, 3))
    f["room"] = r.str8()
    f["username"] = r.str8()
    f["time"] = r.u64()
    return f


def _d_history_end(r):
    f = {"type": "HISTORY_END"}
    f["kind"] = r.u8()
    f["target"] = r.str8()
    f["count"] = r.u16()
    f["flags"] = r.u8()
    return f


def _d_missed(r):
    f = {"type": "MISSED"}
    f["room"] = r.str8()
    f["from_seq"] = r.u64()
    f["to_seq"] = r.u64()
    return f


def _d_notice(r):
    f = {"type": "NOTICE"}
    f["level"] = r.enum((0, 1))
    f["text"] = r.str16()
    return f


def _d_limits(r):
    count = r.u16()
    entries = []
    for _ in range(count):  # never pre-allocates: SEC-1
        id_ = r.u16()
        entries.append({"id": id_, "value": r.u64()})
    return {"type": "LIMITS", "entries": entries}


def _d_moderate(r):
    f = {"type": "MODERATE"}
    f["action"] = r.enum(tuple(MOD_ACTIONS.values()))
    f["room"] = r.str8()
    f["target"] = r.str8()
    f["duration_ms"] = r.u64()
    f["reason"] = r.str16()
    return f


def _d_room_settings(r):
    f = {"type": "ROOM_SETTINGS"}
    f["room"] = r.str8()
    f["change"] = r.u8()
    f["modes"] = r.u8()
    f["member_limit"] = r.u32()
    f["topic"] = r.str16()
    return f


def _d_audit(r):
    f = {"type": "AUDIT"}
    f["room"] = r.str8()
    f["before"] = r.u64()
    f["limit"] = r.u16()
    return f


def _d_room_info(r):
    f = {"type": "ROOM_INFO"}
    f["room"] = r.str8()
    f["modes"] = r.u8()
    f["member_limit"] = r.u32()
    f["role"] = r.enum(tuple(ROLES.values()))
    f["founder"] = r.str8()
    f["changed_by"] = r.str8()
    f["topic_by"] = r.str8()
    f["topic_at"] = r.u64()
    f["topic"] = r.str16()
    return f


def _mod_event_fields(r):
    e = {}
    e["id"] = r.u64()
    e["time"] = r.u64()
    e["action"] = r.enum(tuple(MOD_ACTIONS.values()))
    e["room"] = r.str8()
    e["actor"] = r.str8()
    e["target"] = r.str8()
    e["expires"] = r.u64()
    e["reason"] = r.str16()
    return e


def _d_moderation_event(r):
    f = {"type": "MODERATION_EVENT"}
    f.update(_mod_event_fields(r))
    return f


def _d_audit_entries(r):
    f = {"type": "AUDIT_ENTRIES", "flags": r.u8(), "room": r.str8()}
    count = r.u16()
    f["entries"] = [_mod_event_fields(r) for _ in range(count)]  # SEC-1: no pre-allocation
    return f


def _d_room_list_info(r):
    f = {"type": "ROOM_LIST_INFO", "flags": r.u8()}
    count = r.u16()
    rooms = []
    for _ in range(count):
        e = {"name": r.str8()}
        e["members"] = r.u32()
        e["modes"] = r.u8()
        e["topic"] = r.str16()
        rooms.append(e)
    f["rooms"] = rooms
    return f


DECODERS = {
    0x01: _d_ping, 0x02: _d_pong, 0x03: _d_goodbye, 0x04: _d_error,
    0x10: _d_hello, 0x11: _d_login, 0x12: _d_join, 0x13: _d_leave,
    0x14: _d_list_rooms, 0x15: _d_send, 0x16: _d_direct, 0x17: _d_who,
    0x18: _d_history, 0x1A: _d_send_action, 0x1B: _d_direct_action,
    0x80: _d_greeting, 0x81: _d_welcome, 0x82: _d_login_rejected,
    0x83: _d_message, 0x84: _d_ack, 0x85: _d_direct_message, 0x86: _d_joined,
    0x87: _d_left, 0x88: _d_room_list, 0x89: _d_who_list, 0x8A: _d_presence,
    0x8B: _d_history_end, 0x8C: _d_missed, 0x8D: _d_notice, 0x8E: _d_limits,
    0x1C: _d_moderate, 0x1D: _d_room_settings, 0x1E: _d_audit, 0x8F: _d_room_info,
    0x90: _d_moderation_event, 0x91: _d_audit_entries, 0x92: _d_room_list_info,
}


def decode_one(buf, max_frame=DEFAULT_MAX_FRAME):
    """Decode the first frame of a byte stream.

    Returns one of
      ("incomplete",)
      ("frame", frame_object, bytes_consumed)
      ("error", ERROR_NAME, frame_type_to_report)
    frame_type_to_report is 0 for errors about the byte stream itself
    (ASCII type byte, oversized length) and the frame's type otherwise.
    """
    if len(buf) < 1:
        return ("incomplete",)
    ftype = buf[0]
    if 0x20 <= ftype <= 0x7E:  # FRAMING-4, before looking at the length
        return ("error", "NOT_CONFAB", 0)
    if len(buf) < 5:
        return ("incomplete",)
    length = int.from_bytes(buf[1:5], "big")
    if length > max_frame:  # FRAMING-2, before waiting for the body
        return ("error", "FRAME_TOO_LARGE", 0)
    if len(buf) < 5 + length:  # FRAMING-6
        return ("incomplete",)
    body = bytes(buf[5:5 + length])
    dec = DECODERS.get(ftype)
    if dec is None:  # FRAMING-5
        return ("frame", {"type": "UNKNOWN", "frame_type": ftype, "body": body.hex()},
                5 + length)
    r = Reader(body)
    try:
        frame = dec(r)
        r.finish()
    except DecodeError as e:
        return ("error", e.name, ftype)
    return ("frame", frame, 5 + length)


# ---------------------------------------------------------------------------
# Helpers shared by the vector builders
# ---------------------------------------------------------------------------


def F(ftype, **fields):
    frame = {"type": ftype}
    frame.update(fields)
    return frame


def DM(id_, time, flags, frm, to, body):
    return {"type": "DIRECT_MESSAGE", "id": id_, "time": time, "flags": flags,
            "from": frm, "to": to, "body": body}


def UNKNOWN(code, body_hex):
    return {"type": "UNKNOWN", "frame_type": code, "body": body_hex}


def greeting(flags=0, server="confab", limits=None, default_room="lobby",
             prompt="Welcome to Confab. Please send your username.",
             min_version=1, max_version=1):
    return F("GREETING", min_version=min_version, max_version=max_version, flags=flags,
             server=server, limits=dict(limits or DEFAULT_LIMITS),
             default_room=default_room, prompt=prompt)


def limits_frame(**values):
    """LIMITS with the registry's named limits, in id order (LIMITS-2)."""
    entries = sorted((LIMIT_IDS[name], value) for name, value in values.items())
    return F("LIMITS", entries=[{"id": i, "value": v} for i, v in entries])


def h(data):
    return data.hex()


# Time stamp used by the spec's example session.  NOTE: the spec says it is
# 2026-11-25T14:03:07.250Z, but 0x019ABB4D8B0A is 2025-11-25T13:56:52.618Z;
# 2026-11-25T14:03:07.250Z is 1795615387250 = 0x01A213046E72.  The example
# vectors keep the spec's bytes.
EXAMPLE_TIME = 0x019ABB4D8B0A
TIME_2026_11_25 = 1795615387250  # 2026-11-25T14:03:07.250Z

S255_ASCII = "".join(chr(ord("a") + i % 26) for i in range(255))
S255_CJK = "\u65e5" * 85  # 85 x 3 bytes = 255 bytes
S255_MIXED = "\U0001F600" * 63 + "\u00e9" + "x"  # 252 + 2 + 1 = 255 bytes
assert len(S255_ASCII.encode()) == 255
assert len(S255_CJK.encode()) == 255
assert len(S255_MIXED.encode()) == 255

# ---------------------------------------------------------------------------
# Section 19 example session, exactly as printed in the spec, and corrected.
# ---------------------------------------------------------------------------

# Each entry: name, spec text lines (hex groups as printed), corrected hex.
# The corrections are only in header lengths and, for GREETING, the prompt's
# str16 length prefix; every other byte is as printed.
SPEC_EXAMPLE = [
    ("example-greeting", [
        "80 00000074",
        "434F4E464142",
        "0001 0001",
        "00",
        "06 636F6E666162",
        "00010000",
        "20 40",
        "1000 0020",
        "00000014 0000003C",
        "00010000 00040000",
        "00001000",
        "00007530 00003A98 00002710",
        "03 00C8",
        "05 6C6F626279",
        "002D 57656C636F6D6520746F20436F6E6661622E20506C656173652073656E6420796F757220757365726E616D652E",
    ], {},
        greeting()),
    ("example-limits", [
        "8E 0000000C",
        "0001",
        "0001 0000000000200000",
    ], {},
        limits_frame(queue_bytes=DEFAULT_QUEUE_BYTES)),
    ("example-hello", [
        "10 00000010",
        "434F4E464142 0001 00",
        "06 636F6E666162",
    ], {},
        F("HELLO", version=1, flags=0, client="confab")),
    ("example-login", [
        "11 00000008",
        "00 05 616C696365 00",
    ], {},
        F("LOGIN", mode=0, username="alice", password="")),
    ("example-welcome", [
        "81 0000000F",
        "05 616C696365 00",
        "0000019ABB4D8B0A",
    ], {},
        F("WELCOME", username="alice", flags=0, server_time=EXAMPLE_TIME)),
    ("example-joined", [
        "86 00000012",
        "05 6C6F626279",
        "0000000000000008",
        "00000002",
    ], {},
        F("JOINED", room="lobby", next_seq=8, members=2)),
    ("example-history-end", [
        "8B 0000000A",
        "00 05 6C6F626279 0000 00",
    ], {},
        F("HISTORY_END", kind=0, target="lobby", count=0, flags=0)),
    ("example-send", [
        "15 0000000E",
        "00000001 05 6C6F626279 0002 6869",
    ], {},
        F("SEND", client_ref=1, room="lobby", body="hi")),
    ("example-message", [
        "83 00000029",
        "000000000000002A",
        "0000000000000008",
        "0000019ABB4D8B0A",
        "00",
        "05 6C6F626279 05 616C696365",
        "0002 6869",
    ], {},
        F("MESSAGE", id=42, seq=8, time=EXAMPLE_TIME, flags=0, room="lobby",
          sender="alice", body="hi")),
    ("example-ack", [
        "84 0000001C",
        "00000001 000000000000002A",
        "0000000000000008 0000019ABB4D8B0A",
    ], {},
        F("ACK", client_ref=1, id=42, seq=8, time=EXAMPLE_TIME)),
    ("example-goodbye", [
        "03 00000004",
        "0000 0000",
    ], {},
        F("GOODBYE", reason=0, message="")),
]


def _hexjoin(lines):
    return "".join("".join(line.split()) for line in lines).lower()


def example_vectors(report):
    """Return the corrected example vectors; list spec inconsistencies."""
    spec_text = None
    if os.path.exists(PROTOCOL_MD):
        with open(PROTOCOL_MD, encoding="utf-8") as fh:
            spec_text = fh.read()
    out = []
    for name, lines, fixes, frame in SPEC_EXAMPLE:
        if spec_text is not None:
            for line in lines:
                if line not in spec_text:
                    report.append("%s: line %r no longer found in PROTOCOL.md "
                                  "(spec edited? update SPEC_EXAMPLE)" % (name, line))
        printed = bytes.fromhex(_hexjoin(lines))
        fixed_lines = [fixes.get(i, line) for i, line in enumerate(lines)]
        fixed = bytes.fromhex(_hexjoin(fixed_lines))
        encoded = encode_frame(frame)
        assert fixed == encoded, (name, fixed.hex(), encoded.hex())
        declared = int.from_bytes(printed[1:5], "big")
        actual = len(printed) - 5
        if declared != actual:
            report.append("%s: spec header declares body length %d (0x%X) but the "
                          "printed body has %d bytes (0x%X)"
                          % (name, declared, declared, actual, actual))
        for i in fixes:
            if i != 0:
                report.append("%s: spec line %r corrected to %r"
                              % (name, lines[i], fixes[i]))
        out.append({"name": name, "hex": h(fixed), "frame": frame})
    return out


# ---------------------------------------------------------------------------
# frames.json
# ---------------------------------------------------------------------------


def build_frames(report):
    V = []

    def add(name, frame, magic=None):
        V.append({"name": name, "hex": h(encode_frame(frame, magic)), "frame": frame})

    # --- example session (section 19) ---
    V.extend(example_vectors(report))

    # --- primitive examples of section 3 inside frames ---
    add("time-2026-11-25t14-03-07-250z-in-welcome",
        F("WELCOME", username="alice", flags=0, server_time=TIME_2026_11_25))
    add("str8-he-in-leave", F("LEAVE", room="h\u00e9"))

    # --- PING / PONG ---
    add("ping-nonce-zero", F("PING", nonce=0))
    add("ping-nonce-2pow53-minus-1", F("PING", nonce=U53_MAX))
    add("ping-nonce-bytes", F("PING", nonce=0x0001020304050607))
    add("pong-nonce-zero", F("PONG", nonce=0))
    add("pong-nonce-2pow53-minus-1", F("PONG", nonce=U53_MAX))

    # --- GOODBYE ---
    add("goodbye-normal-empty", F("GOODBYE", reason=0, message=""))
    add("goodbye-server-shutdown", F("GOODBYE", reason=54, message="server shutting down"))
    add("goodbye-unsupported-version", F("GOODBYE", reason=7, message="need version 1"))
    add("goodbye-multibyte-message", F("GOODBYE", reason=0, message="au revoir, \u00e0 bient\u00f4t \U0001F44B"))
    add("goodbye-taken-over", F("GOODBYE", reason=58,
                                message="another login to this account took the session over"))
    add("goodbye-node-leaving", F("GOODBYE", reason=59,
                                  message="this node is shutting down; reconnect to another node"))
    add("goodbye-reason-u16-max", F("GOODBYE", reason=U16_MAX, message="x"))

    # --- ERROR ---
    add("error-unexpected-frame-send", F("ERROR", code=5, flags=0, frame_type=0x15,
                                         client_ref=7, message="not logged in"))
    add("error-not-confab-fatal", F("ERROR", code=6, flags=FATAL, frame_type=0, client_ref=0,
                                    message="This is a Confab server; see spec/PROTOCOL.md."))
    add("error-cluster-unavailable-send", F("ERROR", code=46, flags=0, frame_type=0x15,
                                            client_ref=9, message="not acknowledged, try again"))
    add("error-empty-message", F("ERROR", code=0, flags=0, frame_type=0, client_ref=0, message=""))
    add("error-rate-limited-client-ref-u32-max", F("ERROR", code=37, flags=0, frame_type=0x16,
                                                   client_ref=U32_MAX, message="slow down"))
    add("error-unassigned-code-fatal", F("ERROR", code=U16_MAX, flags=FATAL, frame_type=0xFF,
                                         client_ref=0, message="\u00e9rreur \u65e5\u672c"))
    add("error-frame-too-large", F("ERROR", code=2, flags=FATAL, frame_type=0, client_ref=0,
                                   message="frame too large"))
    # FLOW-5: any request may be refused, with its own frame type.
    add("error-rate-limited-join", F("ERROR", code=ERRORS["RATE_LIMITED"], flags=0,
                                     frame_type=0x12, client_ref=0,
                                     message="rate limit: request not handled"))
    # LIMIT-5
    add("error-room-limit", F("ERROR", code=ERRORS["ROOM_LIMIT"], flags=0,
                              frame_type=0x12, client_ref=0, message="no more rooms"))
    # DM-4
    add("error-recipient-busy", F("ERROR", code=ERRORS["RECIPIENT_BUSY"], flags=0,
                                  frame_type=0x16, client_ref=9, message="try later"))

    # --- HELLO ---
    add("hello-basic", F("HELLO", version=1, flags=0, client="confab-cli/0.1"))
    add("hello-no-auto-join-empty-client", F("HELLO", version=1, flags=1, client=""))
    add("hello-version-2", F("HELLO", version=2, flags=0, client="future"))
    add("hello-version-u16-max", F("HELLO", version=U16_MAX, flags=1, client="x"))
    add("hello-client-str8-255", F("HELLO", version=1, flags=0, client=S255_ASCII))

    # --- LOGIN ---
    add("login-guest", F("LOGIN", mode=0, username="bob", password=""))
    add("login-account", F("LOGIN", mode=1, username="carol", password="hunter2"))
    add("login-register", F("LOGIN", mode=2, username="dave", password="correct horse battery staple"))
    add("login-empty-username", F("LOGIN", mode=0, username="", password=""))
    add("login-username-hello-accent", F("LOGIN", mode=0, username="h\u00e9llo", password=""))
    add("login-username-cjk", F("LOGIN", mode=0, username="\u65e5\u672c\u8a9e", password=""))
    add("login-username-emoji", F("LOGIN", mode=0, username="\U0001F600\U0001F680", password=""))
    add("login-username-decomposed-nfd", F("LOGIN", mode=0, username="e\u0301", password=""))
    add("login-username-and-password-str8-255", F("LOGIN", mode=1, username=S255_CJK, password=S255_ASCII))

    # --- JOIN / LEAVE / LIST_ROOMS ---
    add("join-lobby", F("JOIN", room="lobby", since_seq=0, history=0))
    add("join-since-and-history", F("JOIN", room="rust", since_seq=1234, history=50))
    add("join-max-values", F("JOIN", room="r", since_seq=U53_MAX, history=U16_MAX))
    add("join-room-str8-255", F("JOIN", room=S255_MIXED, since_seq=1, history=1))
    add("join-empty-room-name", F("JOIN", room="", since_seq=0, history=0))
    add("leave-lobby", F("LEAVE", room="lobby"))
    add("leave-empty", F("LEAVE", room=""))
    add("leave-cjk", F("LEAVE", room="\u804a\u5929\u5ba4"))
    add("list-rooms", F("LIST_ROOMS"))

    # --- SEND / DIRECT ---
    add("send-hello", F("SEND", client_ref=1, room="lobby", body="hello, world"))
    add("send-empty-body", F("SEND", client_ref=0, room="lobby", body=""))
    add("send-multibyte-body", F("SEND", client_ref=2, room="caf\u00e9",
                                 body="h\u00e9llo \u4e16\u754c \U0001F30D\U0001F389"))
    add("send-body-300-bytes", F("SEND", client_ref=3, room="lobby", body="0123456789" * 30))
    add("send-body-4096-bytes", F("SEND", client_ref=U32_MAX, room="lobby", body="\u00e9" * 2048))
    add("send-room-str8-255", F("SEND", client_ref=4, room=S255_ASCII, body="x"))
    add("direct-basic", F("DIRECT", client_ref=9, to="bob", body="psst"))
    add("direct-multibyte", F("DIRECT", client_ref=10, to="\u00e9lodie", body="\u3053\u3093\u306b\u3061\u306f \U0001F600"))
    add("direct-empty", F("DIRECT", client_ref=0, to="", body=""))
    # BODY-1: a body may hold line breaks; ACTION-1: actions (1.1).
    add("send-body-with-line-breaks", F("SEND", client_ref=11, room="lobby",
                                        body="first line\nsecond line"))
    add("send-action", F("SEND_ACTION", client_ref=12, room="lobby", body="waves"))
    add("direct-action", F("DIRECT_ACTION", client_ref=13, to="bob", body="nods \U0001F44B"))

    # --- WHO / HISTORY ---
    add("who-room", F("WHO", room="lobby"))
    add("who-everyone-empty-room", F("WHO", room=""))
    add("history-room-before-newest", F("HISTORY", kind=0, target="lobby", direction=0, anchor=0, limit=0))
    add("history-room-after", F("HISTORY", kind=0, target="lobby", direction=1, anchor=7, limit=100))
    add("history-direct-before", F("HISTORY", kind=1, target="bob", direction=0, anchor=42, limit=20))
    add("history-direct-after-max", F("HISTORY", kind=1, target="\u00e9lodie", direction=1,
                                      anchor=U53_MAX, limit=U16_MAX))

    # --- GREETING ---
    add("greeting-defaults", greeting())
    add("greeting-all-flags", greeting(flags=0x07, server="confab-server 1.0"))
    add("greeting-empty-strings", greeting(server="", default_room="", prompt=""))
    add("greeting-version-range", greeting(min_version=1, max_version=3))
    add("greeting-minimum-limits", greeting(limits={
        "max_frame": 4096, "max_username": 1, "max_room_name": 1, "max_body": 1,
        "max_rooms": 1, "msg_rate": 1, "msg_burst": 1, "byte_rate": 1, "byte_burst": 1,
        "queue_depth": 16, "ping_interval_ms": 1000, "ping_timeout_ms": 1000,
        "handshake_timeout_ms": 1000, "login_attempts": 1, "history_max": 1}))
    add("greeting-maximum-field-values", greeting(flags=0x07, limits={
        "max_frame": 16 * 1024 * 1024, "max_username": 255, "max_room_name": 255,
        "max_body": U16_MAX, "max_rooms": U16_MAX, "msg_rate": U32_MAX,
        "msg_burst": U32_MAX, "byte_rate": U32_MAX, "byte_burst": U32_MAX,
        "queue_depth": U32_MAX, "ping_interval_ms": U32_MAX, "ping_timeout_ms": U32_MAX,
        "handshake_timeout_ms": U32_MAX, "login_attempts": 255, "history_max": U16_MAX},
        server=S255_ASCII, default_room=S255_CJK))
    add("greeting-multibyte", greeting(server="\u00e7onfab \u2603", default_room="salle-\u00e0-manger",
                                       prompt="Bienvenue \u2014 votre nom ? \U0001F642"))

    # --- LIMITS (1.1, LIMITS-1, LIMITS-2) ---
    add("limits-queue-bytes-default", limits_frame(queue_bytes=DEFAULT_QUEUE_BYTES))
    add("limits-queue-bytes-and-min-password",
        limits_frame(queue_bytes=DEFAULT_QUEUE_BYTES, min_password=8))
    add("limits-none", F("LIMITS", entries=[]))
    add("limits-queue-bytes-max", F("LIMITS", entries=[{"id": 1, "value": U64_MAX}]))
    # Ids this document does not assign are decoded and ignored by receivers.
    add("limits-unknown-ids", F("LIMITS", entries=[
        {"id": 1, "value": 300000}, {"id": 2, "value": 7}, {"id": U16_MAX, "value": 0}]))
    add("limits-64-entries", F("LIMITS", entries=[
        {"id": i, "value": i * 1000} for i in range(1, 65)]))

    # --- WELCOME / LOGIN_REJECTED ---
    add("welcome-guest", F("WELCOME", username="alice", flags=0, server_time=0))
    add("welcome-registered", F("WELCOME", username="carol", flags=1, server_time=TIME_2026_11_25))
    add("welcome-multibyte", F("WELCOME", username="\u00e9lodie\u65e5", flags=0, server_time=U53_MAX))
    add("welcome-str8-255", F("WELCOME", username=S255_MIXED, flags=1, server_time=1))
    for code, cname in [(20, "name-taken"), (21, "name-invalid"), (22, "name-reserved"),
                        (23, "auth-failed"), (24, "account-required"),
                        (25, "account-exists"), (26, "accounts-unavailable"),
                        (27, "try-again-later"), (29, "password-too-short")]:
        add("login-rejected-" + cname,
            F("LOGIN_REJECTED", code=code, attempts_left=2, message=cname.replace("-", " ")))
    add("login-rejected-no-attempts-left-empty-message",
        F("LOGIN_REJECTED", code=20, attempts_left=0, message=""))
    add("login-rejected-attempts-255", F("LOGIN_REJECTED", code=21, attempts_left=255,
                                         message="nom invalide \u2717"))

    # --- MESSAGE / ACK / DIRECT_MESSAGE ---
    add("message-live", F("MESSAGE", id=1, seq=1, time=TIME_2026_11_25, flags=0, room="lobby",
                          sender="bob", body="hi all"))
    add("message-history-flag", F("MESSAGE", id=100, seq=57, time=TIME_2026_11_25 - 60000,
                                  flags=1, room="lobby", sender="carol", body="earlier"))
    add("message-multibyte", F("MESSAGE", id=5, seq=3, time=TIME_2026_11_25, flags=0,
                               room="\u65e5\u672c", sender="h\u00e9llo",
                               body="\u4f60\u597d\uff0c\u4e16\u754c \U0001F600 caf\u00e9"))
    add("message-empty-strings", F("MESSAGE", id=0, seq=0, time=0, flags=0, room="", sender="",
                                   body=""))
    add("message-large-values", F("MESSAGE", id=U53_MAX, seq=U53_MAX, time=U53_MAX, flags=1,
                                  room=S255_ASCII, sender=S255_CJK, body="z"))
    add("ack-room", F("ACK", client_ref=1, id=42, seq=8, time=TIME_2026_11_25))
    add("ack-direct-seq-zero", F("ACK", client_ref=2, id=43, seq=0, time=TIME_2026_11_25))
    # The one vector allowed to use u64 max (2^64-1) in every u64 field.
    add("ack-u64-max", F("ACK", client_ref=U32_MAX, id=U64_MAX, seq=U64_MAX, time=U64_MAX))
    add("direct-message-live", DM(44, TIME_2026_11_25, 0, "alice", "bob", "psst"))
    add("direct-message-history", DM(45, TIME_2026_11_25, 1, "bob", "alice", "re: psst"))
    add("direct-message-multibyte", DM(46, 1, 0, "\u00e9lodie", "\u65e5\u672c",
                                       "\U0001F44B \u00e7a va ?"))
    add("direct-message-empty-strings", DM(0, 0, 0, "", "", ""))
    # ACTION-1: flag bit 1 ACTION, live and replayed (1.1).
    add("message-action", F("MESSAGE", id=47, seq=9, time=TIME_2026_11_25, flags=2,
                            room="lobby", sender="alice", body="waves"))
    add("message-action-history", F("MESSAGE", id=47, seq=9, time=TIME_2026_11_25, flags=3,
                                    room="lobby", sender="alice", body="waves"))
    add("direct-message-action", DM(48, TIME_2026_11_25, 2, "alice", "bob", "nods"))

    # --- JOINED / LEFT ---
    add("joined-lobby", F("JOINED", room="lobby", next_seq=1, members=1))
    add("joined-large", F("JOINED", room="\u00fcber", next_seq=U53_MAX, members=U32_MAX))
    add("left-lobby", F("LEFT", room="lobby"))
    add("left-str8-255", F("LEFT", room=S255_CJK))

    # --- ROOM_LIST ---
    add("room-list-empty", F("ROOM_LIST", flags=0, rooms=[]))
    add("room-list-one", F("ROOM_LIST", flags=0, rooms=[{"name": "lobby", "members": 2}]))
    add("room-list-several", F("ROOM_LIST", flags=0, rooms=[
        {"name": "lobby", "members": 12},
        {"name": "rust", "members": 3},
        {"name": "caf\u00e9", "members": 1},
        {"name": "\u65e5\u672c\u8a9e", "members": U32_MAX}]))
    add("room-list-more-flag", F("ROOM_LIST", flags=1, rooms=[
        {"name": "a", "members": 1}, {"name": "b", "members": 0}]))
    add("room-list-empty-more-flag", F("ROOM_LIST", flags=1, rooms=[]))
    add("room-list-str8-255-name", F("ROOM_LIST", flags=0, rooms=[
        {"name": S255_ASCII, "members": 7}, {"name": "", "members": 0}]))
    add("room-list-300-entries", F("ROOM_LIST", flags=1, rooms=[
        {"name": "room%03d" % i, "members": i} for i in range(300)]))

    # --- WHO_LIST ---
    add("who-list-empty", F("WHO_LIST", flags=0, room="lobby", users=[]))
    add("who-list-one", F("WHO_LIST", flags=0, room="lobby", users=["alice"]))
    add("who-list-several", F("WHO_LIST", flags=0, room="lobby",
                              users=["alice", "bob", "h\u00e9llo", "\u65e5\u672c", "\U0001F600"]))
    add("who-list-everyone-more-flag", F("WHO_LIST", flags=1, room="", users=["alice", "bob"]))
    add("who-list-str8-255", F("WHO_LIST", flags=0, room=S255_CJK, users=[S255_ASCII, ""]))
    add("who-list-300-entries", F("WHO_LIST", flags=1, room="big",
                                  users=["user%03d" % i for i in range(300)]))

    # --- PRESENCE / HISTORY_END / MISSED / NOTICE ---
    add("presence-joined", F("PRESENCE", event=1, room="lobby", username="alice", time=TIME_2026_11_25))
    add("presence-left", F("PRESENCE", event=2, room="lobby", username="alice", time=TIME_2026_11_25))
    add("presence-disconnected", F("PRESENCE", event=3, room="\u65e5\u672c",
                                   username="h\u00e9llo", time=0))
    add("history-end-room-empty", F("HISTORY_END", kind=0, target="lobby", count=0, flags=0))
    add("history-end-room-more", F("HISTORY_END", kind=0, target="lobby", count=200, flags=1))
    add("history-end-direct", F("HISTORY_END", kind=1, target="bob", count=U16_MAX, flags=0))
    add("history-end-direct-more-multibyte", F("HISTORY_END", kind=1, target="\u00e9lodie",
                                               count=3, flags=1))
    add("missed-range", F("MISSED", room="lobby", from_seq=9, to_seq=15))
    add("missed-single", F("MISSED", room="rust", from_seq=4, to_seq=4))
    add("missed-large", F("MISSED", room="\u00e9t\u00e9", from_seq=1, to_seq=U53_MAX))
    add("notice-info", F("NOTICE", level=0, text="Server restarts at 03:00 UTC."))
    add("notice-warning-multibyte", F("NOTICE", level=1, text="Attention \u26a0 \u65e5\u672c \U0001F525"))
    add("notice-empty", F("NOTICE", level=0, text=""))
    # Body of exactly max_frame (65536) bytes: 1 + 2 + 65533.  Legal (FRAMING-2
    # forbids only lengths above max_frame).
    add("notice-body-exactly-default-max-frame", F("NOTICE", level=0, text="n" * 65533))
    # LIMIT-9: with max_frame 4096 and the default name limits (room 64, user 32),
    # max_body may be 4096 - 29 - 64 - 32 = 3971; the largest MESSAGE is then
    # exactly 4096 bytes, and the largest DIRECT_MESSAGE 21 + 64 + 3971 = 4056.
    add("message-largest-under-limit-9-at-max-frame-4096",
        F("MESSAGE", id=1, seq=1, time=TIME_2026_11_25, flags=0, room="r" * 64,
          sender="s" * 32, body="b" * 3971))
    add("direct-message-largest-under-limit-9-at-max-frame-4096",
        F("DIRECT_MESSAGE", id=2, time=TIME_2026_11_25, flags=0, **{"from": "f" * 32},
          to="t" * 32, body="b" * 3971))

    # --- moderation (1.2, section 21) ---
    A = MOD_ACTIONS
    add("moderate-kick-with-reason",
        F("MODERATE", action=A["KICK"], room="lobby", target="bob", duration_ms=0,
          reason="spam"))
    add("moderate-ban-address-pattern-one-day",
        F("MODERATE", action=A["BAN"], room="den", target="@203.0.113.0/24",
          duration_ms=86400000, reason="raid from this network"))
    add("moderate-mute-ten-minutes",
        F("MODERATE", action=A["MUTE"], room="den", target="carol", duration_ms=600000,
          reason="calm down"))
    add("moderate-op-no-reason",
        F("MODERATE", action=A["OP"], room="den", target="dave", duration_ms=0, reason=""))
    add("moderate-server-ban-ipv6",
        F("MODERATE", action=A["SERVER_BAN"], room="", target="@2001:db8::/32",
          duration_ms=0, reason="abuse"))
    add("moderate-announce",
        F("MODERATE", action=A["ANNOUNCE"], room="", target="", duration_ms=0,
          reason="Restart at 04:00 UTC."))
    add("moderate-reason-390-bytes",
        F("MODERATE", action=A["DISCONNECT"], room="", target="eve", duration_ms=0,
          reason="\u00e9" * 195))
    add("room-settings-topic",
        F("ROOM_SETTINGS", room="den", change=1, modes=0, member_limit=0,
          topic="Rust and \u2615"))
    add("room-settings-invite-only-moderated-limit-50",
        F("ROOM_SETTINGS", room="den", change=6, modes=3, member_limit=50, topic=""))
    add("room-settings-query", F("ROOM_SETTINGS", room="den", change=0, modes=0,
                                 member_limit=0, topic=""))
    add("audit-room-newest", F("AUDIT", room="den", before=0, limit=50))
    add("audit-server-before-id", F("AUDIT", room="", before=1234, limit=0))
    add("room-info-after-join",
        F("ROOM_INFO", room="den", modes=1, member_limit=50, role=ROLES["founder"],
          founder="alice", changed_by="", topic_by="alice", topic_at=TIME_2026_11_25,
          topic="Rust and \u2615"))
    add("room-info-change-no-topic",
        F("ROOM_INFO", room="lobby", modes=2, member_limit=0, role=ROLES["none"], founder="",
          changed_by="root", topic_by="", topic_at=0, topic=""))
    add("moderation-event-kick",
        F("MODERATION_EVENT", id=7, time=TIME_2026_11_25, action=A["KICK"], room="lobby",
          actor="alice", target="bob", expires=0, reason="spam"))
    add("moderation-event-ban-expires",
        F("MODERATION_EVENT", id=8, time=TIME_2026_11_25, action=A["BAN"], room="den",
          actor="alice", target="@203.0.113.0/24", expires=TIME_2026_11_25 + 86400000,
          reason="raid"))
    add("moderation-event-settings",
        F("MODERATION_EVENT", id=9, time=TIME_2026_11_25, action=A["SETTINGS"], room="den",
          actor="alice", target="", expires=0, reason="invite-only on"))
    add("audit-entries-empty-last", F("AUDIT_ENTRIES", flags=0, room="den", entries=[]))
    add("audit-entries-two-more-older",
        F("AUDIT_ENTRIES", flags=3, room="", entries=[
            {"id": 3, "time": TIME_2026_11_25, "action": A["OP"], "room": "den",
             "actor": "root", "target": "alice", "expires": 0, "reason": ""},
            {"id": 5, "time": TIME_2026_11_25 + 1000, "action": A["DISCONNECT"], "room": "",
             "actor": "root", "target": "eve", "expires": 0, "reason": "spam"}]))
    add("room-list-info-two-rooms",
        F("ROOM_LIST_INFO", flags=0, rooms=[
            {"name": "lobby", "members": 12, "modes": 0, "topic": ""},
            {"name": "den", "members": 3, "modes": 3, "topic": "Rust and \u2615"}]))
    add("room-list-info-empty-more", F("ROOM_LIST_INFO", flags=1, rooms=[]))

    # --- unknown frame types (FRAMING-5) ---
    add("unknown-a0-3-byte-body", UNKNOWN(0xA0, "010203"))
    add("unknown-00-empty-body", UNKNOWN(0x00, ""))
    add("unknown-7f", UNKNOWN(0x7F, "7f"))
    add("unknown-ff", UNKNOWN(0xFF, "00ff00ff"))
    add("unknown-05-both-range-unassigned", UNKNOWN(0x05, "00"))
    add("unknown-0f", UNKNOWN(0x0F, ""))
    add("unknown-19-client-range-unassigned", UNKNOWN(0x19, "deadbeef"))
    add("unknown-1f", UNKNOWN(0x1F, "1f"))
    add("unknown-93-server-range-unassigned", UNKNOWN(0x93, "0000000000"))
    add("unknown-9f", UNKNOWN(0x9F, ""))
    add("unknown-body-is-not-utf8", UNKNOWN(0xA1, "ffc0ed a080".replace(" ", "")))

    # Verify: decode every vector back and re-encode it.
    names = set()
    for v in V:
        assert v["name"] not in names, v["name"]
        names.add(v["name"])
        raw = bytes.fromhex(v["hex"])
        res = decode_one(raw)
        assert res[0] == "frame", (v["name"], res)
        assert res[1] == v["frame"], (v["name"], res[1], v["frame"])
        assert res[2] == len(raw), v["name"]
        assert encode_frame(res[1]).hex() == v["hex"], v["name"]
        assert raw[0] not in range(0x20, 0x7F), v["name"]
    covered = {v["frame"]["type"] for v in V}
    missing = {name for _, name, _ in CATALOGUE} - covered
    assert not missing, missing
    return V


# ---------------------------------------------------------------------------
# malformed.json
# ---------------------------------------------------------------------------

# Bases for the truncation vectors: one per frame type that has fields, every
# string at least two bytes long so that it has a "middle".
TRUNCATION_BASES = [
    F("PING", nonce=0x0102030405),
    F("PONG", nonce=0x0102030405),
    F("GOODBYE", reason=54, message="bye"),
    F("ERROR", code=5, flags=0, frame_type=0x15, client_ref=7, message="oops"),
    F("HELLO", version=1, flags=0, client="cli"),
    F("LOGIN", mode=1, username="alice", password="pw"),
    F("JOIN", room="lobby", since_seq=3, history=10),
    F("LEAVE", room="lobby"),
    F("SEND", client_ref=1, room="lobby", body="hi"),
    F("DIRECT", client_ref=2, to="bob", body="yo"),
    F("WHO", room="lobby"),
    F("HISTORY", kind=0, target="lobby", direction=1, anchor=5, limit=20),
    greeting(server="cf", prompt="name?"),
    F("WELCOME", username="alice", flags=0, server_time=EXAMPLE_TIME),
    F("LOGIN_REJECTED", code=20, attempts_left=2, message="taken"),
    F("MESSAGE", id=42, seq=8, time=EXAMPLE_TIME, flags=0, room="lobby", sender="alice", body="hi"),
    F("ACK", client_ref=1, id=42, seq=8, time=EXAMPLE_TIME),
    DM(43, EXAMPLE_TIME, 0, "alice", "bob", "yo"),
    F("JOINED", room="lobby", next_seq=8, members=2),
    F("LEFT", room="lobby"),
    F("ROOM_LIST", flags=0, rooms=[{"name": "lobby", "members": 2}, {"name": "rust", "members": 1}]),
    F("WHO_LIST", flags=0, room="lobby", users=["alice", "bob"]),
    F("PRESENCE", event=1, room="lobby", username="alice", time=EXAMPLE_TIME),
    F("HISTORY_END", kind=0, target="lobby", count=0, flags=0),
    F("MISSED", room="lobby", from_seq=9, to_seq=15),
    F("NOTICE", level=1, text="careful"),
    F("MODERATE", action=2, room="den", target="@192.0.2.0/24", duration_ms=60000,
      reason="raid"),
    F("ROOM_SETTINGS", room="den", change=1, modes=0, member_limit=0, topic="hello"),
    F("AUDIT", room="den", before=9, limit=20),
    F("ROOM_INFO", room="den", modes=1, member_limit=5, role=3, founder="alice",
      changed_by="bo", topic_by="alice", topic_at=EXAMPLE_TIME, topic="hi"),
    F("MODERATION_EVENT", id=1, time=EXAMPLE_TIME, action=1, room="lobby", actor="alice",
      target="bob", expires=0, reason="spam"),
    F("AUDIT_ENTRIES", flags=2, room="den", entries=[
        {"id": 1, "time": EXAMPLE_TIME, "action": 4, "room": "den", "actor": "alice",
         "target": "bob", "expires": EXAMPLE_TIME, "reason": "no"}]),
    F("ROOM_LIST_INFO", flags=0, rooms=[{"name": "den", "members": 2, "modes": 1,
                                         "topic": "hi"}]),
]

INVALID_UTF8_PATTERNS = [
    ("overlong-2-byte-slash", b"\xc0\xaf"),
    ("overlong-2-byte-nul", b"\xc0\x80"),
    ("overlong-3-byte", b"\xe0\x80\xaf"),
    ("overlong-4-byte", b"\xf0\x80\x80\xaf"),
    ("lone-continuation-byte", b"\x80"),
    ("continuation-bytes-only", b"\xbf\xbf"),
    ("surrogate-ed-a0-80", b"\xed\xa0\x80"),
    ("low-surrogate-ed-bf-bf", b"\xed\xbf\xbf"),
    ("cesu8-surrogate-pair", b"\xed\xa0\xbd\xed\xb8\x80"),
    ("truncated-3-byte-sequence-at-end", b"\xe6\x97"),
    ("truncated-4-byte-sequence-at-end", b"\xf0\x9f\x98"),
    ("truncated-sequence-followed-by-ascii", b"\xe6\x97A"),
    ("ff-byte", b"\xff"),
    ("fe-byte", b"\xfe"),
    ("above-u10ffff", b"\xf4\x90\x80\x80"),
    ("f5-lead-byte", b"\xf5\x80\x80\x80"),
]


def string_paths(frame):
    """Yield (label, setter) for every string field of a frame object."""
    name = frame["type"]
    for fname, kind in BY_NAME[name][1]:
        if kind in ("str8", "str16"):
            yield fname, kind, (lambda f, v, fname=fname: f.__setitem__(fname, v))
        elif kind == "room_entries":
            for i in range(len(frame[fname])):
                yield ("%s[%d].name" % (fname, i), "str8",
                       (lambda f, v, fname=fname, i=i: f[fname][i].__setitem__("name", v)))
        elif kind == "user_entries":
            for i in range(len(frame[fname])):
                yield ("%s[%d]" % (fname, i), "str8",
                       (lambda f, v, fname=fname, i=i: f[fname].__setitem__(i, v)))
        elif kind in ("mod_events", "room_info_entries"):
            entry_fields = MOD_EVENT_FIELDS if kind == "mod_events" else ROOM_INFO_ENTRY_FIELDS
            for i in range(len(frame[fname])):
                for ef, ek in entry_fields:
                    if ek in ("str8", "str16"):
                        yield ("%s[%d].%s" % (fname, i, ef), ek,
                               (lambda f, v, fname=fname, i=i, ef=ef:
                                f[fname][i].__setitem__(ef, v)))


def copy_frame(frame):
    return json.loads(json.dumps(frame))


def build_malformed():
    V = []

    def add(name, data, error, max_frame=None):
        v = {"name": name, "hex": h(data)}
        if max_frame is not None:
            v["max_frame"] = max_frame
        if error is None:
            v["error"] = None
            v["incomplete"] = True
        else:
            assert error in ERRORS, error
            v["error"] = error
        V.append(v)

    def body_frame(code, body):
        return header(code, len(body)) + body

    # --- incomplete input (FRAMING-6) ---
    ping = encode_frame(F("PING", nonce=1))
    add("incomplete-empty-input", b"", None)
    add("incomplete-type-byte-only", ping[:1], None)
    add("incomplete-header-3-bytes", ping[:3], None)
    add("incomplete-header-4-bytes", ping[:4], None)
    add("incomplete-header-only", ping[:5], None)
    add("incomplete-body-shorter-than-length", ping[:9], None)
    add("incomplete-body-one-byte-short", ping[:-1], None)
    hello = encode_frame(F("HELLO", version=1, flags=0, client="confab"))
    add("incomplete-hello-split-in-magic", hello[:8], None)
    add("incomplete-unknown-type-body", body_frame(0xA0, b"\x01\x02\x03")[:6], None)
    add("incomplete-length-equals-max-frame", header(0x8D, 4096) + b"\x00", None, max_frame=4096)
    add("incomplete-length-equals-default-max-frame", header(0xA0, 65536), None)
    add("incomplete-header-3-bytes-huge-length", header(0x15, U32_MAX)[:3], None)

    # --- FRAME_TOO_LARGE (FRAMING-2), decided on the header alone ---
    add("frame-too-large-65537", header(0x15, 65537), "FRAME_TOO_LARGE")
    add("frame-too-large-ffffffff", header(0x15, U32_MAX), "FRAME_TOO_LARGE")
    add("frame-too-large-0x00100000", header(0x11, 0x00100000), "FRAME_TOO_LARGE")
    add("frame-too-large-4097-with-max-frame-4096", header(0x83, 4097), "FRAME_TOO_LARGE",
        max_frame=4096)
    add("frame-too-large-65536-with-max-frame-4096", header(0x14, 65536), "FRAME_TOO_LARGE",
        max_frame=4096)
    # The MESSAGE of issue 13 (room 64, sender 32, body 4096 bytes) under max_frame 4096:
    # what LIMIT-9 prevents a server from sending; a client must refuse it.
    add("frame-too-large-message-breaking-limit-9", header(0x83, 29 + 64 + 32 + 4096),
        "FRAME_TOO_LARGE", max_frame=4096)
    add("frame-too-large-unknown-type", header(0xA0, U32_MAX), "FRAME_TOO_LARGE")
    add("frame-too-large-type-00", header(0x00, 0x80000000), "FRAME_TOO_LARGE")
    add("frame-too-large-type-7f", header(0x7F, 65537), "FRAME_TOO_LARGE")
    add("frame-too-large-with-some-body-bytes", header(0x12, 70000) + b"\x00" * 10,
        "FRAME_TOO_LARGE")
    # A TLS ClientHello begins 16 03 01 ...: type 0x16 (DIRECT) with a huge length.
    # Only a server at the start of a connection answers it by TRANSPORT-4 instead
    # (conversation tls-client-hello-on-plain-port); anywhere else this holds.
    add("frame-too-large-16-03-not-at-connection-start",
        bytes.fromhex("160301020001000200030300"), "FRAME_TOO_LARGE")

    # --- NOT_CONFAB: printable ASCII type byte (FRAMING-4), before the length ---
    add("not-confab-http-get", b"GET / HTTP/1.1\r\n", "NOT_CONFAB")
    add("not-confab-http-get-full-request",
        b"GET / HTTP/1.1\r\nHost: chat.example\r\n\r\n", "NOT_CONFAB")
    add("not-confab-hello-newline", b"hello\n", "NOT_CONFAB")
    add("not-confab-single-ascii-byte", b"G", "NOT_CONFAB")
    add("not-confab-space-0x20", b" \x00\x00\x00\x00", "NOT_CONFAB")
    add("not-confab-tilde-0x7e", b"~\x00\x00\x00\x00", "NOT_CONFAB")
    add("not-confab-ssh-banner", b"SSH-2.0-OpenSSH_9.6\r\n", "NOT_CONFAB")
    add("not-confab-ascii-type-small-length", b"A\x00\x00\x00\x01x", "NOT_CONFAB")
    add("not-confab-ascii-type-huge-length", b"Z\xff\xff\xff\xff", "NOT_CONFAB",
        max_frame=4096)
    # --- NOT_CONFAB: wrong magic (HANDSHAKE-2) ---
    good_hello = F("HELLO", version=1, flags=0, client="confab")
    add("not-confab-hello-magic-confax", encode_frame(good_hello, b"CONFAX"), "NOT_CONFAB")
    add("not-confab-hello-magic-lowercase", encode_frame(good_hello, b"confab"), "NOT_CONFAB")
    add("not-confab-hello-magic-zeros", encode_frame(good_hello, b"\x00" * 6), "NOT_CONFAB")
    add("not-confab-greeting-magic-wrong", encode_frame(greeting(), b"CONFAC"), "NOT_CONFAB")
    add("not-confab-greeting-magic-ascii-space", encode_frame(greeting(), b"CONFA "),
        "NOT_CONFAB")

    # --- truncated bodies: every field boundary and the middle of every
    #     multi-byte piece; header length reduced accordingly ---
    for base in TRUNCATION_BASES:
        body, segs = encode_body(base)
        code = frame_code(base)
        cuts = {}
        for label, start, end in segs:
            cuts.setdefault(start, "before-" + label)
            if end - start >= 2:
                mid = start + (end - start) // 2
                cuts.setdefault(mid, "inside-" + label)
        for cut in sorted(cuts):
            assert cut < len(body)
            add("truncated-%s-body-%d-of-%d-%s" % (base["type"].lower().replace("_", "-"),
                                                   cut, len(body),
                                                   cuts[cut].replace("_", "-").replace(".", "-")
                                                   .replace("[", "").replace("]", "")),
                body_frame(code, body[:cut]), "MALFORMED_FRAME")

    # --- trailing bytes after the last field ---
    for base in TRUNCATION_BASES + [F("LIST_ROOMS")]:
        body, _ = encode_body(base)
        add("trailing-byte-%s" % base["type"].lower().replace("_", "-"),
            body_frame(frame_code(base), body + b"\x00"), "MALFORMED_FRAME")
    add("trailing-bytes-list-rooms-4", body_frame(0x14, b"abcd"), "MALFORMED_FRAME")
    add("trailing-bytes-ping-8", body_frame(0x01, bytes(16)), "MALFORMED_FRAME")
    # VERSION-2: GREETING keeps its 1.0 layout; nothing follows the prompt,
    # not even a u32 (an earlier 1.1 draft put queue_bytes there; LIMITS-1).
    greeting_body, _ = encode_body(greeting())
    for extra in (b"\x00", b"\x00\x20\x00", b"\x00\x20\x00\x00", bytes(5)):
        add("greeting-trailing-%d-bytes" % len(extra), body_frame(0x80, greeting_body + extra),
            "MALFORMED_FRAME")
    # LIMITS-2: every entry is whole; the count is bounded by the body (SEC-1).
    limits_body, _ = encode_body(limits_frame(queue_bytes=DEFAULT_QUEUE_BYTES))
    add("limits-entry-cut", body_frame(0x8E, limits_body[:-1]), "MALFORMED_FRAME")
    add("limits-trailing-byte", body_frame(0x8E, limits_body + b"\x00"), "MALFORMED_FRAME")
    add("limits-count-beyond-body", body_frame(0x8E, b"\xff\xff" + limits_body[2:]),
        "MALFORMED_FRAME")
    add("limits-count-only-one-byte", body_frame(0x8E, b"\x00"), "MALFORMED_FRAME")

    # --- undefined enumerated values (TYPES-4) ---
    enum_cases = [
        ("login-mode-3", F("LOGIN", mode=3, username="alice", password="")),
        ("login-mode-255", F("LOGIN", mode=255, username="alice", password="")),
        ("history-kind-2", F("HISTORY", kind=2, target="lobby", direction=0, anchor=0, limit=0)),
        ("history-kind-255", F("HISTORY", kind=255, target="lobby", direction=0, anchor=0, limit=0)),
        ("history-direction-2", F("HISTORY", kind=0, target="lobby", direction=2, anchor=0, limit=0)),
        ("history-direction-255", F("HISTORY", kind=1, target="bob", direction=255, anchor=0, limit=0)),
        ("presence-event-0", F("PRESENCE", event=0, room="lobby", username="alice", time=1)),
        ("presence-event-4", F("PRESENCE", event=4, room="lobby", username="alice", time=1)),
        ("presence-event-255", F("PRESENCE", event=255, room="lobby", username="alice", time=1)),
        ("notice-level-2", F("NOTICE", level=2, text="hi")),
        ("notice-level-255", F("NOTICE", level=255, text="hi")),
        # 1.2, section 21: action values 0, 11-15, 20-31 and 33-255 are undefined.
        ("moderate-action-0", F("MODERATE", action=0, room="den", target="bob",
                                duration_ms=0, reason="")),
        ("moderate-action-11", F("MODERATE", action=11, room="den", target="bob",
                                 duration_ms=0, reason="")),
        ("moderate-action-20", F("MODERATE", action=20, room="", target="bob",
                                 duration_ms=0, reason="")),
        ("moderate-action-255", F("MODERATE", action=255, room="den", target="bob",
                                  duration_ms=0, reason="")),
        ("moderation-event-action-33", F("MODERATION_EVENT", id=1, time=1, action=33,
                                         room="den", actor="a", target="b", expires=0,
                                         reason="")),
        ("room-info-role-5", F("ROOM_INFO", room="den", modes=0, member_limit=0, role=5,
                               founder="", changed_by="", topic_by="", topic_at=0,
                               topic="")),
        ("audit-entries-entry-action-0", F("AUDIT_ENTRIES", flags=0, room="den", entries=[
            {"id": 1, "time": 1, "action": 0, "room": "den", "actor": "a", "target": "b",
             "expires": 0, "reason": ""}])),
    ]
    for name, frame in enum_cases:
        add("enum-" + name, encode_frame(frame), "MALFORMED_FRAME")

    # --- string / count lengths running past the body end (TYPES-2, SEC-1) ---
    add("str8-length-past-body-end-leave", body_frame(0x13, b"\x05ab"), "MALFORMED_FRAME")
    add("str8-length-255-body-3-who", body_frame(0x17, b"\xffabc"), "MALFORMED_FRAME")
    add("str8-length-1-empty-rest-left", body_frame(0x87, b"\x01"), "MALFORMED_FRAME")
    # JOIN: room length 16 swallows since_seq and history, so the body ends early.
    add("str8-length-swallows-later-fields-join",
        body_frame(0x12, b"\x10lobby" + bytes(8) + b"\x00\x00"), "MALFORMED_FRAME")
    add("str16-length-ffff-send",
        body_frame(0x15, b"\x00\x00\x00\x01\x05lobby\xff\xffhi"), "MALFORMED_FRAME")
    add("str16-length-one-past-end-notice", body_frame(0x8D, b"\x00\x00\x03ab"), "MALFORMED_FRAME")
    add("str16-length-past-end-goodbye", body_frame(0x03, b"\x00\x00\x00\x10bye"), "MALFORMED_FRAME")
    add("str8-length-past-end-login-password",
        body_frame(0x11, b"\x00\x05alice\x09pw"), "MALFORMED_FRAME")
    # ROOM_LIST / WHO_LIST counts larger than the body holds.
    two_rooms = b"\x05lobby\x00\x00\x00\x02\x04rust\x00\x00\x00\x01"
    add("room-list-count-3-holds-2", body_frame(0x88, b"\x00\x00\x03" + two_rooms), "MALFORMED_FRAME")
    add("room-list-count-1-no-entries", body_frame(0x88, b"\x00\x00\x01"), "MALFORMED_FRAME")
    add("room-list-count-65535-no-entries", body_frame(0x88, b"\x00\xff\xff"), "MALFORMED_FRAME")
    add("room-list-count-65535-two-entries", body_frame(0x88, b"\x01\xff\xff" + two_rooms),
        "MALFORMED_FRAME")
    add("room-list-count-1-holds-2-trailing", body_frame(0x88, b"\x00\x00\x01" + two_rooms),
        "MALFORMED_FRAME")
    add("room-list-count-missing", body_frame(0x88, b"\x00"), "MALFORMED_FRAME")
    two_users = b"\x05alice\x03bob"
    add("who-list-count-3-holds-2", body_frame(0x89, b"\x00\x05lobby\x00\x03" + two_users),
        "MALFORMED_FRAME")
    add("who-list-count-65535-no-entries", body_frame(0x89, b"\x00\x00\xff\xff"), "MALFORMED_FRAME")
    add("who-list-count-1-holds-2-trailing", body_frame(0x89, b"\x00\x05lobby\x00\x01" + two_users),
        "MALFORMED_FRAME")

    # --- invalid UTF-8 (TYPES-1) ---
    # Every pattern in a str8 (LOGIN username) and a str16 (NOTICE text) ...
    for pname, pat in INVALID_UTF8_PATTERNS:
        f = F("LOGIN", mode=0, username=b"al" + pat, password=b"")
        add("invalid-utf8-str8-login-username-" + pname, encode_frame(f), "INVALID_UTF8")
        f = F("NOTICE", level=0, text=b"note " + pat + b" end")
        add("invalid-utf8-str16-notice-text-" + pname, encode_frame(f), "INVALID_UTF8")
        f = F("SEND", client_ref=1, room="lobby", body=pat)
        add("invalid-utf8-str16-send-body-" + pname, encode_frame(f), "INVALID_UTF8")
    # ... and one pattern (cycled) in every string field of every frame type.
    i = 0
    for base in TRUNCATION_BASES:
        for label, kind, setter in string_paths(base):
            pname, pat = INVALID_UTF8_PATTERNS[i % len(INVALID_UTF8_PATTERNS)]
            i += 1
            f = copy_frame(base)
            setter(f, b"x" + pat)
            add("invalid-utf8-field-%s-%s-%s-%s" % (kind, base["type"].lower().replace("_", "-"),
                                              label.replace("_", "-").replace("[", "-")
                                              .replace("]", "").replace(".", "-"), pname),
                encode_frame(f), "INVALID_UTF8")

    # Verify every vector with the decoder.
    names = set()
    for v in V:
        assert v["name"] not in names, v["name"]
        names.add(v["name"])
        res = decode_one(bytes.fromhex(v["hex"]), v.get("max_frame", DEFAULT_MAX_FRAME))
        if v["error"] is None:
            assert res == ("incomplete",), (v["name"], res)
        else:
            assert res[0] == "error" and res[1] == v["error"], (v["name"], res)
    return V


# ---------------------------------------------------------------------------
# Model server (handshake state machine, sections 6, 7, 12, 15, 17, 18)
# ---------------------------------------------------------------------------

BIDI = {0x061C, 0x200E, 0x200F} | set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A))
INVISIBLE = set(range(0x200B, 0x200E)) | set(range(0x2060, 0x2065)) | {0xFEFF}
# Unicode White_Space property.
WHITE_SPACE = (set(range(0x09, 0x0E)) | {0x20, 0x85, 0xA0, 0x1680} | set(range(0x2000, 0x200B))
               | {0x2028, 0x2029, 0x202F, 0x205F, 0x3000})


def body_is_blank(body):
    """TYPES-5: empty, or only white space, bidi formatting and invisible characters."""
    return all(ord(ch) in WHITE_SPACE or ord(ch) in BIDI or ord(ch) in INVISIBLE for ch in body)


# Default_Ignorable_Code_Point (DerivedCoreProperties.txt) and blank-looking
# characters (SEC-4, 1.1).
DEFAULT_IGNORABLE = [(0xAD, 0xAD), (0x34F, 0x34F), (0x61C, 0x61C), (0x115F, 0x1160),
                     (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
                     (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
                     (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
                     (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF)]
BLANK = {0x2800, 0x115F, 0x1160, 0x3164, 0xFFA0}


def ignorable(cp):
    return any(lo <= cp <= hi for lo, hi in DEFAULT_IGNORABLE)


def name_is_valid(nfc, max_len):
    if not 1 <= len(nfc.encode("utf-8")) <= max_len:
        return False
    for ch in nfc:
        cp = ord(ch)
        if unicodedata.category(ch) == "Cc" or cp in WHITE_SPACE or cp in BIDI or cp in INVISIBLE:
            return False
        if cp in BLANK or ignorable(cp):
            return False
    return nfc[0] not in "/@#"


# The few TR39 confusables (confusables.txt) the vectors use; the Rust side
# applies the whole table (SEC-8).
CONFUSABLE = {"\u0430": "a", "\u0435": "e", "\u043e": "o", "\u0440": "p", "\u0441": "c",
              "\u0456": "i"}


def user_key(nfc):
    """SEC-8: the skeleton of the lower-cased NFKC form (for the names used here)."""
    folded = unicodedata.normalize("NFKC", nfc).lower()
    return unicodedata.normalize("NFD", "".join(CONFUSABLE.get(c, c) for c in folded))


class ModelServer:
    """A tiny model of the server side of one connection: just enough for the
    handshake conversations (no accounts, a registry of taken names)."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.state = "AWAIT_HELLO"
        self.buf = b""
        self.closed = False
        self.attempts_left = cfg["login_attempts"]
        self.no_auto_join = False
        self.rooms = {}  # joined room -> last seq
        self.next_id = 0
        self.limits = dict(DEFAULT_LIMITS, login_attempts=cfg["login_attempts"],
                           max_username=cfg["max_username"])
        # MOD-1: section 21 only on a server that sets MODERATION.
        self.mod = cfg.get("moderation")
        self.hello_mod = False
        self.name = None
        self.next_audit_id = 0
        if self.mod is not None:
            self.members = {user_key(r): {user_key(m) for m in ms}
                            for r, ms in self.mod.get("members", {}).items()}
        # HANDSHAKE-1, LIMITS-1: GREETING, then LIMITS, before anything is read.
        flags = GREETING_MODERATION if self.mod is not None else 0
        self.out = [greeting(limits=self.limits, flags=flags),
                    limits_frame(queue_bytes=DEFAULT_QUEUE_BYTES)]

    def _send(self, frame):
        # Encode and decode every outgoing frame, as a peer would see it.
        res = decode_one(encode_frame(frame))
        assert res[0] == "frame", res
        self.out.append(res[1])

    def _error(self, name, frame_type=0, client_ref=0, fatal=None):
        if fatal is None:
            fatal = name not in ("UNKNOWN_FRAME_TYPE", "UNEXPECTED_FRAME")
        self._send(F("ERROR", code=ERRORS[name], flags=FATAL if fatal else 0,
                     frame_type=frame_type, client_ref=client_ref, message=name.lower()))
        if fatal:
            self.closed = True

    def _parses(self, ftype):
        """STATE-6: which bodies are examined. Before HELLO only those of HELLO,
        GOODBYE and ERROR; afterwards never those of server-to-client types."""
        if self.state == "AWAIT_HELLO":
            return ftype in (0x10, 0x03, 0x04)
        if ftype in MODERATION_CODES and self.mod is None:  # MOD-1: unknown here
            return False
        return ftype in DECODERS and ftype < 0x80

    def feed(self, data):
        self.out = []
        if self.closed:
            return self.out
        self.buf += data
        while not self.closed:
            if self.state == "AWAIT_HELLO" and self.buf[:2] == b"\x16\x03":
                self._error("NOT_CONFAB", frame_type=0)  # TRANSPORT-4: before the length
                break
            res = decode_one(self.buf, self.limits["max_frame"])
            if (res[0] == "error" and res[2] != 0 and not self._parses(res[2])):
                # A body error in a frame judged by its type alone (STATE-6).
                ftype = res[2]
                length = int.from_bytes(self.buf[1:5], "big")
                res = ("frame", {"type": "UNPARSED", "frame_type": ftype}, 5 + length)
            if res[0] == "incomplete":
                break
            if res[0] == "error":
                self._error(res[1], frame_type=res[2])
                break
            frame, used = res[1], res[2]
            self.buf = self.buf[used:]
            self._handle(frame)
        return self.out

    def _handle(self, f):
        t = f["type"]
        if t != "UNKNOWN" and t != "UNPARSED" and not self._parses(frame_code(f)):
            f = {"type": "UNPARSED", "frame_type": frame_code(f)}
            t = "UNPARSED"
        code = f["frame_type"] if t == "UNPARSED" else frame_code(f)
        if t == "GOODBYE":  # legal in every state
            self.closed = True
            return
        if t == "ERROR":  # ERROR-2: log it, close if fatal
            if f["flags"] & FATAL:
                self.closed = True
            return
        if self.state == "AWAIT_HELLO":
            if t != "HELLO":  # STATE-1
                self._error("NOT_CONFAB", frame_type=code)
                return
            if not 1 <= f["version"] <= 1:
                self._error("UNSUPPORTED_VERSION", frame_type=code)
                return
            self.no_auto_join = bool(f["flags"] & 1)
            self.hello_mod = bool(f["flags"] & HELLO_MODERATION)  # MOD-2
            self.state = "AWAIT_LOGIN"
            return
        if code in MODERATION_CODES and self.mod is None:  # MOD-1, VERSION-3
            self._error("UNKNOWN_FRAME_TYPE", frame_type=code)
            return
        if t == "UNPARSED":  # STATE-6: a server-to-client type, body unexamined
            self._error("UNEXPECTED_FRAME", frame_type=code)
            return
        if t == "UNKNOWN":  # VERSION-3
            self._error("UNKNOWN_FRAME_TYPE", frame_type=code)
            return
        if t == "PING":
            self._send(F("PONG", nonce=f["nonce"]))
            return
        if t == "PONG":
            return
        if self.state == "AWAIT_LOGIN" and t == "LOGIN":
            self._login(f)
            return
        if self.state == "READY" and t == "SEND":  # just enough for the example session
            if body_is_blank(f["body"]):  # STATE-7: the body before the room
                self._error("EMPTY_MESSAGE", frame_type=code, client_ref=f["client_ref"],
                            fatal=False)
                return
            if f["room"] not in self.rooms:
                self._error("NOT_IN_ROOM", frame_type=code, client_ref=f["client_ref"],
                            fatal=False)
                return
            self.next_id += 1
            self.rooms[f["room"]] += 1
            self._send(F("ACK", client_ref=f["client_ref"], id=self.next_id,
                         seq=self.rooms[f["room"]], time=TIME_2026_11_25))
            return
        if self.state == "READY" and t == "JOIN":  # fresh rooms only: nothing to replay
            room = f["room"]
            if (self.mod is not None and room not in self.rooms
                    and user_key(self.name) in {user_key(b) for b in
                                                self.mod.get("bans", {}).get(user_key(room), [])}
                    and not self._is_operator()):
                self._error("BANNED", frame_type=code, fatal=False)  # MOD-7
                return
            seq = self.rooms.setdefault(room, 0)
            if seq and f["history"]:
                raise NotImplementedError("model server keeps no messages to replay")
            self._send(F("JOINED", room=room, next_seq=seq + 1, members=1))
            self._room_info(room)
            more = 1 if seq + 1 > f["since_seq"] + 1 else 0  # ROOM-7
            self._send(F("HISTORY_END", kind=0, target=room, count=0, flags=more))
            return
        if self.state == "READY" and t == "MODERATE":
            self._moderate(f, code)
            return
        if self.state == "READY" and t not in ("HELLO", "LOGIN") and BY_NAME[t][0] < 0x80:
            raise NotImplementedError("model server does not implement READY frame " + t)
        # STATE-2
        ref = f["client_ref"] if t in ("SEND", "DIRECT") else 0
        self._error("UNEXPECTED_FRAME", frame_type=code, client_ref=ref)

    def _is_operator(self):
        return user_key(self.name) in {user_key(o) for o in self.mod.get("operators", [])}

    def _room_info(self, room):
        """MOD-6: ROOM_INFO right after JOINED, to clients that set HELLO MODERATION."""
        if self.mod is None or not self.hello_mod:
            return
        role = ROLES["server_operator"] if self._is_operator() else ROLES["none"]
        self._send(F("ROOM_INFO", room=room, modes=0, member_limit=0, role=role, founder="",
                     changed_by="", topic_by="", topic_at=0, topic=""))

    def _moderate(self, f, code):
        """MOD-20 for KICK, on rooms whose members the configuration lists."""
        if f["action"] != MOD_ACTIONS["KICK"]:
            raise NotImplementedError("model server moderates with KICK only")
        reason = f["reason"].encode("utf-8") if isinstance(f["reason"], str) else f["reason"]
        target = unicodedata.normalize("NFC", f["target"])
        room = user_key(f["room"])
        if len(reason) > 390:
            self._error("TEXT_TOO_LONG", frame_type=code, fatal=False)
        elif not name_is_valid(target, self.limits["max_username"]):
            self._error("INVALID_TARGET", frame_type=code, fatal=False)
        elif room not in self.members and f["room"] not in self.rooms:
            self._error("NO_SUCH_ROOM", frame_type=code, fatal=False)
        elif not self._is_operator():
            self._error("NOT_PERMITTED", frame_type=code, fatal=False)
        elif user_key(target) not in self.members.get(room, set()):
            self._error("NO_SUCH_USER", frame_type=code, fatal=False)
        else:
            self.members[room].discard(user_key(target))
            self.next_audit_id += 1
            self._send(F("MODERATION_EVENT", id=self.next_audit_id, time=TIME_2026_11_25,
                         action=f["action"], room=f["room"], actor=self.name, target=target,
                         expires=0, reason=f["reason"]))

    def _login(self, f):
        nfc = unicodedata.normalize("NFC", f["username"])
        if f["mode"] in (1, 2):
            reject = "ACCOUNTS_UNAVAILABLE"
        elif f["password"] != "":
            reject = "AUTH_FAILED"
        elif not name_is_valid(nfc, self.cfg["max_username"]):
            reject = "NAME_INVALID"
        elif user_key(nfc) in {user_key(r) for r in self.cfg["reserved"]}:
            reject = "NAME_RESERVED"
        elif user_key(nfc) in {user_key(unicodedata.normalize("NFC", t)) for t in self.cfg["taken"]}:
            reject = "NAME_TAKEN"
        else:
            reject = None
        if reject is None:
            self._send(F("WELCOME", username=nfc, flags=0, server_time=TIME_2026_11_25))
            self.state = "READY"
            self.name = nfc
            if not self.no_auto_join:
                room = "lobby"
                self.rooms[room] = 0
                self._send(F("JOINED", room=room, next_seq=1, members=1))
                self._room_info(room)
                self._send(F("HISTORY_END", kind=0, target=room, count=0, flags=0))
            return
        self.attempts_left -= 1
        self._send(F("LOGIN_REJECTED", code=ERRORS[reject], attempts_left=self.attempts_left,
                     message=reject.lower()))
        if self.attempts_left == 0:
            self._error("TOO_MANY_ATTEMPTS", frame_type=0x11)


# ---------------------------------------------------------------------------
# conversations.json
# ---------------------------------------------------------------------------

SERVER = {"login_attempts": 3, "taken": ["bob"], "reserved": ["admin", "server"],
          "max_username": 32}

# Expected (partial) frames.
GREETING_X = {"type": "GREETING", "min_version": 1, "max_version": 1, "default_room": "lobby"}
# LIMITS-1: right after the GREETING, before anything else.
LIMITS_X = {"type": "LIMITS", "entries": [{"id": 1, "value": DEFAULT_QUEUE_BYTES}]}


def WELCOME_X(name):
    return {"type": "WELCOME", "username": name, "flags": 0}


AUTO_JOIN_X = [
    {"type": "JOINED", "room": "lobby"},
    {"type": "HISTORY_END", "kind": 0, "target": "lobby", "count": 0, "flags": 0},
]


def LOGGED_IN_X(name):
    return [WELCOME_X(name)] + AUTO_JOIN_X


def REJ_X(code_name, left):
    return {"type": "LOGIN_REJECTED", "code": ERRORS[code_name], "attempts_left": left}


def ERR_X(code_name, frame_type, fatal, client_ref=0):
    return {"type": "ERROR", "code": ERRORS[code_name], "flags": FATAL if fatal else 0,
            "frame_type": frame_type, "client_ref": client_ref}


def c_hello(version=1, flags=0, client="confab-test", magic=None):
    return encode_frame(F("HELLO", version=version, flags=flags, client=client), magic)


def c_login(username, mode=0, password=""):
    return encode_frame(F("LOGIN", mode=mode, username=username, password=password))


def c(frame):
    return encode_frame(frame)


HELLO = c_hello()


def step(client, expect, closed=False):
    return {"client": h(client), "expect": expect, "closed": closed}


def START():
    return step(b"", [GREETING_X, LIMITS_X])


def conv(name, description, steps, server=None):
    return {"name": name, "description": description, "server": dict(server or SERVER),
            "steps": steps}


def build_conversations():
    C = []
    ex = {n: bytes.fromhex(hx) for n, hx in
          ((v["name"], v["hex"]) for v in example_vectors([]))}

    C.append(conv(
        "guest-login-happy-path",
        "HELLO, then a guest LOGIN: WELCOME, then auto-join of the default room "
        "(JOINED lobby, HISTORY_END kind 0 count 0). HANDSHAKE-1..3, HANDSHAKE-7, ROOM-2.",
        [START(),
         step(HELLO, []),
         step(c_login("alice"), LOGGED_IN_X("alice"))]))

    C.append(conv(
        "pipelined-hello-and-login",
        "HELLO and LOGIN arrive in one read; the server processes them in order. STATE-5.",
        [START(),
         step(HELLO + c_login("alice"), LOGGED_IN_X("alice"))]))

    C.append(conv(
        "example-session",
        "The client side of the section 19 example session (header lengths corrected). "
        "The SEND to the auto-joined lobby is acknowledged; GOODBYE closes without a reply.",
        [step(b"", [dict(GREETING_X, limits=dict(DEFAULT_LIMITS)), LIMITS_X]),
         step(ex["example-hello"], []),
         step(ex["example-login"], LOGGED_IN_X("alice")),
         step(ex["example-send"], [{"type": "ACK", "client_ref": 1}]),
         step(ex["example-goodbye"], [], closed=True)]))

    C.append(conv(
        "no-auto-join",
        "HELLO flags bit 0 NO_AUTO_JOIN: WELCOME only, no JOINED or HISTORY_END. HANDSHAKE-7.",
        [START(),
         step(c_hello(flags=1), []),
         step(c_login("alice"), [WELCOME_X("alice")])]))

    C.append(conv(
        "no-auto-join-pipelined-undefined-hello-flag-bits-ignored",
        "HELLO flags 0xFF: only bit 0 is defined (TYPES-3), so this is NO_AUTO_JOIN.",
        [START(),
         step(c_hello(flags=0xFF) + c_login("alice"), [WELCOME_X("alice")])]))

    C.append(conv(
        "name-taken-case-insensitive-then-retry",
        "'bob' is logged in elsewhere. 'BOB' and 'Bob' are taken (case-insensitive, "
        "HANDSHAKE-5, SEC-3); then 'carol' is accepted.",
        [START(),
         step(HELLO, []),
         step(c_login("BOB"), [REJ_X("NAME_TAKEN", 2)]),
         step(c_login("Bob"), [REJ_X("NAME_TAKEN", 1)]),
         step(c_login("carol"), LOGGED_IN_X("carol"))]))

    C.append(conv(
        "name-taken-after-nfc-and-lowercase",
        "'zo\u00eb' (NFC) is logged in elsewhere; 'ZOE' + U+0308 normalises to 'ZO\u00cb' whose "
        "lower case is 'zo\u00eb': NAME_TAKEN. SEC-3.",
        [START(),
         step(HELLO, []),
         step(c_login("ZOE\u0308"), [REJ_X("NAME_TAKEN", 2)]),
         step(c_login("zoe"), LOGGED_IN_X("zoe"))],
        server=dict(SERVER, taken=["bob", "zo\u00eb"])))

    C.append(conv(
        "look-alike-names-are-taken-or-reserved",
        "SEC-8 (1.1): names compare by the TR39 skeleton of their lower-cased NFKC form. "
        "Fullwidth '\uff41\uff44\uff4d\uff49\uff4e', Cyrillic '\u0430dmin' and "
        "'\u017ferver' (long s) are NAME_RESERVED like 'admin' and 'server'; Cyrillic "
        "'\u0430lice' and 'ALICE' are the logged-in 'alice': NAME_TAKEN; 'alicia' is "
        "accepted. HANDSHAKE-5.",
        [START(),
         step(HELLO, []),
         step(c_login("\uff41\uff44\uff4d\uff49\uff4e"), [REJ_X("NAME_RESERVED", 9)]),
         step(c_login("\u0430dmin"), [REJ_X("NAME_RESERVED", 8)]),
         step(c_login("\u017ferver"), [REJ_X("NAME_RESERVED", 7)]),
         step(c_login("\u0430lice"), [REJ_X("NAME_TAKEN", 6)]),
         step(c_login("ALICE"), [REJ_X("NAME_TAKEN", 5)]),
         step(c_login("alicia"), LOGGED_IN_X("alicia"))],
        server=dict(SERVER, login_attempts=10, taken=["bob", "alice"])))

    C.append(conv(
        "invalid-names-exhaust-attempts",
        "Empty name, name with a space, name with a control character: NAME_INVALID with "
        "attempts_left 2, 1, 0, then ERROR TOO_MANY_ATTEMPTS (fatal) and close. "
        "HANDSHAKE-4, HANDSHAKE-5, SEC-4.",
        [START(),
         step(HELLO, []),
         step(c_login(""), [REJ_X("NAME_INVALID", 2)]),
         step(c_login("a b"), [REJ_X("NAME_INVALID", 1)]),
         step(c_login("a\x07b"), [REJ_X("NAME_INVALID", 0),
                                  ERR_X("TOO_MANY_ATTEMPTS", 0x11, True)], closed=True)]))

    invalid = [
        ("ab\u202ecd", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("a" * 33, "33 bytes, above max_username 32"),
        ("\u65e5" * 11, "11 CJK characters = 33 bytes"),
        ("a\u200bb", "U+200B ZERO WIDTH SPACE"),
        ("\ufeffab", "U+FEFF"),
        ("a\u2066b", "U+2066 LEFT-TO-RIGHT ISOLATE"),
        ("a\u061cb", "U+061C ARABIC LETTER MARK"),
        ("a\u00a0b", "U+00A0 NO-BREAK SPACE (white space)"),
        ("a\u3000b", "U+3000 IDEOGRAPHIC SPACE (white space)"),
        ("a\tb", "TAB"),
        ("ab\x7f", "DEL (Cc)"),
        ("a\u0085b", "U+0085 NEXT LINE (Cc)"),
        ("/nick", "'/' at the start"),
        ("@alice", "'@' at the start"),
        ("#alice", "'#' at the start"),
        (" alice", "leading space"),
        ("alice\n", "trailing newline"),
        ("a\x00b", "NUL"),
        ("ad\u00admin", "U+00AD SOFT HYPHEN (default-ignorable, 1.1)"),
        ("admin\u034f", "U+034F COMBINING GRAPHEME JOINER (default-ignorable, 1.1)"),
        ("\u3164", "U+3164 HANGUL FILLER (1.1)"),
        ("\u2800", "U+2800 BRAILLE PATTERN BLANK (1.1)"),
        ("a\ufe0f", "U+FE0F VARIATION SELECTOR-16 (default-ignorable, 1.1)"),
    ]
    steps = [START(), step(HELLO, [])]
    left = 30
    for name, _why in invalid:
        left -= 1
        steps.append(step(c_login(name), [REJ_X("NAME_INVALID", left)]))
    steps.append(step(c_login("a/b@c#d"), LOGGED_IN_X("a/b@c#d")))
    C.append(conv(
        "invalid-names-each-rejected",
        "login_attempts 30. Each LOGIN breaks one SEC-4 rule and is answered NAME_INVALID "
        "with attempts_left counting down: " + "; ".join(w for _, w in invalid) +
        ". Finally 'a/b@c#d' ('/', '@', '#' only forbidden at the start) is accepted.",
        steps, server=dict(SERVER, login_attempts=30)))

    C.append(conv(
        "name-length-boundaries",
        "33 ASCII bytes rejected, 32 accepted (max_username 32; lengths in bytes).",
        [START(),
         step(HELLO, []),
         step(c_login("a" * 33), [REJ_X("NAME_INVALID", 2)]),
         step(c_login("a" * 32), LOGGED_IN_X("a" * 32))]))

    C.append(conv(
        "name-length-multibyte-boundary",
        "'\u65e5'x11 (33 bytes) rejected; '\u65e5'x10 + 'ab' (32 bytes) accepted.",
        [START(),
         step(HELLO, []),
         step(c_login("\u65e5" * 11), [REJ_X("NAME_INVALID", 2)]),
         step(c_login("\u65e5" * 10 + "ab"), LOGGED_IN_X("\u65e5" * 10 + "ab"))]))

    C.append(conv(
        "name-nfc-normalised-before-length-check",
        "16 x ('e' + U+0301) is 48 bytes as sent but 32 bytes after NFC (16 x U+00E9): "
        "accepted, and WELCOME carries the NFC form. SEC-3, SEC-4.",
        [START(),
         step(HELLO, []),
         step(c_login("e\u0301" * 16), LOGGED_IN_X("\u00e9" * 16))]))

    C.append(conv(
        "multibyte-name-accepted",
        "'h\u00e9llo' is a valid name.",
        [START(),
         step(HELLO + c_login("h\u00e9llo"), LOGGED_IN_X("h\u00e9llo"))]))

    C.append(conv(
        "reserved-names",
        "'admin' and 'server' are reserved: NAME_RESERVED (22); then 'alice' is accepted.",
        [START(),
         step(HELLO, []),
         step(c_login("admin"), [REJ_X("NAME_RESERVED", 2)]),
         step(c_login("server"), [REJ_X("NAME_RESERVED", 1)]),
         step(c_login("alice"), LOGGED_IN_X("alice"))]))

    C.append(conv(
        "too-many-attempts",
        "Three rejected LOGINs: the third LOGIN_REJECTED has attempts_left 0 and is followed "
        "by ERROR TOO_MANY_ATTEMPTS (9, fatal); the connection is closed. HANDSHAKE-4.",
        [START(),
         step(HELLO, []),
         step(c_login("bob"), [REJ_X("NAME_TAKEN", 2)]),
         step(c_login("admin"), [REJ_X("NAME_RESERVED", 1)]),
         step(c_login(""), [REJ_X("NAME_INVALID", 0),
                            ERR_X("TOO_MANY_ATTEMPTS", 0x11, True)], closed=True)]))

    C.append(conv(
        "too-many-attempts-pipelined-rest-ignored",
        "HELLO and four LOGINs in one read: after the fatal TOO_MANY_ATTEMPTS nothing more is "
        "processed (ERROR-3, STATE-4), so the fourth LOGIN (a valid name) gets no answer.",
        [START(),
         step(HELLO + c_login("bob") + c_login("bob") + c_login("bob") + c_login("alice"),
              [REJ_X("NAME_TAKEN", 2), REJ_X("NAME_TAKEN", 1), REJ_X("NAME_TAKEN", 0),
               ERR_X("TOO_MANY_ATTEMPTS", 0x11, True)], closed=True),
         step(c_login("carol"), [], closed=True)]))

    C.append(conv(
        "single-login-attempt",
        "login_attempts 1: the first rejection already ends the connection.",
        [START(),
         step(HELLO + c_login("bob"), [REJ_X("NAME_TAKEN", 0),
                                       ERR_X("TOO_MANY_ATTEMPTS", 0x11, True)], closed=True)],
        server=dict(SERVER, login_attempts=1)))

    C.append(conv(
        "send-before-login",
        "SEND in AWAIT_LOGIN is not legal: ERROR UNEXPECTED_FRAME (5, not fatal) with "
        "frame_type 0x15 and the SEND's client_ref; the connection stays open and a LOGIN "
        "then succeeds. STATE-2, STATE-3.",
        [START(),
         step(HELLO, []),
         step(c(F("SEND", client_ref=7, room="lobby", body="hi")),
              [ERR_X("UNEXPECTED_FRAME", 0x15, False, client_ref=7)]),
         step(c_login("alice"), LOGGED_IN_X("alice"))]))

    C.append(conv(
        "ready-state-frames-before-login-are-unexpected",
        "JOIN, LIST_ROOMS, WHO in AWAIT_LOGIN: UNEXPECTED_FRAME (not fatal) each, in order.",
        [START(),
         step(HELLO, []),
         step(c(F("JOIN", room="rust", since_seq=0, history=0)) + c(F("LIST_ROOMS")) +
              c(F("WHO", room="")),
              [ERR_X("UNEXPECTED_FRAME", 0x12, False), ERR_X("UNEXPECTED_FRAME", 0x14, False),
               ERR_X("UNEXPECTED_FRAME", 0x17, False)]),
         step(c_login("alice"), LOGGED_IN_X("alice"))]))

    C.append(conv(
        "server-frame-from-client-is-unexpected",
        "A frame of the wrong direction (WELCOME, 0x81) from the client in AWAIT_LOGIN: "
        "UNEXPECTED_FRAME, not fatal. STATE-2.",
        [START(),
         step(HELLO, []),
         step(c(F("WELCOME", username="alice", flags=0, server_time=1)),
              [ERR_X("UNEXPECTED_FRAME", 0x81, False)]),
         step(c_login("alice"), LOGGED_IN_X("alice"))]))

    C.append(conv(
        "login-after-welcome-is-unexpected",
        "A second LOGIN and a second HELLO in READY: UNEXPECTED_FRAME each, not fatal.",
        [START(),
         step(HELLO + c_login("alice"), LOGGED_IN_X("alice")),
         step(c_login("alice2"), [ERR_X("UNEXPECTED_FRAME", 0x11, False)]),
         step(HELLO, [ERR_X("UNEXPECTED_FRAME", 0x10, False)]),
         step(c(F("PING", nonce=5)), [{"type": "PONG", "nonce": 5}])]))

    C.append(conv(
        "login-before-hello",
        "The first frame is LOGIN, not HELLO: ERROR NOT_CONFAB (6, fatal, frame_type 0x11), "
        "close. STATE-1.",
        [START(),
         step(c_login("alice"), [ERR_X("NOT_CONFAB", 0x11, True)], closed=True)]))

    C.append(conv(
        "ping-before-hello",
        "PING is not legal before HELLO; any first frame other than HELLO is NOT_CONFAB. STATE-1.",
        [START(),
         step(c(F("PING", nonce=1)), [ERR_X("NOT_CONFAB", 0x01, True)], closed=True)]))

    C.append(conv(
        "unknown-frame-before-hello",
        "An unknown frame (0xA0) first: NOT_CONFAB (fatal) with frame_type 0xA0. STATE-1.",
        [START(),
         step(c(UNKNOWN(0xA0, "010203")), [ERR_X("NOT_CONFAB", 0xA0, True)], closed=True)]))

    C.append(conv(
        "type-00-frame-before-hello",
        "Frame type 0x00 (never assigned) with an empty body first: NOT_CONFAB (fatal).",
        [START(),
         step(c(UNKNOWN(0x00, "")), [ERR_X("NOT_CONFAB", 0x00, True)], closed=True)]))

    C.append(conv(
        "hello-unsupported-version-2",
        "HELLO version 2, server speaks 1..1: ERROR UNSUPPORTED_VERSION (7, fatal). HANDSHAKE-2.",
        [START(),
         step(c_hello(version=2), [ERR_X("UNSUPPORTED_VERSION", 0x10, True)], closed=True)]))

    C.append(conv(
        "hello-unsupported-version-0",
        "HELLO version 0: ERROR UNSUPPORTED_VERSION (7, fatal). HANDSHAKE-2.",
        [START(),
         step(c_hello(version=0), [ERR_X("UNSUPPORTED_VERSION", 0x10, True)], closed=True)]))

    C.append(conv(
        "hello-bad-magic",
        "HELLO with magic 'CONFAX': ERROR NOT_CONFAB (6, fatal, frame_type 0x10). HANDSHAKE-2.",
        [START(),
         step(c_hello(magic=b"CONFAX"), [ERR_X("NOT_CONFAB", 0x10, True)], closed=True)]))

    C.append(conv(
        "http-request",
        "An HTTP request as the first bytes: 'G' is printable ASCII, so NOT_CONFAB (fatal, "
        "frame_type 0) without looking at the length. FRAMING-4, VERSION-5.",
        [START(),
         step(b"GET / HTTP/1.1\r\nHost: chat.example\r\n\r\n", [ERR_X("NOT_CONFAB", 0, True)],
              closed=True)]))

    C.append(conv(
        "typed-text",
        "A person typing into telnet: NOT_CONFAB (fatal, frame_type 0). FRAMING-4.",
        [START(),
         step(b"hello\r\n", [ERR_X("NOT_CONFAB", 0, True)], closed=True)]))

    C.append(conv(
        "ascii-after-hello",
        "Printable ASCII where a frame type is expected after HELLO is still NOT_CONFAB.",
        [START(),
         step(HELLO, []),
         step(b"alice\n", [ERR_X("NOT_CONFAB", 0, True)], closed=True)]))

    C.append(conv(
        "unknown-frame-after-login",
        "An unknown frame type 0xA0 (3-byte body) in READY: ERROR UNKNOWN_FRAME_TYPE (4, not "
        "fatal, frame_type 160), skipped; the connection stays open (PING answered). "
        "FRAMING-5, VERSION-3.",
        [START(),
         step(HELLO + c_login("alice"), LOGGED_IN_X("alice")),
         step(c(UNKNOWN(0xA0, "010203")), [ERR_X("UNKNOWN_FRAME_TYPE", 0xA0, False)]),
         step(c(F("PING", nonce=77)), [{"type": "PONG", "nonce": 77}])]))

    C.append(conv(
        "unknown-frame-in-await-login",
        "Unknown frames (0xA0, 0x19, 0x7F) after HELLO but before LOGIN: UNKNOWN_FRAME_TYPE "
        "each (not fatal); then LOGIN works. VERSION-3.",
        [START(),
         step(HELLO, []),
         step(c(UNKNOWN(0xA0, "010203")) + c(UNKNOWN(0x19, "")) + c(UNKNOWN(0x7F, "ff")),
              [ERR_X("UNKNOWN_FRAME_TYPE", 0xA0, False), ERR_X("UNKNOWN_FRAME_TYPE", 0x19, False),
               ERR_X("UNKNOWN_FRAME_TYPE", 0x7F, False)]),
         step(c_login("alice"), LOGGED_IN_X("alice"))]))

    C.append(conv(
        "ping-in-await-login",
        "PING after HELLO, before LOGIN: PONG with the same nonce. KEEPALIVE-1.",
        [START(),
         step(HELLO, []),
         step(c(F("PING", nonce=0x001F2E3D4C5B6A79)), [{"type": "PONG", "nonce": 0x001F2E3D4C5B6A79}]),
         step(c_login("alice"), LOGGED_IN_X("alice"))]))

    C.append(conv(
        "pong-in-await-login-ignored",
        "An unsolicited PONG in AWAIT_LOGIN is legal and gets no answer.",
        [START(),
         step(HELLO, []),
         step(c(F("PONG", nonce=3)), []),
         step(c_login("alice"), LOGGED_IN_X("alice"))]))

    C.append(conv(
        "second-hello",
        "A second HELLO in AWAIT_LOGIN: ERROR UNEXPECTED_FRAME (5, not fatal, frame_type 0x10); "
        "LOGIN still works. STATE-2.",
        [START(),
         step(HELLO, []),
         step(HELLO, [ERR_X("UNEXPECTED_FRAME", 0x10, False)]),
         step(c_login("alice"), LOGGED_IN_X("alice"))]))

    C.append(conv(
        "guest-with-password",
        "Guest LOGIN (mode 0) with a non-empty password: LOGIN_REJECTED AUTH_FAILED (23). "
        "HANDSHAKE-6.",
        [START(),
         step(HELLO, []),
         step(c_login("alice", mode=0, password="secret"), [REJ_X("AUTH_FAILED", 2)]),
         step(c_login("alice"), LOGGED_IN_X("alice"))]))

    C.append(conv(
        "accounts-unavailable",
        "The server has no accounts (GREETING flags without ACCOUNTS): LOGIN mode 1 and mode 2 "
        "are rejected with ACCOUNTS_UNAVAILABLE (26); a guest LOGIN then works. HANDSHAKE-6.",
        [START(),
         step(HELLO, []),
         step(c_login("alice", mode=1, password="pw"), [REJ_X("ACCOUNTS_UNAVAILABLE", 2)]),
         step(c_login("alice", mode=2, password="pw"), [REJ_X("ACCOUNTS_UNAVAILABLE", 1)]),
         step(c_login("alice"), LOGGED_IN_X("alice"))]))

    C.append(conv(
        "goodbye-in-await-login",
        "GOODBYE from the client: no frame in answer, connection closed. CLOSE-1, STATE-4.",
        [START(),
         step(HELLO, []),
         step(c(F("GOODBYE", reason=0, message="")), [], closed=True)]))

    C.append(conv(
        "goodbye-before-hello",
        "GOODBYE is legal in AWAIT_HELLO: no answer, closed.",
        [START(),
         step(c(F("GOODBYE", reason=0, message="bye")), [], closed=True)]))

    C.append(conv(
        "goodbye-after-login",
        "GOODBYE in READY: no answer, closed; later bytes are ignored. STATE-4.",
        [START(),
         step(HELLO + c_login("alice"), LOGGED_IN_X("alice")),
         step(c(F("GOODBYE", reason=0, message="")) + c(F("PING", nonce=1)), [], closed=True)]))

    C.append(conv(
        "client-error-non-fatal-ignored",
        "A non-fatal ERROR from the client is logged and not answered (ERROR-2).",
        [START(),
         step(HELLO, []),
         step(c(F("ERROR", code=5, flags=0, frame_type=0x8D, client_ref=0, message="?")), []),
         step(c_login("alice"), LOGGED_IN_X("alice"))]))

    C.append(conv(
        "client-error-fatal-closes",
        "A fatal ERROR from the client: not answered, the server closes. ERROR-2, STATE-4.",
        [START(),
         step(HELLO, []),
         step(c(F("ERROR", code=55, flags=FATAL, frame_type=0, client_ref=0, message="crash")),
              [], closed=True)]))

    C.append(conv(
        "oversized-frame-header",
        "A header declaring length 0x00100000 (> max_frame 65536), without any body: "
        "ERROR FRAME_TOO_LARGE (2, fatal, frame_type 0) at once. FRAMING-2.",
        [START(),
         step(HELLO, []),
         step(header(0x11, 0x00100000), [ERR_X("FRAME_TOO_LARGE", 0, True)], closed=True)]))

    C.append(conv(
        "oversized-frame-header-first",
        "The very first header declares length 0xFFFFFFFF: FRAME_TOO_LARGE (fatal) is checked "
        "before anything else about the frame. FRAMING-2.",
        [START(),
         step(header(0x10, U32_MAX), [ERR_X("FRAME_TOO_LARGE", 0, True)], closed=True)]))

    login_trailing = bytearray(c_login("alice"))
    login_trailing += b"\x00"
    login_trailing[1:5] = (len(login_trailing) - 5).to_bytes(4, "big")
    C.append(conv(
        "malformed-login-trailing-byte",
        "LOGIN with one byte after the password: ERROR MALFORMED_FRAME (1, fatal, "
        "frame_type 0x11), closed. FRAMING-3.",
        [START(),
         step(HELLO, []),
         step(bytes(login_trailing), [ERR_X("MALFORMED_FRAME", 0x11, True)], closed=True)]))

    C.append(conv(
        "malformed-login-mode-3",
        "LOGIN mode 3 (undefined): MALFORMED_FRAME (fatal). TYPES-4.",
        [START(),
         step(HELLO, []),
         step(c(F("LOGIN", mode=3, username="alice", password="")),
              [ERR_X("MALFORMED_FRAME", 0x11, True)], closed=True)]))

    C.append(conv(
        "invalid-utf8-username",
        "LOGIN whose username contains 0xFF: ERROR INVALID_UTF8 (3, fatal, frame_type 0x11), "
        "closed. TYPES-1.",
        [START(),
         step(HELLO, []),
         step(c(F("LOGIN", mode=0, username=b"al\xffce", password=b"")),
              [ERR_X("INVALID_UTF8", 0x11, True)], closed=True)]))

    C.append(conv(
        "invalid-utf8-surrogate-username",
        "LOGIN whose username contains an encoded surrogate (ED A0 80): INVALID_UTF8 (fatal).",
        [START(),
         step(HELLO, []),
         step(c(F("LOGIN", mode=0, username=b"a\xed\xa0\x80", password=b"")),
              [ERR_X("INVALID_UTF8", 0x11, True)], closed=True)]))

    # --- spec 1.1 ---
    blank = [" ", "\t\n", "\u00a0\u3000", "\u0085", "\u200b", "\ufeff", "\u2060\u2064",
             "\u200e\u202e\u2066", "\u200b \u200c\u200d"]
    visible = ["\u180e", "\u3164", "\u200bx", "\x07"]
    C.append(conv(
        "blank-bodies",
        "SENDs to the auto-joined lobby whose bodies show nothing (white space, zero-width, "
        "invisible and bidi formatting characters) are EMPTY_MESSAGE with their client_ref; "
        "U+180E (not White_Space since Unicode 6.3), U+3164, a ZWSP around a letter and a BEL "
        "are bodies. TYPES-5, MSG-6.",
        [START(), step(HELLO + c_login("alice"), LOGGED_IN_X("alice"))] +
        [step(c(F("SEND", client_ref=i + 1, room="lobby", body=b)),
              [ERR_X("EMPTY_MESSAGE", 0x15, False, client_ref=i + 1)])
         for i, b in enumerate(blank)] +
        [step(c(F("SEND", client_ref=100 + i, room="lobby", body=b)),
              [{"type": "ACK", "client_ref": 100 + i}])
         for i, b in enumerate(visible)]))

    C.append(conv(
        "guest-with-password-and-invalid-name",
        "A guest LOGIN with a password and the invalid name 'a b': the mode is judged before "
        "the name, so AUTH_FAILED, not NAME_INVALID (STATE-7, HANDSHAKE-6).",
        [START(), step(HELLO, []),
         step(c_login("a b", password="pw"), [REJ_X("AUTH_FAILED", 2)])]))

    C.append(conv(
        "empty-send-to-a-room-not-joined",
        "An empty SEND to a room the client is not in: EMPTY_MESSAGE, the body is judged "
        "before the room (STATE-7); a non-empty one: NOT_IN_ROOM.",
        [START(), step(HELLO + c_login("alice"), LOGGED_IN_X("alice")),
         step(c(F("SEND", client_ref=1, room="elsewhere", body="")),
              [ERR_X("EMPTY_MESSAGE", 0x15, False, client_ref=1)]),
         step(c(F("SEND", client_ref=2, room="elsewhere", body="hi")),
              [ERR_X("NOT_IN_ROOM", 0x15, False, client_ref=2)])]))

    C.append(conv(
        "pipelined-join-after-login",
        "HELLO, LOGIN, JOIN 'side' and a SEND to lobby in one read: the JOIN is answered "
        "after WELCOME and the whole auto-join of lobby; then the SEND. STATE-8, HANDSHAKE-7.",
        [START(),
         step(HELLO + c_login("alice") + c(F("JOIN", room="side", since_seq=0, history=0)) +
              c(F("SEND", client_ref=3, room="lobby", body="hi")),
              LOGGED_IN_X("alice") + [
                  {"type": "JOINED", "room": "side"},
                  {"type": "HISTORY_END", "kind": 0, "target": "side", "count": 0, "flags": 0},
                  {"type": "ACK", "client_ref": 3}])]))

    C.append(conv(
        "pipelined-join-after-rejected-login",
        "HELLO, a LOGIN as the taken 'bob', JOIN, then LOGIN 'carol', in one read: the JOIN "
        "after the rejected LOGIN is UNEXPECTED_FRAME (not carried out); carol's LOGIN is the "
        "next attempt. STATE-8, STATE-2.",
        [START(),
         step(HELLO + c_login("bob") + c(F("JOIN", room="side", since_seq=0, history=0)) +
              c_login("carol"),
              [REJ_X("NAME_TAKEN", 2), ERR_X("UNEXPECTED_FRAME", 0x12, False)] +
              LOGGED_IN_X("carol"))]))

    client_hello = bytes.fromhex("16030100f4010000f00303") + bytes(32)
    C.append(conv(
        "tls-client-hello-on-plain-port",
        "A TLS ClientHello (16 03 01 ...) as the first bytes: detected before the length check "
        "(as a header it declares > 50 MB): NOT_CONFAB (fatal, frame_type 0), not "
        "FRAME_TOO_LARGE. TRANSPORT-4, STATE-6.",
        [START(),
         step(client_hello, [ERR_X("NOT_CONFAB", 0, True)], closed=True)]))

    C.append(conv(
        "http2-preface",
        "The HTTP/2 connection preface starts with 'P' (printable ASCII): NOT_CONFAB (fatal, "
        "frame_type 0). FRAMING-4, VERSION-5.",
        [START(),
         step(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", [ERR_X("NOT_CONFAB", 0, True)],
              closed=True)]))

    C.append(conv(
        "direct-type-with-03-length-after-hello-is-too-large",
        "After HELLO, 16 03 ... is a DIRECT header declaring > 50 MB: FRAME_TOO_LARGE. "
        "TRANSPORT-4 applies to the first bytes only.",
        [START(),
         step(HELLO, []),
         step(client_hello, [ERR_X("FRAME_TOO_LARGE", 0, True)], closed=True)]))

    C.append(conv(
        "malformed-server-frame-from-client-is-unexpected",
        "A WELCOME (server-to-client) with a truncated body from the client in AWAIT_LOGIN and "
        "a MESSAGE with trailing bytes in READY: judged by type alone, UNEXPECTED_FRAME (not "
        "fatal), the bodies are not examined; the connection stays open. STATE-6.",
        [START(),
         step(HELLO, []),
         step(header(0x81, 3) + b"\x05al", [ERR_X("UNEXPECTED_FRAME", 0x81, False)]),
         step(c_login("alice"), LOGGED_IN_X("alice")),
         step(header(0x83, 2) + b"\xff\xff", [ERR_X("UNEXPECTED_FRAME", 0x83, False)]),
         step(c(F("PING", nonce=9)), [{"type": "PONG", "nonce": 9}])]))

    C.append(conv(
        "limits-follow-the-greeting",
        "At accept the server sends GREETING in its 1.0 layout, then LIMITS (queue_bytes, "
        "id 1), before it has read a byte; a LIMITS from the client is a server-to-client "
        "type: UNEXPECTED_FRAME, not fatal, body unexamined. LIMITS-1, LIMITS-3, STATE-6.",
        [step(b"", [dict(GREETING_X, limits=dict(DEFAULT_LIMITS)), LIMITS_X]),
         step(HELLO, []),
         step(c(limits_frame(queue_bytes=1)), [ERR_X("UNEXPECTED_FRAME", 0x8E, False)]),
         step(header(0x8E, 1) + b"\x00", [ERR_X("UNEXPECTED_FRAME", 0x8E, False)]),
         step(c_login("alice"), LOGGED_IN_X("alice"))]))

    C.append(conv(
        "malformed-send-before-login-is-malformed",
        "A SEND with trailing bytes in AWAIT_LOGIN: client-to-server bodies are decoded before "
        "the state is judged, so MALFORMED_FRAME (fatal). STATE-6.",
        [START(),
         step(HELLO, []),
         step(header(0x15, 9) + bytes.fromhex("00000007" "00" "0000" "aaaa"),
              [ERR_X("MALFORMED_FRAME", 0x15, True)], closed=True)]))

    C.append(conv(
        "malformed-first-frame-is-not-confab",
        "A PING with a 3-byte body as the first frame: judged by "
        "type alone, NOT_CONFAB (fatal) with client_ref 0, not MALFORMED_FRAME. STATE-1, "
        "STATE-6.",
        [START(),
         step(header(0x01, 3) + b"abc", [ERR_X("NOT_CONFAB", 0x01, True)], closed=True)]))

    C.append(conv(
        "send-first-is-not-confab-with-client-ref-0",
        "A well-formed SEND as the first frame: NOT_CONFAB (fatal), client_ref 0 (the body is "
        "not examined). STATE-1.",
        [START(),
         step(c(F("SEND", client_ref=7, room="lobby", body="hi")),
              [ERR_X("NOT_CONFAB", 0x15, True, client_ref=0)], closed=True)]))

    C.append(conv(
        "non-fatal-error-before-hello-then-hello",
        "A non-fatal ERROR first is logged and ignored; the server stays in AWAIT_HELLO, so "
        "HELLO and LOGIN then succeed. STATE-1.",
        [START(),
         step(c(F("ERROR", code=4, flags=0, frame_type=0x80, client_ref=0, message="x")), []),
         step(HELLO + c_login("alice"), LOGGED_IN_X("alice"))]))

    C.append(conv(
        "fatal-error-before-hello-closes-silently",
        "A fatal ERROR first (a client that could not decode the GREETING): the server closes "
        "without answering. STATE-1, STATE-4.",
        [START(),
         step(c(F("ERROR", code=1, flags=FATAL, frame_type=0x80, client_ref=0, message="x")),
              [], closed=True)]))

    split_src = HELLO + c_login("alice")
    C.append(conv(
        "frames-split-across-reads",
        "HELLO and LOGIN delivered in pieces (inside the header, inside the magic, inside the "
        "username): nothing happens until a frame is complete. FRAMING-6. Note: the 'client' "
        "bytes of these steps are not whole frames.",
        [START(),
         step(split_src[:2], []),
         step(split_src[2:8], []),
         step(split_src[8:len(HELLO) + 9], []),
         step(split_src[len(HELLO) + 9:], LOGGED_IN_X("alice"))]))

    # --- moderation (1.2, section 21) ---
    def moderate(action, room, target, reason="", duration_ms=0):
        return c(F("MODERATE", action=MOD_ACTIONS[action], room=room, target=target,
                   duration_ms=duration_ms, reason=reason))

    def mod_err(name, frame_type=0x1C):
        return ERR_X(name, frame_type, False)

    MOD_HELLO = c_hello(flags=HELLO_MODERATION)
    MOD_START = step(b"", [dict(GREETING_X, flags=GREETING_MODERATION), LIMITS_X])

    def room_info_x(room, role):
        return {"type": "ROOM_INFO", "room": room, "role": role, "modes": 0,
                "member_limit": 0, "topic": "", "changed_by": ""}

    def mod_logged_in_x(name, role):
        return [WELCOME_X(name), AUTO_JOIN_X[0], room_info_x("lobby", role), AUTO_JOIN_X[1]]

    short_settings = encode_frame(F("ROOM_SETTINGS", room="den", change=1, modes=0,
                                    member_limit=0, topic="hi"))
    short_settings = header(0x1D, len(short_settings) - 6) + short_settings[5:-1]
    C.append(conv(
        "moderation-frames-are-unknown-without-the-flag",
        "MOD-1: a server whose GREETING does not set MODERATION (bit 4) treats the frames of "
        "section 21 as unknown: MODERATE, a ROOM_SETTINGS with a short body (not examined) "
        "and a ROOM_INFO from the client are each answered UNKNOWN_FRAME_TYPE, not fatal. "
        "VERSION-3, STATE-6 row 6.",
        [START(),
         step(HELLO, []),
         step(c_login("alice"), LOGGED_IN_X("alice")),
         step(moderate("KICK", "lobby", "bob", "spam"), [mod_err("UNKNOWN_FRAME_TYPE")]),
         step(short_settings, [mod_err("UNKNOWN_FRAME_TYPE", 0x1D)]),
         step(c(F("ROOM_INFO", room="lobby", modes=0, member_limit=0, role=0, founder="",
                  changed_by="", topic_by="", topic_at=0, topic="")),
              [mod_err("UNKNOWN_FRAME_TYPE", 0x8F)])]))

    MOD_SERVER = dict(SERVER, moderation={
        "operators": ["root"],
        "members": {"lobby": ["bob"], "den": ["dave"]},
        "bans": {"den": ["carol"]},
    })
    C.append(conv(
        "moderation-kick-by-a-server-operator",
        "Server operator 'root' (named in the server's configuration) on a MODERATION server, "
        "HELLO flag MODERATION (bit 1): the auto-join's answer holds ROOM_INFO (role 4, server "
        "operator) after JOINED (MOD-6). MODERATE KICK of 'bob' from lobby with reason 'spam' "
        "is answered by the MODERATION_EVENT that announces it: audit entry id 1, actor 'root', "
        "target 'bob', expires 0 (MOD-12). Kicking 'bob' again finds no such member: "
        "NO_SUCH_USER (MOD-20 check 5). MOD-3, MOD-11.",
        [MOD_START,
         step(MOD_HELLO, []),
         step(c_login("root"), mod_logged_in_x("root", ROLES["server_operator"])),
         step(moderate("KICK", "lobby", "bob", "spam"),
              [{"type": "MODERATION_EVENT", "id": 1, "action": MOD_ACTIONS["KICK"],
                "room": "lobby", "actor": "root", "target": "bob", "expires": 0,
                "reason": "spam"}]),
         step(moderate("KICK", "lobby", "bob", "again"), [mod_err("NO_SUCH_USER")])],
        server=MOD_SERVER))

    C.append(conv(
        "moderation-ban-refused-on-join-and-actions-refused-to-a-member",
        "'carol' is banned from 'den'. Her JOIN of 'den', and of 'DEN' (room names compare "
        "case-insensitively), is refused BANNED, not fatal (MOD-7); lobby is joined as usual, "
        "with ROOM_INFO role 0. As a plain member her MODERATE KICK of 'dave' in den is "
        "NOT_PERMITTED (MOD-4), but the request's own content is checked first (MOD-20): a "
        "reason of 391 bytes is TEXT_TOO_LONG and a KICK target '@dave' (not a username, "
        "MOD-10) is INVALID_TARGET; a room nobody is in is NO_SUCH_ROOM.",
        [MOD_START,
         step(MOD_HELLO, []),
         step(c_login("carol"), mod_logged_in_x("carol", ROLES["none"])),
         step(c(F("JOIN", room="den", since_seq=0, history=0)), [ERR_X("BANNED", 0x12, False)]),
         step(c(F("JOIN", room="DEN", since_seq=0, history=0)), [ERR_X("BANNED", 0x12, False)]),
         step(moderate("KICK", "den", "dave", "x" * 391), [mod_err("TEXT_TOO_LONG")]),
         step(moderate("KICK", "den", "@dave"), [mod_err("INVALID_TARGET")]),
         step(moderate("KICK", "nowhere", "dave"), [mod_err("NO_SUCH_ROOM")]),
         step(moderate("KICK", "den", "dave", "bye"), [mod_err("NOT_PERMITTED")])],
        server=MOD_SERVER))

    # Replay every conversation against the model server.
    names = set()
    for cv in C:
        assert cv["name"] not in names, cv["name"]
        names.add(cv["name"])
        srv = None
        for i, st in enumerate(cv["steps"]):
            if srv is None:
                assert st["client"] == "", cv["name"]
                srv = ModelServer(cv["server"])
                got = srv.out
            else:
                got = srv.feed(bytes.fromhex(st["client"]))
            want = st["expect"]
            ok = len(got) == len(want) and all(
                all(k in g and g[k] == w[k] for k in w) for g, w in zip(got, want))
            assert ok, (cv["name"], i, got, want)
            assert srv.closed == st["closed"], (cv["name"], i, srv.closed)
            for w in want:
                assert "message" not in w and "server_time" not in w
    return C


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


def check_json_ints(obj, path="$"):
    """Every integer must be < 2^53, except exactly 2^64-1."""
    if isinstance(obj, bool):
        return
    if isinstance(obj, int):
        assert obj <= U53_MAX or obj == U64_MAX, (path, obj)
        assert obj >= 0, (path, obj)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            check_json_ints(v, path + "." + k)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            check_json_ints(v, "%s[%d]" % (path, i))


def dump(obj):
    check_json_ints(obj)
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="verify the files in spec/vectors are up to date; write nothing")
    ap.add_argument("--report", action="store_true",
                    help="print where the spec's example hex had to be corrected")
    args = ap.parse_args()

    report = []
    frames = build_frames(report)
    u64max = [v["name"] for v in frames if U64_MAX in
              [x for x in json.loads(json.dumps(v["frame"])).values() if isinstance(x, int)]]
    assert len(u64max) <= 1, u64max
    malformed = build_malformed()
    conversations = build_conversations()

    outputs = {
        "frames.json": dump({"vectors": frames}),
        "malformed.json": dump({"vectors": malformed}),
        "conversations.json": dump({"conversations": conversations}),
    }
    stale = []
    for fname, text in sorted(outputs.items()):
        path = os.path.join(VECTOR_DIR, fname)
        old = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                old = fh.read()
        if old != text:
            stale.append(fname)
            if not args.check:
                os.makedirs(VECTOR_DIR, exist_ok=True)
                with open(path, "w", encoding="utf-8", newline="\n") as fh:
                    fh.write(text)
    print("frames.json: %d vectors; malformed.json: %d vectors; conversations.json: "
          "%d conversations" % (len(frames), len(malformed), len(conversations)))
    if args.report:
        for line in report:
            print("spec example: " + line)
    if args.check:
        if stale:
            print("out of date: " + ", ".join(stale), file=sys.stderr)
            return 1
        print("up to date")
    else:
        print("written: " + (", ".join(stale) if stale else "nothing changed"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
