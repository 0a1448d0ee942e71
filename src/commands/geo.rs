//! GEO commands (Redis 7.0): positions kept in a sorted set, each member's
//! score its 52-bit geohash (`geohash.rs`), so every sorted-set command
//! works on a geo key too, and the log, snapshots and DUMP need nothing
//! of their own.
//!
//! A search (GEORADIUS*, GEOSEARCH*) scans the score ranges of the centre
//! cell and its eight neighbours, as Redis does, keeps the members inside
//! the circle or box, and sorts them by distance: all of them with a
//! stable sort (ties keep the scan order: cell, then score, then member,
//! as glibc's merge-sort qsort leaves Redis's), or, when COUNT keeps
//! fewer, with a port of Redis's partial quicksort, so that equal
//! distances come out in Redis's order there too.
//!
//! Effects: GEOADD is ZADD with the computed scores and journals that
//! ZADD; a search that stores journals `DEL dst` and the `ZADD`s that
//! rebuild the result (not the search: distances come from the C
//! library's trigonometry, which replay on another machine must not
//! depend on).

use super::geohash::{self, Search, Shape};
use super::zset::{limits, read_z, zadd_generic};
use super::{Cmd, CmdError, CmdResult, Ctx, KEY1, arg_i64, cmd, flag::*, since};
use crate::keyspace::types::ZSet;
use crate::keyspace::{Ttl, Value};
use crate::server::notify;
use crate::util::{eq_ic, fmt_double_fixed, fmt_double_g17, fmt_double_human, parse_f64};
use std::cmp::Ordering::Equal;

const W: u32 = WRITE | DENYOOM;
const R: u32 = READONLY;
const ACL_W: &str = "@write @geo @slow";
const ACL_R: &str = "@read @geo @slow";

pub static COMMANDS: &[Cmd] = &[
    since(
        cmd(
            "geoadd",
            -5,
            W,
            KEY1,
            ACL_W,
            "geo",
            "Add one or more geospatial items in the geospatial index represented using a sorted set",
            geoadd,
        ),
        "3.2.0",
    ),
    since(
        cmd(
            "geodist",
            -4,
            R,
            KEY1,
            ACL_R,
            "geo",
            "Returns the distance between two members of a geospatial index",
            geodist,
        ),
        "3.2.0",
    ),
    since(
        cmd(
            "geohash",
            -2,
            R,
            KEY1,
            ACL_R,
            "geo",
            "Returns members of a geospatial index as standard geohash strings",
            geohash_cmd,
        ),
        "3.2.0",
    ),
    since(
        cmd(
            "geopos",
            -2,
            R,
            KEY1,
            ACL_R,
            "geo",
            "Returns longitude and latitude of members of a geospatial index",
            geopos,
        ),
        "3.2.0",
    ),
    since(
        cmd(
            "georadius",
            -6,
            W | MOVABLEKEYS,
            KEY1,
            ACL_W,
            "geo",
            "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point",
            georadius,
        ),
        "3.2.0",
    ),
    since(
        cmd(
            "georadius_ro",
            -6,
            R,
            KEY1,
            ACL_R,
            "geo",
            "A read-only variant for GEORADIUS",
            georadius_ro,
        ),
        "3.2.10",
    ),
    since(
        cmd(
            "georadiusbymember",
            -5,
            W | MOVABLEKEYS,
            KEY1,
            ACL_W,
            "geo",
            "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member",
            georadiusbymember,
        ),
        "3.2.0",
    ),
    since(
        cmd(
            "georadiusbymember_ro",
            -5,
            R,
            KEY1,
            ACL_R,
            "geo",
            "A read-only variant for GEORADIUSBYMEMBER",
            georadiusbymember_ro,
        ),
        "3.2.10",
    ),
    since(
        cmd(
            "geosearch",
            -7,
            R,
            KEY1,
            ACL_R,
            "geo",
            "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.",
            geosearch,
        ),
        "6.2.0",
    ),
    since(
        cmd(
            "geosearchstore",
            -8,
            W,
            (1, 2, 1),
            ACL_W,
            "geo",
            "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.",
            geosearchstore,
        ),
        "6.2.0",
    ),
];

