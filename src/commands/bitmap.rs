//! Bitmap commands (Redis 7.0 `bitops.c`): SETBIT GETBIT BITCOUNT BITPOS
//! BITOP BITFIELD BITFIELD_RO.
//!
//! Bitmaps are string values. Writers change the stored bytes in place
//! (`Value::raw_string_mut`): a SETBIT inside a 100 MB bitmap touches one
//! byte; growth zero-extends the one buffer. Bit `n` is bit `7 - n % 8` of
//! byte `n / 8` (most significant bit first), as in Redis.
//!
//! Effects: SETBIT and BITFIELD log their argv when they changed something
//! (created the key, grew it, or changed a bit); BITOP logs its argv when it
//! wrote or deleted the destination. All three are deterministic given the
//! keyspace, so replay reproduces the same bytes.

use super::{CmdError, CmdResult, Ctx, KEY1, arg_i64, c_str, cmd, flag::*, since, string_bytes};
use crate::commands::Cmd;
use crate::keyspace::{CompactBytes, Ttl, Value};
use crate::server::notify;
use crate::util::parse_i64;

pub static COMMANDS: &[Cmd] = &[
    since(
        cmd(
            "setbit",
            4,
            WRITE | DENYOOM,
            KEY1,
            "@write @bitmap @slow",
            "bitmap",
            "Sets or clears the bit at offset in the string value stored at key",
            setbit,
        ),
        "2.2.0",
    ),
    since(
        cmd(
            "getbit",
            3,
            READONLY | FAST,
            KEY1,
            "@read @bitmap @fast",
            "bitmap",
            "Returns the bit value at offset in the string value stored at key",
            getbit,
        ),
        "2.2.0",
    ),
    since(
        cmd(
            "bitcount",
            -2,
            READONLY,
            KEY1,
            "@read @bitmap @slow",
            "bitmap",
            "Count set bits in a string",
            bitcount,
        ),
        "2.6.0",
    ),
    since(
        cmd(
            "bitpos",
            -3,
            READONLY,
            KEY1,
            "@read @bitmap @slow",
            "bitmap",
            "Find first bit set or clear in a string",
            bitpos,
        ),
        "2.8.7",
    ),
    since(
        cmd(
            "bitop",
            -4,
            WRITE | DENYOOM,
            (2, -1, 1),
            "@write @bitmap @slow",
            "bitmap",
            "Perform bitwise operations between strings",
            bitop,
        ),
        "2.6.0",
    ),
    since(
        cmd(
            "bitfield",
            -2,
            WRITE | DENYOOM,
            KEY1,
            "@write @bitmap @slow",
            "bitmap",
            "Perform arbitrary bitfield integer operations on strings",
            bitfield,
        ),
        "3.2.0",
    ),
    since(
        cmd(
            "bitfield_ro",
            -2,
            READONLY | FAST,
            KEY1,
            "@read @bitmap @fast",
            "bitmap",
            "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD",
            bitfield_ro,
        ),
        "6.0.0",
    ),
];

const BAD_OFFSET: &str = "ERR bit offset is not an integer or out of range";

/// A bit offset argument (Redis `getBitOffsetFromArgument`). With
/// `hash_bits`, `#N` means N * bits. The byte holding the bit must lie
/// below `proto-max-bulk-len` (2^32 bits by default), except during replay.
fn bit_offset(ctx: &Ctx, a: &[u8], hash_bits: Option<u32>) -> Result<u64, CmdError> {
    // C parses the argument as a NUL-terminated string.
    let a = c_str(a);
    let (digits, mul) = match hash_bits {
        Some(b) if a.len() > 1 && a[0] == b'#' => (&a[1..], b as i64),
        _ => (a, 1),
    };
    let n = parse_i64(digits)
        .ok_or_else(|| CmdError::msg(BAD_OFFSET))?
        .wrapping_mul(mul);
    // Replay obeys the log even if proto-max-bulk-len was lowered since
    // (Redis skips the limit for its AOF loading client the same way).
    let limited = !ctx.st.ks.loading && (n >> 3) >= ctx.st.config.s.proto_max_bulk_len;
    if n < 0 || limited {
        return Err(CmdError::msg(BAD_OFFSET));
    }
    Ok(n as u64)
}

/// Bit `off` (MSB-first) of `s`; bits past the end are 0.
#[inline]
fn get_bit(s: &[u8], off: u64) -> bool {
    s.get((off >> 3) as usize)
        .is_some_and(|b| b & (0x80 >> (off & 7)) != 0)
}

