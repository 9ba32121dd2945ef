//! The audit chain: tamper evidence for the audit log. Every sealed entry carries SHA-256 over
//! the previous sealed entry's hash and its own canonical content, and a chain head records
//! the last position and hash, so editing, deleting or reordering a sealed entry breaks the chain.
//!
//! Entries are written by database triggers in their change's transaction; chaining them there
//! would serialise every writer (every POS ticket) on one head row. Instead a sealer chains
//! committed entries afterwards, in id order, under a lock on the head that only sealers take.
//! An entry that commits late (a lower id than one already sealed) is simply sealed at a later
//! position: the chain order is the sealing order. Verification covers the sealed prefix;
//! entries not yet sealed are counted and reported as pending.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{App, Principal, Result};
use domain::auth::Permission;

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Most entries one sealing transaction chains.
pub const SEAL_BATCH: i64 = 500;

/// An audit row as the chain sees it: its position (`seq`) and stored hash once sealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainEntry {
    pub seq: i64,
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub hash: Option<String>,
}

/// The last sealed position and its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

/// SHA-256 over the previous hash and the entry's canonical content: every field
/// length-prefixed (and absent fields marked), so no two different entries encode alike.
pub fn entry_hash(prev: &str, e: &ChainEntry) -> String {
    fn field(h: &mut Sha256, v: Option<&[u8]>) {
        match v {
            None => h.update([0u8]),
            Some(b) => {
                h.update([1u8]);
                h.update((b.len() as u64).to_be_bytes());
                h.update(b);
            }
        }
    }
    let mut h = Sha256::new();
    field(&mut h, Some(prev.as_bytes()));
    field(&mut h, Some(&e.seq.to_be_bytes()));
    field(&mut h, Some(&e.id.to_be_bytes()));
    field(&mut h, Some(&e.at.to_be_bytes()));
    field(&mut h, Some(e.actor.as_bytes()));
    field(&mut h, Some(e.action.as_bytes()));
    field(&mut h, Some(e.entity.as_bytes()));
    field(&mut h, e.entity_id.as_deref().map(str::as_bytes));
    field(&mut h, e.before_json.as_deref().map(str::as_bytes));
    field(&mut h, e.after_json.as_deref().map(str::as_bytes));
    hex::encode(h.finalize())
}

/// The first break found in the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChainBreak {
    /// The entry's content or hash no longer matches what was sealed.
    Edited { seq: i64, id: i64 },
    /// The entry sealed at `seq` is missing (deleted, or moved out of the chain).
    Deleted { seq: i64 },
    /// The chain head does not match the last sealed entry.
    HeadMismatch { seq: i64 },
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainBreak::Edited { seq, id } => write!(
                f,
                "la entrada {id} (posición {seq}) fue modificada después de sellada"
            ),
            ChainBreak::Deleted { seq } => {
                write!(f, "falta la entrada sellada en la posición {seq} (borrada)")
            }
            ChainBreak::HeadMismatch { seq } => write!(
                f,
                "la cabeza de la cadena (posición {seq}) no coincide con la última entrada"
            ),
        }
    }
}

/// What `almacen audit verify` reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    pub ok: bool,
    /// Sealed entries walked and found intact (up to the first break).
    pub verified: i64,
    /// The head's position: how many entries are sealed.
    pub sealed: i64,
    /// Entries written but not sealed yet (the sealer chains them within seconds).
    pub pending: i64,
    pub first_break: Option<ChainBreak>,
}

/// Walks sealed entries in order, page by page, and reports the first break.
pub struct ChainWalk {
    head: ChainHead,
    prev: String,
    expected: i64,
    verified: i64,
    first_break: Option<ChainBreak>,
}

impl ChainWalk {
    pub fn new(head: ChainHead) -> Self {
        ChainWalk {
            head,
            prev: GENESIS.to_owned(),
            expected: 1,
            verified: 0,
            first_break: None,
        }
    }

    /// The last position walked, to fetch the next page after it.
    pub fn last_seq(&self) -> i64 {
        self.expected - 1
    }

    pub fn done(&self) -> bool {
        self.first_break.is_some() || self.expected > self.head.seq
    }

