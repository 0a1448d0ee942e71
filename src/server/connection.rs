//! One client connection: read, parse every complete command in the
//! buffer, execute them under one lock acquisition, write all replies in
//! one go.
//!
//! Invariants:
//! * The state lock is never held across an `.await`.
//! * Replies are written in command order; nothing is written for a
//!   command before it has executed.
//! * Input is bounded: a command's size by `proto-max-bulk-len`, the
//!   unparsed buffer by `client-query-buffer-limit`.

use super::Shared;
use super::blocking::{BlockSlot, Outcome};
use super::exec::execute_at;
use super::pubsub::PushStream;
use super::state::Client;
use crate::config::ObufLimit;
use crate::protocol::{Limits, Parsed, Reply, RequestParser};
use bytes::{Buf, BytesMut};
use smallvec::SmallVec;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const READ_CHUNK: usize = 16 * 1024;
/// Largest extra reservation for a big bulk in one step.
const MAX_RESERVE_STEP: usize = 4 * 1024 * 1024;
/// Pushed messages (pub/sub, MONITOR) move into the reply buffer only
/// while less than this waits there to be written; the rest stays queued
/// (and counted against the output limits) until the socket drains.
const PUSH_HOLD: usize = 64 * 1024;
/// At most this many scheduler turns a woken subscriber lets pass, while
/// its messages keep coming, before it writes them.
const PUSH_YIELDS: usize = 8;