/// Longitude and latitude arguments (`extractLongLatOrReply`).
fn long_lat(args: &[&[u8]]) -> Result<(f64, f64), CmdError> {
    let x = parse_f64(args[0]).ok_or(CmdError::NotFloat)?;
    let y = parse_f64(args[1]).ok_or(CmdError::NotFloat)?;
    if !(geohash::LONG_MIN..=geohash::LONG_MAX).contains(&x)
        || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&y)
    {
        return Err(CmdError::msg(format!(
            "ERR invalid longitude,latitude pair {},{}",
            fmt_double_fixed(x, 6),
            fmt_double_fixed(y, 6)
        )));
    }
    Ok((x, y))
}

/// A unit's size in metres (`extractUnitOrReply`).
fn unit(a: &[u8]) -> Result<f64, CmdError> {
    if eq_ic(a, b"m") {
        Ok(1.0)
    } else if eq_ic(a, b"km") {
        Ok(1000.0)
    } else if eq_ic(a, b"ft") {
        Ok(0.3048)
    } else if eq_ic(a, b"mi") {
        Ok(1609.34)
    } else {
        Err(CmdError::msg(
            "ERR unsupported unit provided. please use M, KM, FT, MI",
        ))
    }
}

/// A non-negative number with its own error message.
fn size(a: &[u8], what: &str) -> Result<f64, CmdError> {
    parse_f64(a).ok_or_else(|| CmdError::msg(format!("ERR need numeric {what}")))
}

/// `radius unit` (`extractDistanceOrReply`): (radius, metres per unit).
fn radius(args: &[&[u8]]) -> Result<(f64, f64), CmdError> {
    let r = size(args[0], "radius")?;
    if r < 0.0 {
        return Err(CmdError::msg("ERR radius cannot be negative"));
    }
    Ok((r, unit(args[1])?))
}

/// `width height unit` (`extractBoxOrReply`): (width, height, metres per
/// unit).
fn box_size(args: &[&[u8]]) -> Result<(f64, f64, f64), CmdError> {
    let w = size(args[0], "width")?;
    let h = size(args[1], "height")?;
    if h < 0.0 || w < 0.0 {
        return Err(CmdError::msg("ERR height or width cannot be negative"));
    }
    Ok((w, h, unit(args[2])?))
}

/// GEOADD key [NX|XX] [CH] longitude latitude member [...]: ZADD with the
/// positions' scores.
fn geoadd(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (mut nx, mut xx) = (false, false);
    let mut longidx = 2;
    while longidx < argv.len() {
        let o = argv[longidx];
        if eq_ic(o, b"nx") {
            nx = true;
        } else if eq_ic(o, b"xx") {
            xx = true;
        } else if !eq_ic(o, b"ch") {
            break;
        }
        longidx += 1;
    }
    if !(argv.len() - longidx).is_multiple_of(3) || (xx && nx) {
        return Err(CmdError::Syntax);
    }
    let mut scores = Vec::with_capacity((argv.len() - longidx) / 3);
    for t in argv[longidx..].chunks(3) {
        let (x, y) = long_lat(t)?;
        let bits = geohash::encode_score(x, y).unwrap_or(0);
        scores.push(bits.to_string().into_bytes());
    }
    let mut zargv: Vec<&[u8]> = Vec::with_capacity(longidx + scores.len() * 2);
    zargv.push(b"zadd");
    zargv.extend_from_slice(&argv[1..longidx]);
    for (t, s) in argv[longidx..].chunks(3).zip(&scores) {
        zargv.push(s);
        zargv.push(t[2]);
    }
    zadd_generic(ctx, &zargv, false)
}

/// GEODIST key member1 member2 [unit]
fn geodist(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let to_meter = match argv.len() {
        5 => unit(argv[4])?,
        4 => 1.0,
        _ => return Err(CmdError::Syntax),
    };
    let Some(z) = read_z(ctx, argv[1])? else {
        ctx.out.null();
        return Ok(());
    };
    let points = (
        z.score(argv[2]).and_then(geohash::decode_score),
        z.score(argv[3]).and_then(geohash::decode_score),
    );
    match points {
        (Some(a), Some(b)) => {
            let d = geohash::distance(a.0, a.1, b.0, b.1) / to_meter;
            ctx.out.bulk(fmt_double_fixed(d, 4).as_bytes());
        }
        _ => ctx.out.null(),
    }
    Ok(())
}