    /// Feeds the next entries in `seq` order (all at or below the head's position).
    pub fn feed(&mut self, entries: &[ChainEntry]) {
        for e in entries {
            if self.done() {
                return;
            }
            if e.seq != self.expected {
                self.first_break = Some(ChainBreak::Deleted { seq: self.expected });
                return;
            }
            let stored = e.hash.as_deref().unwrap_or_default();
            if entry_hash(&self.prev, e) != stored {
                self.first_break = Some(ChainBreak::Edited {
                    seq: e.seq,
                    id: e.id,
                });
                return;
            }
            self.prev = stored.to_owned();
            self.expected += 1;
            self.verified += 1;
        }
    }

    /// Ends the walk: entries missing at the end, or a head that does not match.
    pub fn finish(mut self, pending: i64) -> ChainReport {
        if self.first_break.is_none() {
            if self.expected <= self.head.seq {
                self.first_break = Some(ChainBreak::Deleted { seq: self.expected });
            } else if self.prev != self.head.hash {
                self.first_break = Some(ChainBreak::HeadMismatch { seq: self.head.seq });
            }
        }
        ChainReport {
            ok: self.first_break.is_none(),
            verified: self.verified,
            sealed: self.head.seq,
            pending,
            first_break: self.first_break,
        }
    }
}

impl App {
    /// Chains every committed audit entry not sealed yet; returns how many it sealed.
    pub async fn seal_audit(&self) -> Result<u64> {
        let mut total = 0;
        loop {
            let n = self.store.seal_audit(SEAL_BATCH).await?;
            total += n;
            if n < SEAL_BATCH as u64 {
                return Ok(total);
            }
        }
    }

    /// Walks the sealed chain from the start and reports the first edited or deleted entry.
    pub async fn verify_audit(&self, actor: &Principal) -> Result<ChainReport> {
        actor.require(Permission::AuditRead)?;
        let (head, pending) = self.store.audit_chain_head().await?;
        let up_to = head.seq;
        let mut walk = ChainWalk::new(head);
        while !walk.done() {
            let page = self.store.audit_chain(walk.last_seq(), up_to, 1000).await?;
            if page.is_empty() {
                break;
            }
            walk.feed(&page);
        }
        Ok(walk.finish(pending))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn entry(seq: i64) -> ChainEntry {
        ChainEntry {
            seq,
            id: seq + 10,
            at: 1_700_000_000_000_000 + seq,
            actor: "admin".into(),
            action: "product.created".into(),
            entity: "product".into(),
            entity_id: Some(seq.to_string()),
            before_json: None,
            after_json: Some(format!("{{\"n\":{seq}}}")),
            hash: None,
        }
    }

    fn sealed(n: i64) -> (Vec<ChainEntry>, ChainHead) {
        let mut prev = GENESIS.to_owned();
        let mut out = Vec::new();
        for seq in 1..=n {
            let mut e = entry(seq);
            let h = entry_hash(&prev, &e);
            e.hash = Some(h.clone());
            prev = h;
            out.push(e);
        }
        (out, ChainHead { seq: n, hash: prev })
    }

    fn walk(entries: &[ChainEntry], head: ChainHead) -> ChainReport {
        let mut w = ChainWalk::new(head);
        for page in entries.chunks(3) {
            w.feed(page);
        }
        w.finish(0)
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let (entries, head) = sealed(10);
        let r = walk(&entries, head);
        assert_eq!(r.first_break, None);
        assert_eq!((r.ok, r.verified, r.sealed), (true, 10, 10));
    }

    #[test]
    fn absent_and_empty_fields_hash_differently() {
        let mut a = entry(1);
        let mut b = entry(1);
        a.entity_id = None;
        b.entity_id = Some(String::new());
        assert_ne!(entry_hash(GENESIS, &a), entry_hash(GENESIS, &b));
    }

    #[test]
    fn edits_deletions_and_truncation_are_found() {
        let (mut entries, head) = sealed(10);
        entries[4].actor = "otro".into();
        assert_eq!(
            walk(&entries, head.clone()).first_break,
            Some(ChainBreak::Edited { seq: 5, id: 15 })
        );
        let (mut entries, _) = sealed(10);
        entries.remove(6);
        assert_eq!(
            walk(&entries, head.clone()).first_break,
            Some(ChainBreak::Deleted { seq: 7 })
        );
        let (mut entries, _) = sealed(10);
        entries.pop();
        assert_eq!(
            walk(&entries, head.clone()).first_break,
            Some(ChainBreak::Deleted { seq: 10 })
        );
        let (entries, _) = sealed(10);
        let forged = ChainHead {
            seq: 10,
            hash: GENESIS.into(),
        };
        assert_eq!(
            walk(&entries, forged).first_break,
            Some(ChainBreak::HeadMismatch { seq: 10 })
        );
    }
}