pub async fn serve(shared: Arc<Shared>, mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let addr = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let laddr = stream
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let (push_tx, mut push_rx) = super::pubsub::push_channel();
    let now = crate::util::now_ms();

    let registered = {
        let mut st = shared.state.lock();
        st.stats.total_connections += 1;
        if st.clients.len() >= st.config.s.maxclients {
            st.stats.rejected_connections += 1;
            None
        } else {
            let id = st.new_client_id();
            let client = Client::new(
                id,
                addr,
                laddr,
                now,
                st.config.s.requirepass.is_none(),
                push_tx,
            );
            st.clients.insert(id, client.info());
            let limits = Limits {
                max_bulk: st.config.s.proto_max_bulk_len,
                authenticated: client.authenticated,
            };
            Some((
                client,
                ConnLimits {
                    parse: limits,
                    qbuf: st.config.s.client_query_buffer_limit,
                    obuf: st.config.s.obuf_normal,
                },
            ))
        }
    };
    let Some((mut client, mut limits)) = registered else {
        let _ = stream
            .write_all(b"-ERR max number of clients reached\r\n")
            .await;
        return;
    };

    let kill = client.kill.clone();
    // Created once: a `Notified` made anew each time round the loop
    // registered with the `Notify` and left it again on every pass; a
    // pinned one stays registered. At HSET -P1 (perf, 300k requests) the
    // Notify's poll, drop and waker clones fell from 1.3% of the server's
    // samples to 0.85%.
    let killed = kill.notify.notified();
    tokio::pin!(killed);
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut parser = RequestParser::new();
    let mut out = Reply::new(false);
    let (mut rd, mut wr) = stream.split();

    // Bytes of `out.buf` already written. Reading and writing proceed
    // together: a client that writes a long pipeline before reading any
    // reply must not deadlock (Redis keeps reading and buffers replies),
    // so the loop never blocks on a write while input is pending.
    let mut written = 0usize;
    // Bytes of `out.buf` that may be written now; replies behind a gate
    // wait for their LSN to become durable (see `process_batch`).
    let mut released = 0usize;
    let mut gates: std::collections::VecDeque<Gate> = std::collections::VecDeque::new();
    let log = shared.state.lock().log.clone();
    let mut durable_rx = log.as_ref().map(|l| l.subscribe());
    // Stop reading (QUIT, protocol error, EOF); close once `out` is flushed.
    let mut closing = false;
    // When the pending replies first passed the soft output limit.
    let mut soft_since = None;
    'conn: loop {
        if kill.is_killed() {
            break 'conn;
        }
        if obuf_over(
            out.buf.len() - written + push_rx.queued(),
            limits.obuf,
            &mut soft_since,
        ) {
            tracing::warn!(
                "Client id={} addr={} closed for overcoming of output buffer limits (omem={}).",
                client.id,
                client.addr,
                out.buf.len() - written + push_rx.queued()
            );
            break 'conn;
        }
        if closing && written == out.buf.len() {
            break 'conn;
        }
        // Room for the next read; a big bulk gets room in bounded steps.
        let want = parser.bytes_wanted().unwrap_or(0);
        let extra = want
            .saturating_sub(buf.len())
            .clamp(READ_CHUNK, MAX_RESERVE_STEP);
        if !closing && buf.capacity() - buf.len() < extra / 2 {
            buf.reserve(extra);
        }
        if gates.is_empty() {
            released = out.buf.len();
        } else if let Some(rx) = &durable_rx {
            let d = *rx.borrow();
            let failed = log.as_ref().is_some_and(|l| l.is_failed());
            while let Some(g) = gates.front() {
                // While the log fails, read-only batches are answered (their
                // writes are refused anyway); see `process_batch`.
                if g.lsn > d && !(g.read_only && failed) {
                    break;
                }
                released = g.end;
                gates.pop_front();
            }
            if gates.is_empty() {
                released = out.buf.len();
            }
        }
        let pending = written < released;
        tokio::select! {
            r = rd.read_buf(&mut buf), if !closing => {
                match r {
                    // Flush the replies already produced, then close.
                    Ok(0) | Err(_) => {
                        closing = true;
                        continue 'conn;
                    }
                    Ok(_) => {}
                }
                if kill.is_killed() {
                    break 'conn;
                }
                if buf.len() > limits.qbuf {
                    tracing::warn!(
                        "Closing client that reached max query buffer length: id={} addr={} (qbuf={})",
                        client.id,
                        client.addr,
                        buf.len()
                    );
                    break 'conn;
                }
                if client.blocked.is_some() {
                    // Blocked: input waits in the buffer (Redis does the same).
                    continue 'conn;
                }
                let outcome = run_batch(
                    &shared,
                    &mut client,
                    &mut parser,
                    &mut buf,
                    &mut out,
                    &mut push_rx,
                    &mut limits,
                    &mut gates,
                );
                closing = outcome.close;
                if obuf_over(out.buf.len() - written, limits.obuf, &mut soft_since) {
                    // Checked again (and logged) at the top of the loop.
                    continue 'conn;
                }
                if gates.is_empty() && written < out.buf.len() {
                    // Nothing to wait for: write now, most sockets are
                    // writable (saves a trip through select).
                    released = out.buf.len();
                    if outcome.others {
                        // Let the other connections woken with this one run
                        // their batches first, so the replies go out in a
                        // burst, as Redis writes them in `beforeSleep`. The
                        // client's benchmark process, woken by the first
                        // write, is still awake for the next ones: written
                        // one batch apart, each write had to wake it
                        // (an IPI on a VM; 20% of the server's samples in
                        // `sock_def_readable` at HSET -P16).
                        tokio::task::yield_now().await;
                    }
                    if let Some(r) = poll_once(wr.write(&out.buf[written..])) {
                        match r {
                            Ok(0) | Err(_) => break 'conn,
                            Ok(n) => wrote_out(&mut out, &mut written, &mut released, &mut gates, n),
                        }
                    }
                }
            }
            _ = wait_blocked(client.blocked.as_ref()), if client.blocked.is_some() => {
                if !finish_block(&shared, &mut client, &mut out, &mut gates) {
                    continue 'conn;
                }
                // Commands pipelined behind the blocking one run now.
                if !buf.is_empty() && !closing {
                    closing = run_batch(
                        &shared,
                        &mut client,
                        &mut parser,
                        &mut buf,
                        &mut out,
                        &mut push_rx,
                        &mut limits,
                        &mut gates,
                    )
                    .close;
                }
            }
            Ok(()) = async { durable_rx.as_mut().expect("gated only with a log").changed().await }, if !gates.is_empty() => {}
            w = wr.write(&out.buf[written..released]), if pending => {
                match w {
                    Ok(0) | Err(_) => break 'conn,
                    Ok(n) => wrote_out(&mut out, &mut written, &mut released, &mut gates, n),
                }
            }
            // Only a subscriber or a monitor is sent messages (or has some
            // left from before it stopped being one): other connections
            // do not register with the buffer's `Notify` each time round.
            _ = push_rx.ready(), if out.buf.len() - written < PUSH_HOLD
                && (client.pubsub.is_some() || client.monitor || push_rx.queued() > 0) => {
                // Let the tasks that are ready to run go first (the
                // publishers woken with this one, at pipeline 1), for as
                // long as they keep adding messages: those then leave in
                // this task's one write, as Redis writes a subscriber's
                // messages once per event-loop turn. Each write wakes the
                // subscriber's process; at pipeline 1 with 4 subscribers,
                // one yield made twice Redis's writes per publish and ran
                // at 0.90 of its rate, this 1.04-1.07 (pubsub_fanout.sh).
                let mut seen = 0;
                for _ in 0..PUSH_YIELDS {
                    tokio::task::yield_now().await;
                    let now = push_rx.queued();
                    if now == seen || now >= PUSH_HOLD {
                        break;
                    }
                    seen = now;
                }
                push_rx.drain_into(&mut out.buf, written + PUSH_HOLD);
            }
            _ = &mut killed => break 'conn,
        }
    }
    let _ = wr.shutdown().await;
    let mut st = shared.state.lock();
    st.clients.remove(&client.id);
    st.blocking.remove(client.id);
    st.watch.unwatch(client.id, &client.watched);
    st.pubsub.drop_client(&mut client);
    if client.monitor {
        st.monitors.retain(|(id, _)| *id != client.id);
    }
}

