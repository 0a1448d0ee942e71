//! Apply log records to the state at start-up (recovery's `apply`).

use super::exec::execute_at;
use super::state::{Client, State};
use crate::protocol::{Limits, Parsed, Reply, RequestParser};
use crate::storage::format::RecordHeader;
use smallvec::SmallVec;

/// Replays records; keeps its client, parser and reply buffer across
/// records so replay allocates nothing per record.
pub struct Replayer {
    client: Client,
    parser: RequestParser,
    out: Reply,
    /// Load start: the access time loaded keys get (OBJECT IDLETIME).
    now: u64,
}

impl Default for Replayer {
    fn default() -> Self {
        Replayer {
            client: Client::detached(0),
            parser: RequestParser::new(),
            out: Reply::new(false),
            now: crate::util::now_ms(),
        }
    }
}

impl Replayer {
    /// Execute every command of one record's payload, starting in the
    /// database the record header names. Any error reply means the log holds
    /// something this server cannot apply: recovery stops rather than load
    /// half a state.
    pub fn apply(
        &mut self,
        st: &mut State,
        h: &RecordHeader,
        payload: &[u8],
    ) -> Result<(), String> {
        if h.db as usize >= st.ks.dbs.len() {
            return Err(format!(
                "record is for database {} but the server has {} (databases directive)",
                h.db,
                st.ks.dbs.len()
            ));
        }
        self.client.db = h.db as usize;
        // Commands time from their record's start: not across the reads
        // between records.
        st.clock = None;
        let limits = Limits {
            max_bulk: i64::MAX,
            authenticated: true,
        };
        // Expiry is off while loading: the time only sets access clocks.
        let now = self.now;
        st.replaying = true;
        let r = self.apply_payload(st, payload, limits, now);
        st.replaying = false;
        r
    }

    fn apply_payload(
        &mut self,
        st: &mut State,
        payload: &[u8],
        limits: Limits,
        now: u64,
    ) -> Result<(), String> {
        let mut off = 0;
        while off < payload.len() {
            match self
                .parser
                .parse(&payload[off..], limits)
                .map_err(|e| e.0.to_string())?
            {
                Parsed::Command { consumed } => {
                    let argv: SmallVec<[&[u8]; 8]> = self.parser.args(&payload[off..]).collect();
                    self.out.buf.clear();
                    execute_at(st, &mut self.client, &mut self.out, &argv, now);
                    if self.out.buf.first() == Some(&b'-') {
                        return Err(format!(
                            "{} -> {}",
                            argv.iter()
                                .map(|a| String::from_utf8_lossy(a))
                                .collect::<Vec<_>>()
                                .join(" "),
                            String::from_utf8_lossy(&self.out.buf).trim_end()
                        ));
                    }
                    off += consumed;
                }
                Parsed::Skip { consumed } => off += consumed,
                Parsed::Incomplete => return Err("payload ends inside a command".into()),
            }
        }
        Ok(())
    }
}
