//! Small helpers that must behave byte-for-byte like Redis's `util.c`:
//! strict integer parsing, float parsing/formatting and glob matching.

pub mod pqsort;

use std::ffi::c_char;
use std::time::{SystemTime, UNIX_EPOCH};

unsafe extern "C" {
    fn cairn_parse_d(s: *const c_char, len: usize, out: *mut f64) -> i32;
    fn cairn_incr_ld(
        cur: *const c_char,
        curlen: usize,
        has_cur: i32,
        incr: *const c_char,
        incrlen: usize,
        out: *mut c_char,
        cap: usize,
    ) -> i32;
    fn cairn_fmt_g17(d: f64, out: *mut c_char, cap: usize) -> i32;
    fn cairn_fmt_g14(d: f64, out: *mut c_char, cap: usize) -> i32;
    fn cairn_sort_score(s: *const c_char, len: usize, out: *mut f64) -> i32;
    fn cairn_fmt_human(d: f64, out: *mut c_char, cap: usize) -> i32;
    fn cairn_fmt_fixed(d: f64, prec: i32, out: *mut c_char, cap: usize) -> i32;
}

/// Milliseconds since the Unix epoch.
#[inline]
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Microseconds since the Unix epoch.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Redis `string2ll`: optional '-', no '+', no leading zeros, no spaces,
/// at most 20 characters, must fit in i64.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = if s[0] == b'-' {
        (true, &s[1..])
    } else {
        (false, s)
    };
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

/// Redis `string2d`/`getDoubleFromObject` (strtod; no leading space, no
/// trailing garbage, no NaN).
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    let mut out = 0f64;
    // SAFETY: the C function reads exactly `len` bytes and writes one f64.
    let ok = unsafe { cairn_parse_d(s.as_ptr() as *const c_char, s.len(), &mut out) };
    (ok == 1).then_some(out)
}

/// SORT's numeric score of a value (C `strtod` over it as a C string);
/// `None` where Redis replies "One or more scores can't be converted".
pub fn sort_score(s: &[u8]) -> Option<f64> {
    let mut out = 0f64;
    // SAFETY: the C function reads exactly `len` bytes and writes one f64.
    let ok = unsafe { cairn_sort_score(s.as_ptr() as *const c_char, s.len(), &mut out) };
    (ok == 1).then_some(out)
}

/// Outcome of `incr_float`.
pub enum IncrFloat {
    Ok(Vec<u8>),
    /// The current value is not a valid float.
    BadCurrent,
    /// The increment is not a valid float.
    BadIncrement,
    /// The result is NaN or infinite.
    NanOrInf,
}

/// INCRBYFLOAT arithmetic in long double, formatted like Redis (`%.17Lf`,
/// trailing zeros trimmed). `cur` is the current value, if any.
pub fn incr_float(cur: Option<&[u8]>, incr: &[u8]) -> IncrFloat {
    let mut out = vec![0u8; 5 * 1024 + 64];
    let (cp, cl, has) = match cur {
        Some(c) => (c.as_ptr(), c.len(), 1),
        None => (std::ptr::null(), 0, 0),
    };
    // SAFETY: the C function reads exactly the given lengths and writes at
    // most `out.len()` bytes.
    let n = unsafe {
        cairn_incr_ld(
            cp as *const c_char,
            cl,
            has,
            incr.as_ptr() as *const c_char,
            incr.len(),
            out.as_mut_ptr() as *mut c_char,
            out.len(),
        )
    };
    match n {
        -1 => IncrFloat::BadCurrent,
        -2 => IncrFloat::NanOrInf,
        n if n < 0 => IncrFloat::BadIncrement,
        n => {
            out.truncate(n as usize);
            IncrFloat::Ok(out)
        }
    }
}