/// Process the buffered input and queue the batch's replies behind the
/// durability gate they need.
#[allow(clippy::too_many_arguments)]
fn run_batch(
    shared: &Shared,
    client: &mut Client,
    parser: &mut RequestParser,
    buf: &mut BytesMut,
    out: &mut Reply,
    push: &mut PushStream,
    limits: &mut ConnLimits,
    gates: &mut std::collections::VecDeque<Gate>,
) -> BatchOutcome {
    let outcome = process_batch(shared, client, parser, buf, out, push, limits);
    push_gate(gates, out.buf.len(), outcome.wait_lsn, !outcome.wrote);
    outcome
}

/// Replies up to `end` wait for `lsn` (0: for nothing, unless earlier
/// replies wait: order is kept, so they queue behind the last gate).
fn push_gate(gates: &mut std::collections::VecDeque<Gate>, end: usize, lsn: u64, read_only: bool) {
    if lsn > 0 {
        gates.push_back(Gate {
            end,
            lsn,
            read_only,
        });
    } else if let Some(last) = gates.back().map(|g| g.lsn) {
        gates.push_back(Gate {
            end,
            lsn: last,
            read_only,
        });
    }
}

/// Wait until a blocked client is woken (served, unblocked) or its
/// deadline passes.
async fn wait_blocked(b: Option<&(Arc<BlockSlot>, u64)>) {
    let Some((slot, deadline)) = b else {
        return std::future::pending().await;
    };
    if *deadline == 0 {
        slot.notify.notified().await;
    } else {
        let left = deadline.saturating_sub(crate::util::now_ms());
        tokio::select! {
            _ = slot.notify.notified() => {}
            _ = tokio::time::sleep(std::time::Duration::from_millis(left)) => {}
        }
    }
}

/// After `wait_blocked`: take the outcome (or time the client out) and
/// queue its reply. Returns false if the client is still blocked.
fn finish_block(
    shared: &Shared,
    client: &mut Client,
    out: &mut Reply,
    gates: &mut std::collections::VecDeque<Gate>,
) -> bool {
    let Some((slot, deadline)) = client.blocked.clone() else {
        return true;
    };
    let mut st = shared.state.lock();
    let mut outcome = slot.outcome.lock().take();
    if outcome.is_none() {
        if deadline != 0 && crate::util::now_ms() >= deadline {
            st.blocking.unblock(client.id, None);
            outcome = slot.outcome.lock().take();
        } else {
            return false;
        }
    }
    client.blocked = None;
    let (reply, lsn) = match outcome {
        Some(Outcome::Served { reply, lsn }) => (reply, lsn),
        Some(Outcome::Unblocked { reply }) => (reply, 0),
        None => (Vec::new(), 0),
    };
    out.buf.extend_from_slice(&reply);
    st.stats.net_output_bytes += reply.len() as u64;
    let durable = st
        .ks
        .journal
        .durable
        .load(std::sync::atomic::Ordering::Acquire);
    let wait = match &st.log {
        Some(log) if log.policy() == crate::config::FsyncPolicy::Always && lsn > durable => lsn,
        _ => 0,
    };
    push_gate(gates, out.buf.len(), wait, lsn == 0);
    true
}

