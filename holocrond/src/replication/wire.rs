//! The payloads of Raft messages between nodes (inside the RPC frames of
//! `rpc`).
//!
//! Control data (votes, log ids, responses) is JSON: small and easy to
//! read in a capture. What can be large travels as raw bytes after the
//! JSON: the entries of an AppendEntries (each a stored RecordBatch, so the
//! follower appends exactly the bytes the leader stored) and snapshot
//! bodies. Layout: `u32 header length | header JSON | raw tail`.

use std::io;

use bytes::{BufMut, Bytes, BytesMut};
use openraft::entry::RaftEntry;
use openraft::raft::AppendEntriesRequest;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::entry_codec::{self, Encoded};
use super::types::{log_id, Entry, HoloRaft, LogId, RecordBatch, SnapshotMeta, Vote};
use openraft::EntryPayload;

/// Message kinds (the RPC frame's kind byte).
pub mod kind {
    /// AppendEntries (also heartbeats).
    pub const APPEND: u8 = 1;
    /// RequestVote.
    pub const VOTE: u8 = 2;
    /// Pre-vote.
    pub const PRE_VOTE: u8 = 3;
    /// A whole snapshot.
    pub const SNAPSHOT: u8 = 4;
    /// Leadership handed over.
    pub const TRANSFER_LEADER: u8 = 5;
}

#[derive(Serialize, Deserialize)]
struct EntryHead {
    term: u64,
    index: u64,
    /// Whether the body is a record batch (else an internal entry body).
    batch: bool,
    len: u32,
}

#[derive(Serialize, Deserialize)]
struct AppendHead {
    vote: Vote,
    prev_log_id: Option<LogId>,
    leader_commit: Option<LogId>,
    entries: Vec<EntryHead>,
}

#[derive(Serialize, Deserialize)]
struct SnapshotHead {
    vote: Vote,
    meta: SnapshotMeta,
}

fn bad(why: impl ToString) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_string())
}

/// Frames a JSON header followed by raw parts.
fn framed(header: &impl Serialize, tail: &[&[u8]]) -> io::Result<Bytes> {
    let head = serde_json::to_vec(header).map_err(io::Error::other)?;
    let tail_len: usize = tail.iter().map(|p| p.len()).sum();
    let mut out = BytesMut::with_capacity(4 + head.len() + tail_len);
    out.put_u32(u32::try_from(head.len()).map_err(io::Error::other)?);
    out.put_slice(&head);
    for part in tail {
        out.put_slice(part);
    }
    Ok(out.freeze())
}

/// Splits a framed message into its header and raw tail.
fn unframe<T: DeserializeOwned>(bytes: &Bytes) -> io::Result<(T, Bytes)> {
    let len = bytes
        .get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or_else(|| bad("message too short"))?;
    let end = 4usize
        .checked_add(len)
        .filter(|e| *e <= bytes.len())
        .ok_or_else(|| bad("header length beyond the message"))?;
    let header = serde_json::from_slice(&bytes[4..end]).map_err(bad)?;
    Ok((header, bytes.slice(end..)))
}

/// Encodes a plain JSON message (votes, responses).
pub fn encode_json(value: &impl Serialize) -> io::Result<Bytes> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(io::Error::other)
}

/// Decodes a plain JSON message.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> io::Result<T> {
    serde_json::from_slice(bytes).map_err(bad)
}