#[inline]
fn put_bit(s: &mut [u8], off: u64, on: bool) {
    let m = 0x80u8 >> (off & 7);
    let b = &mut s[(off >> 3) as usize];
    if on {
        *b |= m;
    } else {
        *b &= !m;
    }
}

fn setbit(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let off = bit_offset(ctx, argv[2], None)?;
    let bad_bit = || CmdError::msg("ERR bit is not an integer or out of range");
    let on = parse_i64(argv[3]).ok_or_else(bad_bit)?;
    if on & !1 != 0 {
        return Err(bad_bit());
    }
    let on = on == 1;
    let need = (off >> 3) as usize + 1;
    let (old, changed) = match ctx.write(argv[1]) {
        Some(e) => {
            let b = e.value.raw_string_mut(0).ok_or(CmdError::WrongType)?;
            let grew = b.len() < need;
            b.grow_zeroed(need);
            let s = b.as_mut_slice();
            let old = get_bit(s, off);
            put_bit(s, off, on);
            (old, grew || old != on)
        }
        None => {
            let mut v = vec![0u8; need];
            put_bit(&mut v, off, on);
            let db = ctx.db();
            let val = Value::raw(CompactBytes::from_vec(v));
            ctx.st.ks.set(db, argv[1], val, Ttl::Clear, ctx.now);
            (false, true)
        }
    };
    // Announced only when created, grown or changed (Redis 7.0).
    if changed {
        ctx.propagate(argv);
        ctx.notify(notify::STRING, "setbit", argv[1]);
    }
    ctx.out.int(old as i64);
    Ok(())
}

fn getbit(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let off = bit_offset(ctx, argv[2], None)?;
    let (e, out) = ctx.read_with_out(argv[1]);
    let bit = match e {
        None => false,
        Some(e) => {
            let mut b = itoa::Buffer::new();
            get_bit(string_bytes(&e.value, &mut b)?, off)
        }
    };
    out.int(bit as i64);
    Ok(())
}

/// A resolved BITCOUNT/BITPOS range: bytes `start..=end` of the string,
/// with the bits outside a BIT range masked by `first_neg`/`last_neg` (the
/// bits of the first/last byte that lie outside it).
struct Range {
    start: i64,
    end: i64,
    first_neg: u8,
    last_neg: u8,
}