/// `%.17g` formatting of a double (Redis 7.0 reply format), `inf`/`-inf`.
pub fn fmt_double_g17(d: f64) -> String {
    let mut out = [0u8; 64];
    // SAFETY: writes at most 64 bytes into `out`.
    let n = unsafe { cairn_fmt_g17(d, out.as_mut_ptr() as *mut c_char, out.len()) };
    String::from_utf8_lossy(&out[..n.max(0) as usize]).into_owned()
}

/// `%.14g` formatting of a double (lua-cjson's number format, for the
/// scripts' `cjson.encode`).
pub fn fmt_double_g14(d: f64) -> String {
    let mut out = [0u8; 64];
    // SAFETY: writes at most 64 bytes into `out`.
    let n = unsafe { cairn_fmt_g14(d, out.as_mut_ptr() as *mut c_char, out.len()) };
    String::from_utf8_lossy(&out[..n.max(0) as usize]).into_owned()
}

/// A double as Redis's `addReplyHumanLongDouble` prints it (`%.17Lf` of
/// the value as a long double, trailing zeros and dot trimmed; `inf`):
/// GEOPOS and WITHCOORD.
pub fn fmt_double_human(d: f64) -> String {
    let mut out = [0u8; 400];
    // SAFETY: writes at most `out.len()` bytes into `out`.
    let n = unsafe { cairn_fmt_human(d, out.as_mut_ptr() as *mut c_char, out.len()) };
    String::from_utf8_lossy(&out[..n.max(0) as usize]).into_owned()
}

/// C's `%.<prec>f` (GEODIST's `%.4f`; `inf`, `nan` as C spells them).
pub fn fmt_double_fixed(d: f64, prec: i32) -> String {
    let mut out = [0u8; 400];
    // SAFETY: writes at most `out.len()` bytes into `out`.
    let n = unsafe { cairn_fmt_fixed(d, prec, out.as_mut_ptr() as *mut c_char, out.len()) };
    String::from_utf8_lossy(&out[..n.max(0) as usize]).into_owned()
}

/// ASCII case-insensitive equality (command names, options).
#[inline]
pub fn eq_ic(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Redis glob matching (`stringmatchlen`): `*`, `?`, `[...]` with `^` and
/// ranges, backslash escapes; `nocase` folds ASCII case.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    glob_impl(pattern, string, nocase, &mut skip_longer, 0)
}

fn lower(c: u8) -> u8 {
    c.to_ascii_lowercase()
}