/// Encodes an AppendEntries request.
pub fn encode_append(req: &AppendEntriesRequest<HoloRaft>) -> io::Result<Bytes> {
    let mut heads = Vec::with_capacity(req.entries.len());
    let mut bodies: Vec<Vec<u8>> = Vec::new();
    let mut parts: Vec<(bool, usize)> = Vec::with_capacity(req.entries.len());
    for e in &req.entries {
        let (batch, len) = match entry_codec::encode(e)? {
            Encoded::Batch(b) => (true, b.len()),
            Encoded::Internal(body) => {
                let len = body.len();
                bodies.push(body);
                (false, len)
            }
        };
        parts.push((batch, len));
        heads.push(EntryHead {
            term: e.log_id.leader_id.term,
            index: e.log_id.index,
            batch,
            len: u32::try_from(len).map_err(io::Error::other)?,
        });
    }
    let head = AppendHead {
        vote: req.vote,
        prev_log_id: req.prev_log_id,
        leader_commit: req.leader_commit,
        entries: heads,
    };
    let mut internal = bodies.iter();
    let mut tail: Vec<&[u8]> = Vec::with_capacity(req.entries.len());
    for e in &req.entries {
        match &e.payload {
            EntryPayload::Normal(RecordBatch(b)) => tail.push(b),
            _ => {
                if let Some(body) = internal.next() {
                    tail.push(body);
                }
            }
        }
    }
    framed(&head, &tail)
}

/// Decodes an AppendEntries request; entry payloads are slices of `bytes`.
pub fn decode_append(bytes: &Bytes) -> io::Result<AppendEntriesRequest<HoloRaft>> {
    let (head, tail): (AppendHead, Bytes) = unframe(bytes)?;
    let mut entries = Vec::with_capacity(head.entries.len());
    let mut at = 0usize;
    for h in head.entries {
        let end = at
            .checked_add(h.len as usize)
            .filter(|e| *e <= tail.len())
            .ok_or_else(|| bad("entry beyond the message"))?;
        let body = tail.slice(at..end);
        at = end;
        let payload = if h.batch {
            EntryPayload::Normal(RecordBatch(body))
        } else {
            entry_codec::decode_internal(h.index, &body)?
        };
        entries.push(Entry::new(log_id(h.term, h.index), payload));
    }
    if at != tail.len() {
        return Err(bad("trailing bytes after the entries"));
    }
    Ok(AppendEntriesRequest {
        vote: head.vote,
        prev_log_id: head.prev_log_id,
        leader_commit: head.leader_commit,
        entries,
    })
}

/// Encodes a whole snapshot.
pub fn encode_snapshot(vote: &Vote, meta: &SnapshotMeta, body: &[u8]) -> io::Result<Bytes> {
    framed(
        &SnapshotHead {
            vote: *vote,
            meta: meta.clone(),
        },
        &[body],
    )
}

/// Decodes a whole snapshot: vote, metadata, body.
pub fn decode_snapshot(bytes: &Bytes) -> io::Result<(Vote, SnapshotMeta, Bytes)> {
    let (head, body): (SnapshotHead, Bytes) = unframe(bytes)?;
    Ok((head.vote, head.meta, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::Membership;
    use std::collections::BTreeSet;

    #[test]
    fn append_entries_round_trip_with_every_kind_of_entry() {
        let members: BTreeSet<u64> = [1, 2, 3].into();
        let m: super::super::types::Membership = Membership::new_with_defaults(vec![members], []);
        let req = AppendEntriesRequest::<HoloRaft> {
            vote: Vote::new_committed(4, 2),
            prev_log_id: Some(log_id(3, 9)),
            leader_commit: Some(log_id(3, 8)),
            entries: vec![
                Entry::new(log_id(4, 10), EntryPayload::Blank),
                Entry::new(
                    log_id(4, 11),
                    EntryPayload::Normal(RecordBatch(Bytes::from_static(b"batch bytes"))),
                ),
                Entry::new(log_id(4, 12), EntryPayload::Membership(m)),
            ],
        };
        let bytes = encode_append(&req).expect("encode");
        let back = decode_append(&bytes).expect("decode");
        assert_eq!(format!("{back:?}"), format!("{req:?}"));
        // Damaged messages are errors, not panics.
        for cut in [0, 3, 10, bytes.len() - 1] {
            assert!(decode_append(&bytes.slice(..cut)).is_err(), "cut at {cut}");
        }
    }
}