/// Redis's range normalization over a string of `len` bytes: negative
/// indexes count from the end, then both ends are clamped.
fn resolve(len: usize, mut start: i64, mut end: i64, isbit: bool) -> Range {
    let mut totlen = len as i64;
    if isbit {
        totlen <<= 3;
    }
    if start < 0 {
        start += totlen;
    }
    if end < 0 {
        end += totlen;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= totlen {
        end = totlen - 1;
    }
    let (mut first_neg, mut last_neg) = (0, 0);
    if isbit && start <= end {
        first_neg = !((1u32 << (8 - (start & 7))) - 1) as u8;
        last_neg = ((1u32 << (7 - (end & 7))) - 1) as u8;
        start >>= 3;
        end >>= 3;
    }
    Range {
        start,
        end,
        first_neg,
        last_neg,
    }
}

/// BYTE / BIT unit keyword.
fn unit(a: &[u8]) -> Result<bool, CmdError> {
    if a.eq_ignore_ascii_case(b"bit") {
        Ok(true)
    } else if a.eq_ignore_ascii_case(b"byte") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

fn popcount(s: &[u8]) -> i64 {
    let mut chunks = s.chunks_exact(8);
    let mut n: u64 = 0;
    for c in &mut chunks {
        n += u64::from_ne_bytes(c.try_into().expect("8 bytes")).count_ones() as u64;
    }
    n += chunks
        .remainder()
        .iter()
        .map(|b| b.count_ones() as u64)
        .sum::<u64>();
    n as i64
}

fn bitcount(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    // Redis looks the key up before parsing the range.
    let (e, out) = ctx.read_with_out(argv[1]);
    let Some(e) = e else {
        out.int(0);
        return Ok(());
    };
    let mut b = itoa::Buffer::new();
    let s = string_bytes(&e.value, &mut b)?;
    let r = match argv.len() {
        2 => Range {
            start: 0,
            end: s.len() as i64 - 1,
            first_neg: 0,
            last_neg: 0,
        },
        4 | 5 => {
            let start = arg_i64(argv[2])?;
            let end = arg_i64(argv[3])?;
            if start < 0 && end < 0 && start > end {
                out.int(0);
                return Ok(());
            }
            let isbit = match argv.get(4) {
                Some(a) => unit(a)?,
                None => false,
            };
            resolve(s.len(), start, end, isbit)
        }
        _ => return Err(CmdError::Syntax),
    };
    if r.start > r.end {
        out.int(0);
        return Ok(());
    }
    let (st, en) = (r.start as usize, r.end as usize);
    let mut n = popcount(&s[st..=en]);
    n -= (s[st] & r.first_neg).count_ones() as i64;
    n -= (s[en] & r.last_neg).count_ones() as i64;
    out.int(n);
    Ok(())
}

/// Position of the first `bit` in `s`, MSB first (Redis `redisBitpos`):
/// -1 if looking for 1 and there is none; `8 * len` if looking for 0 and
/// there is none (the first bit past the end).
fn first_bit(s: &[u8], bit: bool) -> i64 {
    let skip = if bit { 0u8 } else { 0xff };
    match s.iter().position(|&b| b != skip) {
        Some(i) => {
            let b = if bit { s[i] } else { !s[i] };
            (i as i64) * 8 + b.leading_zeros() as i64
        }
        None if bit => -1,
        None => s.len() as i64 * 8,
    }
}

fn bitpos(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let bit = match arg_i64(argv[2])? {
        0 => false,
        1 => true,
        _ => return Err(CmdError::msg("ERR The bit argument must be 1 or 0.")),
    };
    let (e, out) = ctx.read_with_out(argv[1]);
    let Some(e) = e else {
        // A missing key is an infinite run of zeros.
        out.int(if bit { -1 } else { 0 });
        return Ok(());
    };
    let mut b = itoa::Buffer::new();
    let s = string_bytes(&e.value, &mut b)?;
    let mut end_given = false;
    let r = match argv.len() {
        3 => Range {
            start: 0,
            end: s.len() as i64 - 1,
            first_neg: 0,
            last_neg: 0,
        },
        4..=6 => {
            let start = arg_i64(argv[3])?;
            let isbit = match argv.get(5) {
                Some(a) => unit(a)?,
                None => false,
            };
            let end = match argv.get(4) {
                Some(a) => {
                    end_given = true;
                    arg_i64(a)?
                }
                None => s.len() as i64 - 1,
            };
            resolve(s.len(), start, end, isbit)
        }
        _ => return Err(CmdError::Syntax),
    };
    if r.start > r.end {
        out.int(-1);
        return Ok(());
    }
    out.int(bitpos_in(s, r, bit, end_given));
    Ok(())
}

/// The search of Redis's `bitposCommand` over a non-empty resolved range,
/// step for step: masked first byte, whole middle bytes, masked last byte.
fn bitpos_in(s: &[u8], r: Range, bit: bool, end_given: bool) -> i64 {
    let Range {
        mut start,
        end,
        first_neg,
        last_neg,
    } = r;
    let mut bytes = end - start + 1;
    let masked = |c: u8, neg: u8| if bit { c & !neg } else { c | neg };
    let pos = 'search: {
        if first_neg != 0 {
            let mut c = masked(s[start as usize], first_neg);
            if last_neg != 0 && bytes == 1 {
                c = masked(c, last_neg);
            }
            let pos = first_bit(&[c], bit);
            if bytes == 1 || (pos != -1 && pos != 8) {
                break 'search pos;
            }
            start += 1;
            bytes -= 1;
        }
        let cur = bytes - (last_neg != 0) as i64;
        if cur > 0 {
            let st = start as usize;
            let pos = first_bit(&s[st..st + cur as usize], bit);
            if bytes == cur || (pos != -1 && pos != cur << 3) {
                break 'search pos;
            }
            start += cur;
            bytes -= cur;
        }
        first_bit(&[masked(s[end as usize], last_neg)], bit)
    };
    // Looking for 0 in an explicit range: the bit past the range does not
    // count as a zero.
    if end_given && !bit && pos == bytes << 3 {
        return -1;
    }
    if pos != -1 { pos + (start << 3) } else { pos }
}

#[derive(Clone, Copy, PartialEq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

fn bitop(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let name = c_str(argv[1]);
    let op = if name.eq_ignore_ascii_case(b"and") {
        BitOp::And
    } else if name.eq_ignore_ascii_case(b"or") {
        BitOp::Or
    } else if name.eq_ignore_ascii_case(b"xor") {
        BitOp::Xor
    } else if name.eq_ignore_ascii_case(b"not") {
        BitOp::Not
    } else {
        return Err(CmdError::Syntax);
    };
    if op == BitOp::Not && argv.len() != 4 {
        return Err(CmdError::msg(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    let (dest, srcs) = (argv[2], &argv[3..]);
    // Pass 1: types and lengths. A missing key is an empty string.
    let mut maxlen = 0usize;
    for k in srcs {
        if let Some(e) = ctx.read(k) {
            let mut b = itoa::Buffer::new();
            maxlen = maxlen.max(string_bytes(&e.value, &mut b)?.len());
        }
    }
    let db = ctx.db();
    if maxlen == 0 {
        let existed = ctx.st.ks.remove(db, dest).is_some();
        if existed {
            ctx.propagate(argv);
            ctx.notify(notify::GENERIC, "del", dest);
        }
        ctx.out.int(0);
        return Ok(());
    }
    // Pass 2: fold each source into the result, zero-padded to maxlen.
    let mut res = vec![0u8; maxlen];
    for (i, k) in srcs.iter().enumerate() {
        let mut b = itoa::Buffer::new();
        let s: &[u8] = match ctx.st.ks.peek(db, k, ctx.now) {
            Some(e) => e.value.str_bytes(&mut b).unwrap_or(b""),
            None => b"",
        };
        if i == 0 {
            res[..s.len()].copy_from_slice(s);
            if op == BitOp::Not {
                res.iter_mut().for_each(|x| *x = !*x);
            }
            continue;
        }
        match op {
            BitOp::And => {
                res.iter_mut().zip(s).for_each(|(r, x)| *r &= x);
                res[s.len()..].fill(0);
            }
            BitOp::Or => res.iter_mut().zip(s).for_each(|(r, x)| *r |= x),
            BitOp::Xor => res.iter_mut().zip(s).for_each(|(r, x)| *r ^= x),
            BitOp::Not => unreachable!("NOT has one source"),
        }
    }
    let v = Value::raw(CompactBytes::from_vec(res));
    ctx.st.ks.set(db, dest, v, Ttl::Clear, ctx.now);
    ctx.propagate(argv);
    ctx.notify(notify::STRING, "set", dest);
    ctx.out.int(maxlen as i64);
    Ok(())
}

// ---- BITFIELD ----

#[derive(Clone, Copy, PartialEq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq)]
enum FieldOp {
    Get,
    Set,
    Incrby,
}

struct Field {
    op: FieldOp,
    signed: bool,
    bits: u32,
    offset: u64,
    arg: i64,
    ow: Overflow,
}

/// `i1..i64` / `u1..u63` (case-sensitive, as Redis).
fn field_type(a: &[u8]) -> Result<(bool, u32), CmdError> {
    let err = || {
        CmdError::msg(
            "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
        )
    };
    let a = c_str(a);
    let signed = match a.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(err()),
    };
    let n = parse_i64(&a[1..]).ok_or_else(err)?;
    if n < 1 || (signed && n > 64) || (!signed && n > 63) {
        return Err(err());
    }
    Ok((signed, n as u32))
}

fn get_field(s: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for j in 0..bits as u64 {
        v = (v << 1) | get_bit(s, offset + j) as u64;
    }
    v
}

fn get_signed(s: &[u8], offset: u64, bits: u32) -> i64 {
    let v = get_field(s, offset, bits);
    if bits < 64 && v & (1u64 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        v as i64
    }
}

fn set_field(s: &mut [u8], offset: u64, bits: u32, v: u64) {
    for j in 0..bits as u64 {
        put_bit(s, offset + j, v & (1u64 << (bits as u64 - 1 - j)) != 0);
    }
}

/// Redis `checkUnsignedBitfieldOverflow`: Some(result) to write (wrapped or
/// saturated) when `value + incr` leaves the range, None when it fits.
fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<u64> {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = (value as i64).wrapping_neg();
    let wrap = || value.wrapping_add(incr as u64) & !(u64::MAX.checked_shl(bits).unwrap_or(0));
    if value > max || (incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => max,
        })
    } else if incr < 0 && incr < minincr {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => 0,
        })
    } else {
        None
    }
}