/// Account for `n` reply bytes written: reset the buffer when all is out;
/// for a slow reader, drop what was sent so the buffer does not keep every
/// reply ever produced (gate offsets move with it).
fn wrote_out(
    out: &mut Reply,
    written: &mut usize,
    released: &mut usize,
    gates: &mut std::collections::VecDeque<Gate>,
    n: usize,
) {
    *written += n;
    if *written == out.buf.len() {
        out.buf.clear();
        *written = 0;
        *released = 0;
        if out.buf.capacity() > 1 << 20 {
            out.buf.shrink_to(64 * 1024);
        }
    } else if *written >= 1 << 20 {
        out.buf.drain(..*written);
        *released -= *written;
        for g in gates.iter_mut() {
            g.end -= *written;
        }
        *written = 0;
    }
}

/// Poll a future once without a real waker: its result if it is ready now.
fn poll_once<F: std::future::Future>(f: F) -> Option<F::Output> {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => Some(v),
        std::task::Poll::Pending => None,
    }
}

/// A connection's limits, refreshed from the config at each batch.
struct ConnLimits {
    parse: Limits,
    /// `client-query-buffer-limit`.
    qbuf: usize,
    /// `client-output-buffer-limit` for this client's class.
    obuf: ObufLimit,
}

/// Redis's `checkClientOutputBufferLimits`: true if `pending` reply bytes
/// pass the hard limit, or have stayed over the soft limit longer than
/// allowed. `soft_since` remembers when the soft limit was first passed.
fn obuf_over(pending: usize, l: ObufLimit, soft_since: &mut Option<std::time::Instant>) -> bool {
    let pending = pending as u64;
    if l.hard > 0 && pending >= l.hard {
        return true;
    }
    if l.soft > 0 && pending >= l.soft {
        let since = *soft_since.get_or_insert_with(std::time::Instant::now);
        return since.elapsed().as_secs() >= l.soft_secs;
    }
    *soft_since = None;
    false
}

/// Replies up to `end` in the output buffer wait until `lsn` is durable.
struct Gate {
    end: usize,
    lsn: u64,
    /// The batch wrote nothing (released early if the log fails).
    read_only: bool,
}

/// What a batch needs before its replies may be sent.
struct BatchOutcome {
    /// Close after the replies are written.
    close: bool,
    /// The replies may be sent only once this LSN is durable (0: now).
    wait_lsn: u64,
    /// A command of the batch wrote a log record.
    wrote: bool,
    /// Other clients are connected (their batches may be ready to run).
    others: bool,
}

