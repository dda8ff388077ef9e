//! Runs every test vector in spec/vectors/*.json (format: spec/vectors/README.md).
//! A file is recognised by its content, so adding vectors needs no Rust change:
//! - `{"vectors": [...]}` entries with `"frame"` decode to that frame and re-encode to the same bytes;
//! - `{"vectors": [...]}` entries with `"error"` fail with that registry code, or wait for more bytes;
//! - `{"conversations": [...]}` drive the server-side session state machine.

use bytes::BytesMut;
use confab_protocol::frame::{
    self, code, Ack, ErrorFrame, Frame, HistoryEnd, HistoryKind, Joined, Limits,
};
use confab_protocol::names::{is_blank, name_key, normalize_name, user_key};
use confab_protocol::session::{Request, ServerAction, ServerSession, ServerTimers};
use confab_protocol::{ErrorCode, Str16, Str8, PROTOCOL_VERSION};
use serde_json::Value;
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

mod toy_moderation;
mod toy_server;
use toy_moderation::Moderation;
use toy_server::ToyServer;

const DEFAULT_MAX_FRAME: u32 = 65_536;

fn vector_files() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("spec/vectors exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                json,
            )
        })
        .collect()
}

fn hex_bytes(value: &Value) -> Vec<u8> {
    hex::decode(value.as_str().expect("hex is a string")).expect("valid hex")
}

fn max_frame_of(vector: &Value) -> u32 {
    vector["max_frame"]
        .as_u64()
        .map_or(DEFAULT_MAX_FRAME, |m| m as u32)
}

fn check_valid(vector: &Value) -> Result<(), String> {
    let wire = hex_bytes(&vector["hex"]);
    let mut buf = BytesMut::from(&wire[..]);
    let frame = frame::decode(&mut buf, max_frame_of(vector))
        .map_err(|e| format!("decode failed: {e}"))?
        .ok_or("decoder wanted more bytes")?;
    if !buf.is_empty() {
        return Err(format!("{} bytes left over", buf.len()));
    }
    let json = serde_json::to_value(&frame).unwrap();
    if json != vector["frame"] {
        return Err(format!(
            "decoded {json} but the vector says {}",
            vector["frame"]
        ));
    }
    let encoded = frame.to_bytes();
    if encoded[..] != wire[..] {
        return Err(format!("re-encoded as {}", hex::encode(&encoded)));
    }
    Ok(())
}

fn check_malformed(vector: &Value) -> Result<(), String> {
    let mut buf = BytesMut::from(&hex_bytes(&vector["hex"])[..]);
    let outcome = frame::decode(&mut buf, max_frame_of(vector));
    match (&vector["error"], outcome) {
        (Value::Null, Ok(None)) if vector["incomplete"] == true => Ok(()),
        (Value::String(name), Err(err)) if err.code().name() == Some(name.as_str()) => Ok(()),
        (expected, outcome) => Err(format!("expected {expected}, got {outcome:?}")),
    }
}

fn partial_match(expected: &Value, actual: &Value) -> bool {
    expected
        .as_object()
        .expect("expected frames are objects")
        .iter()
        .all(|(key, value)| &actual[key] == value)
}

fn check_conversation(conversation: &Value) -> Result<(), String> {
    let (mut server, first) = ToyServer::new(&conversation["server"]);
    let mut buf = BytesMut::new();
    let mut greeted = false;
    for (i, step) in conversation["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .enumerate()
    {
        let mut sent = Vec::new();
        if !greeted {
            sent.extend(first.iter().cloned());
            greeted = true;
        }
        sent.extend(server.feed(&hex_bytes(&step["client"]), &mut buf));
        let sent: Vec<Value> = sent
            .iter()
            .map(|f| serde_json::to_value(f).unwrap())
            .collect();
        let expected = step["expect"].as_array().expect("expect is a list");
        let matches = sent.len() == expected.len()
            && expected.iter().zip(&sent).all(|(e, a)| partial_match(e, a));
        if !matches {
            return Err(format!(
                "step {i}: expected {expected:?}, server sent {sent:?}"
            ));
        }
        let expect_closed = step["closed"].as_bool().unwrap_or(false);
        if server.closed != expect_closed {
            return Err(format!(
                "step {i}: closed is {}, expected {expect_closed}",
                server.closed
            ));
        }
    }
    Ok(())
}

#[test]
fn every_spec_vector_passes() {
    // spec: FRAMING-1, FRAMING-2, FRAMING-3, FRAMING-4, FRAMING-5, FRAMING-6
    // spec: TYPES-1, TYPES-2, TYPES-4, SEC-2
    // spec: STATE-1, STATE-2, STATE-5, HANDSHAKE-2, HANDSHAKE-3, HANDSHAKE-4, HANDSHAKE-5
    // spec: HANDSHAKE-7, KEEPALIVE-1, VERSION-3, VERSION-5, ERROR-3, LIMITS-1, LIMITS-2
    let mut failures = Vec::new();
    let mut counts = [0usize; 3];
    for (file, json) in vector_files() {
        for vector in json["vectors"].as_array().into_iter().flatten() {
            let (kind, result) = if vector.get("frame").is_some() {
                (0, check_valid(vector))
            } else {
                (1, check_malformed(vector))
            };
            counts[kind] += 1;
            if let Err(why) = result {
                failures.push(format!("{file}: {}: {why}", vector["name"]));
            }
        }
        for conversation in json["conversations"].as_array().into_iter().flatten() {
            counts[2] += 1;
            if let Err(why) = check_conversation(conversation) {
                failures.push(format!("{file}: {}: {why}", conversation["name"]));
            }
        }
    }
    println!(
        "{} valid frames, {} malformed inputs, {} conversations",
        counts[0], counts[1], counts[2]
    );
    assert!(
        counts.iter().all(|&n| n > 0),
        "a kind of vector is missing: {counts:?}"
    );
    assert!(
        failures.is_empty(),
        "{} failing vectors:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