/// Redis `checkSignedBitfieldOverflow` (see `unsigned_overflow`).
fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & (1u64 << (bits - 1)) != 0 {
                (c | mask) as i64
            } else {
                (c & !mask) as i64
            }
        } else {
            c as i64
        }
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => max,
        })
    } else if value < min
        || (bits != 64 && incr < minincr)
        || (value < 0 && incr < 0 && incr < minincr)
    {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => min,
        })
    } else {
        None
    }
}

fn parse_fields(ctx: &Ctx, argv: &[&[u8]]) -> Result<Vec<Field>, CmdError> {
    let mut ops = Vec::new();
    let mut ow = Overflow::Wrap;
    let mut j = 2;
    while j < argv.len() {
        let rem = argv.len() - j - 1;
        let sub = c_str(argv[j]);
        let is = |n: &[u8]| sub.eq_ignore_ascii_case(n);
        let op = if is(b"get") && rem >= 2 {
            FieldOp::Get
        } else if is(b"set") && rem >= 3 {
            FieldOp::Set
        } else if is(b"incrby") && rem >= 3 {
            FieldOp::Incrby
        } else if is(b"overflow") && rem >= 1 {
            let t = c_str(argv[j + 1]);
            ow = if t.eq_ignore_ascii_case(b"wrap") {
                Overflow::Wrap
            } else if t.eq_ignore_ascii_case(b"sat") {
                Overflow::Sat
            } else if t.eq_ignore_ascii_case(b"fail") {
                Overflow::Fail
            } else {
                return Err(CmdError::msg("ERR Invalid OVERFLOW type specified"));
            };
            j += 2;
            continue;
        } else {
            return Err(CmdError::Syntax);
        };
        let (signed, bits) = field_type(argv[j + 1])?;
        let offset = bit_offset(ctx, argv[j + 2], Some(bits))?;
        let arg = if op == FieldOp::Get {
            0
        } else {
            arg_i64(argv[j + 3])?
        };
        ops.push(Field {
            op,
            signed,
            bits,
            offset,
            arg,
            ow,
        });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }
    Ok(ops)
}

