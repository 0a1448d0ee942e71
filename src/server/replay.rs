//! Apply log records to the state at start-up (recovery's `apply`).

use super::exec::execute;
use super::state::{Client, State};
use crate::protocol::{Limits, Parsed, Reply, RequestParser};
use crate::storage::format::RecordHeader;

/// Execute every command of one record's payload, starting in the database
/// the record header names. Any error reply means the log holds something
/// this server cannot apply: recovery stops rather than load half a state.
pub fn apply_record(
    st: &mut State,
    client: &mut Client,
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
    client.db = h.db as usize;
    let mut parser = RequestParser::new();
    let mut out = Reply::new(false);
    let mut off = 0;
    let limits = Limits {
        max_bulk: i64::MAX,
        authenticated: true,
    };
    while off < payload.len() {
        match parser
            .parse(&payload[off..], limits)
            .map_err(|e| e.0.to_string())?
        {
            Parsed::Command { consumed } => {
                let argv: smallvec::SmallVec<[&[u8]; 8]> = parser.args(&payload[off..]).collect();
                out.buf.clear();
                execute(st, client, &mut out, &argv);
                if out.buf.first() == Some(&b'-') {
                    return Err(format!(
                        "{} -> {}",
                        argv.iter()
                            .map(|a| String::from_utf8_lossy(a))
                            .collect::<Vec<_>>()
                            .join(" "),
                        String::from_utf8_lossy(&out.buf).trim_end()
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