/// Parse and execute every complete command in `buf` (taking the state
/// lock once, at the first command), then hand the batch's log records to
/// the log writer.
///
/// Durability rule (`appendfsync always`): a reply is sent only after every
/// record that existed when its batch finished is durable — the batch's own
/// writes and any other client's writes it may have read. While the log is
/// failing, read-only batches are answered at once (writes are refused).
fn process_batch(
    shared: &Shared,
    client: &mut Client,
    parser: &mut RequestParser,
    buf: &mut BytesMut,
    out: &mut Reply,
    push: &mut PushStream,
    limits: &mut ConnLimits,
) -> BatchOutcome {
    let input_len = buf.len();
    let mut wait_lsn = 0;
    let mut wrote = false;
    let mut others = false;
    // LSN the batch's first record would get: the batch wrote iff the
    // journal moved past it (no one else executes while we hold the lock).
    let mut first_lsn = 0u64;
    // Command time, read once per batch (after the lock is taken).
    let mut now = 0u64;
    let mut output_len = out.len();
    let mut guard = None;
    let mut close = false;
    loop {
        match parser.parse(buf, limits.parse) {
            Ok(Parsed::Command { consumed }) => {
                let st = guard.get_or_insert_with(|| shared.state.lock());
                if now == 0 {
                    // First command: read the clock, note where the log is.
                    now = crate::util::now_ms();
                    first_lsn = st.ks.journal.next_lsn;
                    // Records deferred for an idle worker's sync must not
                    // wait for this batch (`LogShared::sync_deferred`).
                    if let Some(log) = &st.log {
                        log.kick();
                    }
                    // Messages published before these commands come
                    // before their replies, as in Redis: taken under the
                    // lock, so no publish slips in between. (Not counted
                    // as command output.)
                    let before = out.len();
                    push.drain_into(&mut out.buf, usize::MAX);
                    output_len += out.len() - before;
                }
                {
                    let argv: SmallVec<[&[u8]; 8]> = parser.args(buf).collect();
                    // While this command runs, the next one's key is on
                    // its way into the cache (a pipeline's lookups
                    // overlap); when it names the same key, so is its
                    // field or member in that value's index.
                    if let Some((key, member)) = crate::protocol::peek_key_member(&buf[consumed..])
                    {
                        let member = member.filter(|_| argv.get(1) == Some(&key));
                        st.ks.prefetch(client.db, key, member);
                    }
                    execute_at(st, client, out, &argv, now);
                }
                buf.advance(consumed);
                if client.blocked.is_some() {
                    // The rest of the input waits until it is unblocked.
                    break;
                }
                limits.parse.authenticated = client.authenticated;
                if client.close_after_reply {
                    close = true;
                    break;
                }
            }
            Ok(Parsed::Skip { consumed }) => buf.advance(consumed),
            Ok(Parsed::Incomplete) => break,
            Err(e) => {
                tracing::debug!(
                    "Protocol error ({}) from client: id={} addr={}",
                    e.0,
                    client.id,
                    client.addr
                );
                out.error(&format!("ERR {}", e.0));
                close = true;
                break;
            }
        }
    }
    let consumed_bytes = input_len - buf.len();
    if let Some(mut st) = guard {
        st.stats.net_input_bytes += consumed_bytes as u64;
        st.stats.net_output_bytes += (out.len() - output_len) as u64;
        limits.parse.max_bulk = st.config.s.proto_max_bulk_len;
        limits.qbuf = st.config.s.client_query_buffer_limit;
        limits.obuf = if client.pubsub.is_some() {
            st.config.s.obuf_pubsub
        } else {
            st.config.s.obuf_normal
        };
        others = st.clients.len() > 1;
        if let Some(ci) = st.clients.get_mut(&client.id) {
            ci.db = client.db;
            ci.last_ms = client.last_ms;
            ci.last_cmd = client.last_cmd;
            ci.resp = if client.resp3 { 3 } else { 2 };
            ci.monitor = client.monitor;
            ci.subs = client.sub_counts();
            ci.qbuf = buf.len();
            if ci.name != client.name {
                ci.name = client.name.clone();
            }
            if ci.lib_name != client.lib_name || ci.lib_ver != client.lib_ver {
                ci.lib_name = client.lib_name.clone();
                ci.lib_ver = client.lib_ver.clone();
            }
        }
        if st.shutdown.is_some() {
            shared.request_shutdown();
        }
        // A running snapshot's walk advances on the thread that holds the
        // lock anyway (see `keyspace::cow`).
        st.ks.walk_tick();
        let lsn_before = st
            .ks
            .journal
            .durable
            .load(std::sync::atomic::Ordering::Acquire);
        let last = st.flush_journal();
        wrote = st.ks.journal.next_lsn != first_lsn;
        if let Some(log) = &st.log
            && log.policy() == crate::config::FsyncPolicy::Always
            && last > lsn_before
            && (!log.is_failed() || wrote)
        {
            wait_lsn = last;
        }
    }
    BatchOutcome {
        close,
        wait_lsn,
        wrote,
        others,
    }
}