/// Run one SET/INCRBY on `s` (long enough); the reply value, or None for
/// an OVERFLOW FAIL (nothing written).
fn apply_write(s: &mut [u8], f: &Field) -> Option<i64> {
    if f.signed {
        let old = get_signed(s, f.offset, f.bits);
        let (new, reply) = if f.op == FieldOp::Incrby {
            match signed_overflow(old, f.arg, f.bits, f.ow) {
                Some(_) if f.ow == Overflow::Fail => return None,
                Some(v) => (v, v),
                None => (old.wrapping_add(f.arg), old.wrapping_add(f.arg)),
            }
        } else {
            match signed_overflow(f.arg, 0, f.bits, f.ow) {
                Some(_) if f.ow == Overflow::Fail => return None,
                Some(v) => (v, old),
                None => (f.arg, old),
            }
        };
        set_field(s, f.offset, f.bits, new as u64);
        Some(reply)
    } else {
        let old = get_field(s, f.offset, f.bits);
        let (new, reply) = if f.op == FieldOp::Incrby {
            match unsigned_overflow(old, f.arg, f.bits, f.ow) {
                Some(_) if f.ow == Overflow::Fail => return None,
                Some(v) => (v, v),
                None => {
                    let v = old.wrapping_add(f.arg as u64);
                    (v, v)
                }
            }
        } else {
            match unsigned_overflow(f.arg as u64, 0, f.bits, f.ow) {
                Some(_) if f.ow == Overflow::Fail => return None,
                Some(v) => (v, old),
                None => (f.arg as u64, old),
            }
        };
        set_field(s, f.offset, f.bits, new);
        Some(reply as i64)
    }
}

fn field_get(s: &[u8], f: &Field) -> i64 {
    if f.signed {
        get_signed(s, f.offset, f.bits)
    } else {
        get_field(s, f.offset, f.bits) as i64
    }
}