fn glob_impl(
    mut p: &[u8],
    mut s: &[u8],
    nocase: bool,
    skip_longer: &mut bool,
    nesting: u32,
) -> bool {
    if nesting > 1000 {
        return false;
    }
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                while !s.is_empty() {
                    if glob_impl(&p[1..], s, nocase, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s = &s[1..];
                }
                *skip_longer = true;
                return false;
            }
            b'?' => {
                s = &s[1..];
            }
            b'[' => {
                p = &p[1..];
                let not = p.first() == Some(&b'^');
                if not {
                    p = &p[1..];
                }
                let mut matched = false;
                // `p` may run out: Redis then steps back one so the final
                // advance leaves the pattern empty.
                let mut ran_out = false;
                loop {
                    if p.is_empty() {
                        ran_out = true;
                        break;
                    }
                    if p[0] == b'\\' && p.len() >= 2 {
                        p = &p[1..];
                        if p[0] == s[0] {
                            matched = true;
                        }
                    } else if p[0] == b']' {
                        break;
                    } else if p.len() >= 3 && p[1] == b'-' {
                        // C compares signed chars here.
                        let (mut start, mut end, mut c) =
                            (p[0] as i8 as i32, p[2] as i8 as i32, s[0] as i8 as i32);
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        if nocase {
                            start = lower(start as u8) as i8 as i32;
                            end = lower(end as u8) as i8 as i32;
                            c = lower(c as u8) as i8 as i32;
                        }
                        p = &p[2..];
                        if c >= start && c <= end {
                            matched = true;
                        }
                    } else if (!nocase && p[0] == s[0]) || (nocase && lower(p[0]) == lower(s[0])) {
                        matched = true;
                    }
                    p = &p[1..];
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s = &s[1..];
                if ran_out {
                    // Pattern exhausted inside the class.
                    if s.is_empty() {
                        return true;
                    }
                    return false;
                }
            }
            b'\\' => {
                if p.len() >= 2 {
                    p = &p[1..];
                }
                if (!nocase && p[0] != s[0]) || (nocase && lower(p[0]) != lower(s[0])) {
                    return false;
                }
                s = &s[1..];
            }
            c => {
                if (!nocase && c != s[0]) || (nocase && lower(c) != lower(s[0])) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
        if s.is_empty() {
            while !p.is_empty() && p[0] == b'*' {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

/// Format a byte string for Redis error messages and logs the way Redis's
/// `sdscatrepr`-free paths do: plain bytes, lossy UTF-8.
pub fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Ask the CPU to start loading the cache line at `p` (a hint: no effect
/// on what the program computes, and `p` is never dereferenced).
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of x86_64, and a prefetch never faults, whatever
    // the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Give the calling thread the lowest CPU priority (Linux `SCHED_IDLE`):
/// for background work that must not take CPU from client commands
/// (snapshot compression). It runs on otherwise idle CPU time; such a
/// thread must never hold a lock a client-serving thread waits for, since
/// it can stay descheduled for long. Best effort: on error, or on other
/// systems, the priority stays as it was.
pub fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    {
        let p = libc::sched_param { sched_priority: 0 };
        // SAFETY: a plain syscall on the calling thread (pid 0).
        unsafe {
            libc::sched_setscheduler(0, libc::SCHED_IDLE, &p);
        }
    }
}

/// xorshift64: a tiny deterministic generator for tests, fuzzing and
/// benchmarks, where a seed must name a stream that replays the same way
/// (a zero seed stays zero). Not for anything a client could predict.
#[derive(Debug, Clone)]
pub struct XorShift64(pub u64);

impl XorShift64 {
    // Named as every copy it replaced named it; it is not an iterator.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a, T: ?Sized>(&mut self, xs: &[&'a T]) -> &'a T {
        xs[self.below(xs.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"+1",
            b"01",
            b"-0",
            b" 1",
            b"1 ",
            b"9223372036854775808",
            b"1.0",
            b"-",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn floats_like_redis() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b"1x"), None);
        match incr_float(Some(b"0.1"), b"0.2") {
            IncrFloat::Ok(v) => assert_eq!(v, b"0.3"),
            _ => panic!(),
        }
        match incr_float(Some(b"10.5"), b"0.1") {
            IncrFloat::Ok(v) => assert_eq!(v, b"10.6"),
            _ => panic!(),
        }
        assert!(matches!(
            incr_float(Some(b"1"), b"inf"),
            IncrFloat::NanOrInf
        ));
        assert_eq!(fmt_double_g17(1.5), "1.5");
        assert_eq!(fmt_double_g17(0.1), "0.10000000000000001");
    }

    #[test]
    fn glob() {
        assert!(glob_match(b"*", b"anything", false));
        assert!(glob_match(b"h?llo", b"hello", false));
        assert!(glob_match(b"h[ae]llo", b"hallo", false));
        assert!(!glob_match(b"h[^e]llo", b"hello", false));
        assert!(glob_match(b"h[a-b]llo", b"hbllo", false));
        assert!(glob_match(b"h\\*llo", b"h*llo", false));
        assert!(!glob_match(b"h\\*llo", b"hello", false));
        assert!(glob_match(b"HELLO", b"hello", true));
        assert!(glob_match(b"a*", b"a", false));
        assert!(!glob_match(b"a*b", b"a", false));
        assert!(!glob_match(b"a[", b"a[", false));
        assert!(glob_match(b"a[b", b"ab", false));
        // Pathological pattern finishes quickly.
        let pat = b"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        assert!(!glob_match(pat, &[b'a'; 100], false));
    }
}