/// GEOHASH key [member ...]
fn geohash_cmd(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let hashes: Vec<Option<[u8; 11]>> = {
        let z = read_z(ctx, argv[1])?;
        argv[2..]
            .iter()
            .map(|m| {
                z.and_then(|z| z.score(m))
                    .and_then(geohash::standard_string)
            })
            .collect()
    };
    ctx.out.array(hashes.len());
    for h in hashes {
        match h {
            Some(h) => ctx.out.bulk(&h),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// GEOPOS key [member ...]
fn geopos(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let points: Vec<Option<(f64, f64)>> = {
        let z = read_z(ctx, argv[1])?;
        argv[2..]
            .iter()
            .map(|m| z.and_then(|z| z.score(m)).and_then(geohash::decode_score))
            .collect()
    };
    ctx.out.array(points.len());
    for p in points {
        match p {
            Some((x, y)) => {
                ctx.out.array(2);
                human(ctx, x);
                human(ctx, y);
            }
            None => ctx.out.null_array(),
        }
    }
    Ok(())
}

/// `addReplyHumanLongDouble`: RESP3 double, RESP2 bulk string.
fn human(ctx: &mut Ctx, d: f64) {
    ctx.out.double_text(fmt_double_human(d).as_bytes());
}

/// Which search command runs (`georadiusGeneric`'s flags).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// GEORADIUS[_RO]: centre and radius in fixed positions.
    Radius { store: bool },
    /// GEORADIUSBYMEMBER[_RO].
    ByMember { store: bool },
    /// GEOSEARCH and GEOSEARCHSTORE: FROM* and BY* options.
    Search { store: bool },
}

fn georadius(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    search(ctx, argv, Kind::Radius { store: true })
}

fn georadius_ro(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    search(ctx, argv, Kind::Radius { store: false })
}

fn georadiusbymember(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    search(ctx, argv, Kind::ByMember { store: true })
}

fn georadiusbymember_ro(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    search(ctx, argv, Kind::ByMember { store: false })
}

fn geosearch(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    search(ctx, argv, Kind::Search { store: false })
}

fn geosearchstore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    search(ctx, argv, Kind::Search { store: true })
}

/// One member found by a search.
struct Point {
    member: Vec<u8>,
    score: f64,
    /// Metres from the centre.
    dist: f64,
    xy: (f64, f64),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// What a search replies or stores, parsed.
struct Query<'a> {
    store: Option<&'a [u8]>,
    storedist: bool,
    withdist: bool,
    withhash: bool,
    withcoord: bool,
    sort: Sort,
    any: bool,
    count: usize,
}

/// The member's position, or Redis's error.
fn member_xy(z: &ZSet, m: &[u8]) -> Result<(f64, f64), CmdError> {
    z.score(m)
        .and_then(geohash::decode_score)
        .ok_or_else(|| CmdError::msg("ERR could not decode requested zset member"))
}

/// Parse a search's arguments (in Redis's order, so the same error comes
/// first) and run it: the query, and the points found (`None`: no source
/// key).
fn parse_and_find<'a>(
    z: Option<&ZSet>,
    argv: &[&'a [u8]],
    kind: Kind,
) -> Result<(Query<'a>, Option<Vec<Point>>, f64), CmdError> {
    let mut q = Query {
        store: None,
        storedist: false,
        withdist: false,
        withhash: false,
        withcoord: false,
        sort: Sort::None,
        any: false,
        count: 0,
    };
    let mut xy = (0.0, 0.0);
    let mut conversion = 1.0;
    let mut shape = Shape::Circle { radius: 0.0 };
    let base = match kind {
        Kind::Radius { .. } => {
            xy = long_lat(&argv[2..4])?;
            let (r, c) = radius(&argv[4..6])?;
            (shape, conversion) = (Shape::Circle { radius: r }, c);
            6
        }
        Kind::ByMember { .. } => {
            if let Some(z) = z {
                xy = member_xy(z, argv[2])?;
                let (r, c) = radius(&argv[3..5])?;
                (shape, conversion) = (Shape::Circle { radius: r }, c);
            }
            5
        }
        Kind::Search { store } => {
            if store {
                q.store = Some(argv[1]);
                3
            } else {
                2
            }
        }
    };
    let (is_search, may_store) = match kind {
        Kind::Radius { store } | Kind::ByMember { store } => (false, store),
        Kind::Search { store } => (true, store),
    };
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let rest = &argv[base.min(argv.len())..];
    let mut i = 0;
    while i < rest.len() {
        let a = rest[i];
        let left = rest.len() - i - 1;
        if eq_ic(a, b"withdist") {
            q.withdist = true;
        } else if eq_ic(a, b"withhash") {
            q.withhash = true;
        } else if eq_ic(a, b"withcoord") {
            q.withcoord = true;
        } else if eq_ic(a, b"any") {
            q.any = true;
        } else if eq_ic(a, b"asc") {
            q.sort = Sort::Asc;
        } else if eq_ic(a, b"desc") {
            q.sort = Sort::Desc;
        } else if eq_ic(a, b"count") && left >= 1 {
            let n = arg_i64(rest[i + 1])?;
            if n <= 0 {
                return Err(CmdError::msg("ERR COUNT must be > 0"));
            }
            q.count = usize::try_from(n).unwrap_or(usize::MAX);
            i += 1;
        } else if (eq_ic(a, b"store") || eq_ic(a, b"storedist"))
            && left >= 1
            && may_store
            && !is_search
        {
            q.store = Some(rest[i + 1]);
            q.storedist = eq_ic(a, b"storedist");
            i += 1;
        } else if eq_ic(a, b"storedist") && is_search && may_store {
            q.storedist = true;
        } else if eq_ic(a, b"frommember") && left >= 1 && is_search && !fromloc {
            if let Some(z) = z {
                xy = member_xy(z, rest[i + 1])?;
            }
            frommember = true;
            i += 1;
        } else if eq_ic(a, b"fromlonlat") && left >= 2 && is_search && !frommember {
            xy = long_lat(&rest[i + 1..i + 3])?;
            fromloc = true;
            i += 2;
        } else if eq_ic(a, b"byradius") && left >= 2 && is_search && !bybox {
            let (r, c) = radius(&rest[i + 1..i + 3])?;
            (shape, conversion) = (Shape::Circle { radius: r }, c);
            byradius = true;
            i += 2;
        } else if eq_ic(a, b"bybox") && left >= 3 && is_search && !byradius {
            let (w, h, c) = box_size(&rest[i + 1..i + 4])?;
            (shape, conversion) = (
                Shape::Box {
                    width: w,
                    height: h,
                },
                c,
            );
            bybox = true;
            i += 3;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if q.store.is_some() && (q.withdist || q.withhash || q.withcoord) {
        return Err(CmdError::msg(format!(
            "ERR {} is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
            if is_search {
                "GEOSEARCHSTORE"
            } else {
                "STORE option in GEORADIUS"
            }
        )));
    }
    let name = String::from_utf8_lossy(argv[0]);
    if is_search && !(frommember || fromloc) {
        return Err(CmdError::msg(format!(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        )));
    }
    if is_search && !(byradius || bybox) {
        return Err(CmdError::msg(format!(
            "ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"
        )));
    }
    if q.any && q.count == 0 {
        return Err(CmdError::msg(
            "ERR the ANY argument requires COUNT argument",
        ));
    }
    let Some(z) = z else {
        return Ok((q, None, conversion));
    };
    // COUNT picks the nearest, so it sorts (ANY takes the first found).
    if q.count != 0 && q.sort == Sort::None && !q.any {
        q.sort = Sort::Asc;
    }
    let s = Search {
        xy,
        conversion,
        shape,
    };
    let limit = if q.any { q.count } else { 0 };
    let points = find(z, &s, limit);
    Ok((q, Some(points), conversion))
}

/// The members inside the search area, in scan order: the cells in
/// `Search::cells`'s order (a cell equal to the one scanned just before
/// is skipped, as in Redis), each by ascending score. With a `limit`
/// (ANY), the scan stops once it has that many.
fn find(z: &ZSet, s: &Search, limit: usize) -> Vec<Point> {
    let cells = s.cells();
    let mut out = Vec::new();
    let mut last = 0;
    for (i, cell) in cells.iter().enumerate() {
        if cell.is_zero() {
            continue;
        }
        if last != 0 && *cell == cells[last] {
            continue;
        }
        if limit != 0 && out.len() >= limit {
            break;
        }
        let (min, max) = geohash::cell_scores(*cell);
        let start = z.count_while(|sc, _| sc < min);
        let end = z.count_while(|sc, _| sc < max);
        z.visit(start, end, false, |m, score| {
            if let Some(xy) = geohash::decode_score(score)
                && let Some(dist) = s.within(xy)
            {
                out.push(Point {
                    member: m.to_vec(),
                    score,
                    dist,
                    xy,
                });
            }
            limit == 0 || out.len() < limit
        });
        last = i;
    }
    out
}

/// GEORADIUS, GEORADIUSBYMEMBER (and their _RO forms), GEOSEARCH and
/// GEOSEARCHSTORE.
fn search(ctx: &mut Ctx, argv: &[&[u8]], kind: Kind) -> CmdResult {
    let src = match kind {
        Kind::Search { store: true } => argv[2],
        _ => argv[1],
    };
    let (q, points, conversion) = {
        let z = read_z(ctx, src)?;
        parse_and_find(z, argv, kind)?
    };
    let Some(mut points) = points else {
        // No source key.
        match q.store {
            Some(dst) => store(ctx, dst, &[], false, kind),
            None => ctx.out.array(0),
        }
        return Ok(());
    };
    let returned = if q.count == 0 {
        points.len()
    } else {
        points.len().min(q.count)
    };
    // Redis's comparators (`sort_gp_asc`, `sort_gp_desc`): equal
    // distances compare equal.
    let cmp = |a: &Point, b: &Point| {
        let o = a.dist.partial_cmp(&b.dist).unwrap_or(Equal);
        if q.sort == Sort::Desc { o.reverse() } else { o }
    };
    if q.sort != Sort::None {
        if returned == points.len() {
            // glibc's qsort is a merge sort: stable, as this one is.
            points.sort_by(cmp);
        } else {
            // Redis sorts only the first `returned` places with its own
            // partial quicksort, whose order among equal distances decides
            // which of them make the cut: the same algorithm here.
            crate::util::pqsort::pqsort(&mut points, &cmp, 0, returned as i64 - 1);
        }
    }
    points.truncate(returned);
    for p in &mut points {
        p.dist /= conversion;
    }
    match q.store {
        Some(dst) => store(ctx, dst, &points, q.storedist, kind),
        None => reply(ctx, &q, &points),
    }
    Ok(())
}

fn reply(ctx: &mut Ctx, q: &Query, points: &[Point]) {
    let options = q.withdist as usize + q.withhash as usize + q.withcoord as usize;
    ctx.out.array(points.len());
    for p in points {
        if options > 0 {
            ctx.out.array(options + 1);
        }
        ctx.out.bulk(&p.member);
        if q.withdist {
            ctx.out.bulk(fmt_double_fixed(p.dist, 4).as_bytes());
        }
        if q.withhash {
            ctx.out.int(p.score as i64);
        }
        if q.withcoord {
            ctx.out.array(2);
            human(ctx, p.xy.0);
            human(ctx, p.xy.1);
        }
    }
}

/// Store the points at `dst` (scores: geohash, or distance in the unit
/// with STOREDIST), or delete `dst` when there are none; reply with the
/// count.
fn store(ctx: &mut Ctx, dst: &[u8], points: &[Point], storedist: bool, kind: Kind) {
    let db = ctx.db();
    if points.is_empty() {
        if ctx.st.ks.remove(db, dst).is_some() {
            ctx.propagate(&[b"DEL", dst]);
            ctx.notify(notify::GENERIC, "del", dst);
        }
        ctx.out.int(0);
        return;
    }
    let lim = limits(ctx);
    let max_len = points.iter().map(|p| p.member.len()).max().unwrap_or(0);
    let mut z = ZSet::with_hint(points.len(), max_len, lim);
    let score = |p: &Point| if storedist { p.dist } else { p.score };
    for p in points {
        z.add(&p.member, score(p), lim);
    }
    ctx.st
        .ks
        .set(db, dst, Value::ZSet(Box::new(z)), Ttl::Clear, ctx.now);
    // The effect: the result, rebuilt.
    ctx.propagate(&[b"DEL", dst]);
    for chunk in points.chunks(512) {
        let texts: Vec<Vec<u8>> = chunk
            .iter()
            .map(|p| fmt_double_g17(score(p)).into_bytes())
            .collect();
        let mut args: Vec<&[u8]> = Vec::with_capacity(2 + chunk.len() * 2);
        args.push(b"ZADD");
        args.push(dst);
        for (p, t) in chunk.iter().zip(&texts) {
            args.push(t);
            args.push(&p.member);
        }
        ctx.propagate(&args);
    }
    let event = match kind {
        Kind::Search { .. } => "geosearchstore",
        _ => "georadiusstore",
    };
    ctx.notify(notify::ZSET, event, dst);
    ctx.out.int(points.len() as i64);
}