fn bitfield_generic(ctx: &mut Ctx, argv: &[&[u8]], ro: bool) -> CmdResult {
    let ops = parse_fields(ctx, argv)?;
    let highest = ops
        .iter()
        .filter(|f| f.op != FieldOp::Get)
        .map(|f| f.offset + f.bits as u64 - 1)
        .max();
    let Some(highest) = highest else {
        // Only GETs: a read, zero-padded past the end.
        let (e, out) = ctx.read_with_out(argv[1]);
        let mut b = itoa::Buffer::new();
        let s = match e {
            Some(e) => string_bytes(&e.value, &mut b)?,
            None => b"",
        };
        out.array(ops.len());
        for f in &ops {
            out.int(field_get(s, f));
        }
        return Ok(());
    };
    if ro {
        return Err(CmdError::msg(
            "ERR BITFIELD_RO only supports the GET subcommand",
        ));
    }
    let need = (highest >> 3) as usize + 1;
    let db = ctx.db();
    // Create or grow the string to the farthest written byte first, as
    // Redis does (even if every write then fails its OVERFLOW check).
    let mut changed = match ctx.write(argv[1]) {
        Some(e) => {
            let b = e.value.raw_string_mut(0).ok_or(CmdError::WrongType)?;
            let grew = b.len() < need;
            b.grow_zeroed(need);
            grew
        }
        None => {
            let v = Value::raw(CompactBytes::from_vec(vec![0u8; need]));
            ctx.st.ks.set(db, argv[1], v, Ttl::Clear, ctx.now);
            true
        }
    };
    let e = ctx.write(argv[1]).expect("created above");
    let Value::Raw(b) = &mut e.value else {
        unreachable!("raw_string_mut made it raw")
    };
    let s = b.as_mut_slice();
    let mut replies = Vec::with_capacity(ops.len());
    for f in &ops {
        if f.op == FieldOp::Get {
            replies.push(Some(field_get(s, f)));
            continue;
        }
        let before = get_field(s, f.offset, f.bits);
        let r = apply_write(s, f);
        changed |= get_field(s, f.offset, f.bits) != before;
        replies.push(r);
    }
    if changed {
        ctx.propagate(argv);
        ctx.notify(notify::STRING, "setbit", argv[1]);
    }
    ctx.out.array(replies.len());
    for r in replies {
        ctx.out.int_or_null(r);
    }
    Ok(())
}

fn bitfield(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    bitfield_generic(ctx, argv, false)
}

fn bitfield_ro(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    bitfield_generic(ctx, argv, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_roundtrip_and_sign() {
        let mut s = vec![0u8; 16];
        set_field(&mut s, 5, 13, 0x1abc);
        assert_eq!(get_field(&s, 5, 13), 0x1abc);
        assert_eq!(get_signed(&s, 5, 13), 0x1abc - 0x2000);
        set_field(&mut s, 7, 64, u64::MAX - 5);
        assert_eq!(get_signed(&s, 7, 64), -6);
    }

    #[test]
    fn overflow_rules() {
        assert_eq!(unsigned_overflow(250, 10, 8, Overflow::Wrap), Some(4));
        assert_eq!(unsigned_overflow(250, 10, 8, Overflow::Sat), Some(255));
        assert_eq!(unsigned_overflow(5, -10, 8, Overflow::Sat), Some(0));
        assert_eq!(unsigned_overflow(5, 10, 8, Overflow::Sat), None);
        assert_eq!(signed_overflow(120, 10, 8, Overflow::Wrap), Some(-126));
        assert_eq!(signed_overflow(-120, -10, 8, Overflow::Sat), Some(-128));
        assert_eq!(
            signed_overflow(i64::MAX, 1, 64, Overflow::Wrap),
            Some(i64::MIN)
        );
        assert_eq!(
            signed_overflow(i64::MIN, -1, 64, Overflow::Sat),
            Some(i64::MIN)
        );
        assert_eq!(signed_overflow(-5, 3, 64, Overflow::Sat), None);
    }

    /// SETBIT's path into a big bitmap works on the stored buffer: the
    /// heap pointer is unchanged (no copy) unless the string must grow.
    #[test]
    fn big_bitmap_modified_in_place() {
        let mut v = Value::Str(CompactBytes::from_vec(vec![0u8; 8 << 20]));
        let Value::Str(b) = &v else { unreachable!() };
        let p0 = Some(b.as_ptr());
        let b = v.raw_string_mut(0).unwrap();
        assert_eq!(Some(b.as_ptr()), p0);
        put_bit(b.as_mut_slice(), 12345, true);
        let b = v.raw_string_mut(1 << 20).unwrap();
        assert_eq!(Some(b.as_ptr()), p0);
        assert!(get_bit(b, 12345));
        assert!(matches!(v, Value::Raw(_)));
    }

    #[test]
    fn first_bit_rules() {
        assert_eq!(first_bit(&[0, 0x10], true), 11);
        assert_eq!(first_bit(&[0, 0], true), -1);
        assert_eq!(first_bit(&[0xff, 0xfe], false), 15);
        assert_eq!(first_bit(&[0xff], false), 8);
    }
}
