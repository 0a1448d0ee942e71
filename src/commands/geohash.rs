//! Geohash arithmetic for the GEO commands, as Redis 7.0's geohash.c and
//! geohash_helper.c compute it. Replies depend on every step (which cells
//! a search visits decides what ANY returns; the cell centre is the
//! position GEOPOS prints), so the formulas, constants and float
//! operations follow Redis's in the same order.
//!
//! A position is stored as a sorted-set score: the 26-step interleaved
//! hash (52 bits, latitude in the even bits, longitude in the odd bits)
//! over Redis's ranges (longitude -180..180, latitude
//! -85.05112878..85.05112878, the Web Mercator limits).

pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
/// Bits per coordinate of a stored position.
pub const STEP_MAX: u8 = 26;

const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;
const D_R: f64 = std::f64::consts::PI / 180.0;

fn deg_rad(ang: f64) -> f64 {
    ang * D_R
}

fn rad_deg(ang: f64) -> f64 {
    ang / D_R
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// A cell: `step` bits per coordinate. A zero cell (bits and step 0)
/// stands for a neighbour the search leaves out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Bits {
    pub bits: u64,
    pub step: u8,
}

impl Bits {
    pub fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Area {
    pub longitude: (f64, f64),
    pub latitude: (f64, f64),
}

/// The stored ranges.
pub const WGS84: (Range, Range) = (
    Range {
        min: LONG_MIN,
        max: LONG_MAX,
    },
    Range {
        min: LAT_MIN,
        max: LAT_MAX,
    },
);

/// Spread the 32 bits of `x` to the even bits and those of `y` to the odd
/// bits.
fn interleave64(xlo: u32, ylo: u32) -> u64 {
    const B: [u64; 5] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
    ];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let (mut x, mut y) = (xlo as u64, ylo as u64);
    for i in (0..5).rev() {
        x = (x | (x << S[i])) & B[i];
        y = (y | (y << S[i])) & B[i];
    }
    x | (y << 1)
}

/// The inverse: even bits to the low 32, odd bits to the high 32.
fn deinterleave64(interleaved: u64) -> u64 {
    const B: [u64; 6] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
        0x00000000FFFFFFFF,
    ];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let mut x = interleaved;
    let mut y = interleaved >> 1;
    for i in 0..6 {
        x = (x | (x >> S[i])) & B[i];
        y = (y | (y >> S[i])) & B[i];
    }
    x | (y << 32)
}

/// The cell of `step` bits holding a position, or `None` outside the
/// ranges (or the stored limits).
pub fn encode(ranges: (Range, Range), longitude: f64, latitude: f64, step: u8) -> Option<Bits> {
    let (long_range, lat_range) = ranges;
    if step > 32 || step == 0 {
        return None;
    }
    if !(LONG_MIN..=LONG_MAX).contains(&longitude) || !(LAT_MIN..=LAT_MAX).contains(&latitude) {
        return None;
    }
    if latitude < lat_range.min
        || latitude > lat_range.max
        || longitude < long_range.min
        || longitude > long_range.max
    {
        return None;
    }
    let mut lat_offset = (latitude - lat_range.min) / (lat_range.max - lat_range.min);
    let mut long_offset = (longitude - long_range.min) / (long_range.max - long_range.min);
    lat_offset *= (1u64 << step) as f64;
    long_offset *= (1u64 << step) as f64;
    // C converts the doubles to uint32_t (truncation); both are in
    // 0..=2^step here.
    Some(Bits {
        bits: interleave64(lat_offset as u32, long_offset as u32),
        step,
    })
}

/// A stored position's score.
pub fn encode_score(longitude: f64, latitude: f64) -> Option<u64> {
    encode(WGS84, longitude, latitude, STEP_MAX).map(align52)
}

/// The area a cell covers.
pub fn decode(ranges: (Range, Range), hash: Bits) -> Option<Area> {
    let (long_range, lat_range) = ranges;
    if hash.is_zero() {
        return None;
    }
    let sep = deinterleave64(hash.bits);
    let lat_scale = lat_range.max - lat_range.min;
    let long_scale = long_range.max - long_range.min;
    let ilato = sep as u32;
    let ilono = (sep >> 32) as u32;
    let div = (1u64 << hash.step) as f64;
    Some(Area {
        latitude: (
            lat_range.min + (ilato as f64 * 1.0 / div) * lat_scale,
            lat_range.min + (ilato.wrapping_add(1) as f64 * 1.0 / div) * lat_scale,
        ),
        longitude: (
            long_range.min + (ilono as f64 * 1.0 / div) * long_scale,
            long_range.min + (ilono.wrapping_add(1) as f64 * 1.0 / div) * long_scale,
        ),
    })
}

/// The position a stored score stands for: its cell's centre, clamped to
/// the stored ranges. `None` for a score no position has (Redis's
/// `decodeGeohash` failing).
pub fn decode_score(score: f64) -> Option<(f64, f64)> {
    let bits = c_u64_cast(score);
    let area = decode(
        WGS84,
        Bits {
            bits,
            step: STEP_MAX,
        },
    )?;
    let mut x = (area.longitude.0 + area.longitude.1) / 2.0;
    x = x.clamp(LONG_MIN, LONG_MAX);
    let mut y = (area.latitude.0 + area.latitude.1) / 2.0;
    y = y.clamp(LAT_MIN, LAT_MAX);
    Some((x, y))
}

/// C's `(uint64_t)` cast of a double as GCC compiles it for x86-64 (the
/// cast is undefined in C outside 0..2^64, but the code is fixed, and
/// any score can be given a member with ZADD): below 2^63 a signed
/// truncation (0x8000000000000000 when out of range), from 2^63 the same
/// after subtracting 2^63, with the top bit flipped back.
fn c_u64_cast(d: f64) -> u64 {
    const TWO63: f64 = 9223372036854775808.0;
    if d.is_nan() {
        return 0x8000000000000000;
    }
    if d < TWO63 {
        if d > -TWO63 {
            d as i64 as u64
        } else {
            0x8000000000000000
        }
    } else {
        let v = d - TWO63;
        let s = if v < TWO63 { v as i64 } else { i64::MIN };
        (s as u64) ^ 0x8000000000000000
    }
}

/// A 26-step cell's bits, shifted to the 52-bit score scale.
pub fn align52(hash: Bits) -> u64 {
    hash.bits << (52 - hash.step as u32 * 2)
}

/// Move a cell one step along one coordinate: `own` masks that
/// coordinate's bits (odd bits: longitude, `geohash_move_x`; even bits:
/// latitude, `geohash_move_y`). Adding one to interleaved bits carries
/// through the other coordinate's bits once they are all set.
fn move_along(hash: &mut Bits, d: i8, own: u64) {
    if d == 0 {
        return;
    }
    let shift = 64 - hash.step as u32 * 2;
    let mut v = hash.bits & own;
    let other = hash.bits & !own;
    let zz = !own >> shift;
    if d > 0 {
        v = v.wrapping_add(zz + 1);
    } else {
        v |= zz;
        v = v.wrapping_sub(zz + 1);
    }
    v &= own >> shift;
    hash.bits = v | other;
}

const LONG_BITS: u64 = 0xaaaaaaaaaaaaaaaa;
const LAT_BITS: u64 = 0x5555555555555555;

/// A cell's eight neighbours.
#[derive(Clone, Copy, Debug, Default)]
pub struct Neighbors {
    pub north: Bits,
    pub south: Bits,
    pub east: Bits,
    pub west: Bits,
    pub north_east: Bits,
    pub south_east: Bits,
    pub north_west: Bits,
    pub south_west: Bits,
}

fn neighbors(hash: Bits) -> Neighbors {
    let at = |dx: i8, dy: i8| {
        let mut h = hash;
        move_along(&mut h, dx, LONG_BITS);
        move_along(&mut h, dy, LAT_BITS);
        h
    };
    Neighbors {
        east: at(1, 0),
        west: at(-1, 0),
        south: at(0, -1),
        north: at(0, 1),
        north_west: at(-1, 1),
        south_west: at(-1, -1),
        north_east: at(1, 1),
        south_east: at(1, -1),
    }
}

/// Bits per coordinate of the cells a search of this radius visits.
fn estimate_steps_by_radius(range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut range = range_meters;
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// What a search covers: a circle or an axis-aligned box around `xy`
/// (longitude, latitude). Sizes are in the request's unit; `conversion`
/// turns them into metres.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    Circle { radius: f64 },
    Box { width: f64, height: f64 },
}

#[derive(Clone, Copy, Debug)]
pub struct Search {
    pub xy: (f64, f64),
    pub conversion: f64,
    pub shape: Shape,
}

impl Search {
    /// Bounding box: (min longitude, min latitude, max longitude, max
    /// latitude), as `geohashBoundingBox`.
    fn bounds(&self) -> [f64; 4] {
        let (longitude, latitude) = self.xy;
        let (height, width) = match self.shape {
            Shape::Circle { radius } => (self.conversion * radius, self.conversion * radius),
            Shape::Box { width, height } => (
                self.conversion * (height / 2.0),
                self.conversion * (width / 2.0),
            ),
        };
        let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
        let long_delta_top =
            rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude + lat_delta).cos());
        let long_delta_bottom =
            rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude - lat_delta).cos());
        let southern = latitude < 0.0;
        [
            if southern {
                longitude - long_delta_bottom
            } else {
                longitude - long_delta_top
            },
            latitude - lat_delta,
            if southern {
                longitude + long_delta_bottom
            } else {
                longitude + long_delta_top
            },
            latitude + lat_delta,
        ]
    }

    /// The cells to scan, in Redis's order: the centre cell, then north,
    /// south, east, west, north-east, north-west, south-east, south-west
    /// (zero cells are skipped), as `geohashCalculateAreasByShapeWGS84`.
    pub fn cells(&self) -> [Bits; 9] {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounds();
        let (longitude, latitude) = self.xy;
        let radius_meters = match self.shape {
            Shape::Circle { radius } => radius,
            Shape::Box { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        } * self.conversion;
        let mut steps = estimate_steps_by_radius(radius_meters, latitude);
        let at = |steps: u8| {
            let hash = encode(WGS84, longitude, latitude, steps).unwrap_or_default();
            (
                hash,
                neighbors(hash),
                decode(WGS84, hash).unwrap_or_default(),
            )
        };
        let (mut hash, mut n, mut area) = at(steps);
        // Is the step small enough at the edges of the covered area?
        let north = decode(WGS84, n.north).unwrap_or_default();
        let south = decode(WGS84, n.south).unwrap_or_default();
        let east = decode(WGS84, n.east).unwrap_or_default();
        let west = decode(WGS84, n.west).unwrap_or_default();
        let decrease = north.latitude.1 < max_lat
            || south.latitude.0 > min_lat
            || east.longitude.1 < max_lon
            || west.longitude.0 > min_lon;
        if steps > 1 && decrease {
            steps -= 1;
            (hash, n, area) = at(steps);
        }
        // Leave out the cells the search area does not reach.
        if steps >= 2 {
            let zero = Bits::default();
            if area.latitude.0 < min_lat {
                n.south = zero;
                n.south_west = zero;
                n.south_east = zero;
            }
            if area.latitude.1 > max_lat {
                n.north = zero;
                n.north_east = zero;
                n.north_west = zero;
            }
            if area.longitude.0 < min_lon {
                n.west = zero;
                n.south_west = zero;
                n.north_west = zero;
            }
            if area.longitude.1 > max_lon {
                n.east = zero;
                n.south_east = zero;
                n.north_east = zero;
            }
        }
        [
            hash,
            n.north,
            n.south,
            n.east,
            n.west,
            n.north_east,
            n.north_west,
            n.south_east,
            n.south_west,
        ]
    }

    /// Whether the position `p` is inside, and its distance (metres) from
    /// the centre (`geoWithinShape`).
    pub fn within(&self, p: (f64, f64)) -> Option<f64> {
        let (x1, y1) = self.xy;
        match self.shape {
            Shape::Circle { radius } => {
                let d = distance(x1, y1, p.0, p.1);
                (d <= radius * self.conversion).then_some(d)
            }
            Shape::Box { width, height } => {
                let (w, h) = (width * self.conversion, height * self.conversion);
                if lat_distance(p.1, y1) > h / 2.0 {
                    return None;
                }
                if distance(p.0, p.1, x1, p.1) > w / 2.0 {
                    return None;
                }
                Some(distance(x1, y1, p.0, p.1))
            }
        }
    }
}

/// The score range `min..max` (max excluded) of the positions inside a
/// cell.
pub fn cell_scores(hash: Bits) -> (f64, f64) {
    let min = align52(hash);
    let max = align52(Bits {
        bits: hash.bits.wrapping_add(1),
        step: hash.step,
    });
    (min as f64, max as f64)
}

fn lat_distance(lat1d: f64, lat2d: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2d) - deg_rad(lat1d)).abs()
}

/// Great-circle distance in metres (haversine), as `geohashGetDistance`.
pub fn distance(lon1d: f64, lat1d: f64, lon2d: f64, lat2d: f64) -> f64 {
    let lon1r = deg_rad(lon1d);
    let lon2r = deg_rad(lon2d);
    let v = ((lon2r - lon1r) / 2.0).sin();
    // Same longitude: the formula reduces to the latitude difference.
    if v == 0.0 {
        return lat_distance(lat1d, lat2d);
    }
    let lat1r = deg_rad(lat1d);
    let lat2r = deg_rad(lat2d);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

/// The standard 11-character geohash of a stored score (GEOHASH): the
/// position is decoded, then encoded again over latitude -90..90.
pub fn standard_string(score: f64) -> Option<[u8; 11]> {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (x, y) = decode_score(score)?;
    let ranges = (
        Range {
            min: -180.0,
            max: 180.0,
        },
        Range {
            min: -90.0,
            max: 90.0,
        },
    );
    let hash = encode(ranges, x, y, 26).unwrap_or_default();
    let mut out = [0u8; 11];
    for (i, c) in out.iter_mut().enumerate() {
        // 52 bits make ten characters; the eleventh is always '0', as in
        // Redis.
        let idx = if i == 10 {
            0
        } else {
            (hash.bits >> (52 - (i + 1) * 5)) & 0x1f
        };
        *c = ALPHABET[idx as usize];
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_round_trips() {
        let mut r = crate::util::XorShift64(0x9e3779b97f4a7c15);
        for _ in 0..1000 {
            let (a, b) = (r.next() as u32, r.next() as u32);
            let d = deinterleave64(interleave64(a, b));
            assert_eq!((d as u32, (d >> 32) as u32), (a, b));
        }
    }

    #[test]
    fn known_positions_match_redis() {
        // GEOADD Sicily 13.361389 38.115556 "Palermo" 15.087269 37.502669
        // "Catania" on redis-server 7.0.15: scores, GEOPOS, GEODIST and
        // GEOHASH.
        assert_eq!(encode_score(13.361389, 38.115556), Some(3479099956230698));
        assert_eq!(encode_score(15.087269, 37.502669), Some(3479447370796909));
        let (x, y) = decode_score(3479099956230698.0).unwrap();
        assert_eq!(crate::util::fmt_double_human(x), "13.36138933897018433");
        assert_eq!(crate::util::fmt_double_human(y), "38.11555639549629859");
        let (x2, y2) = decode_score(3479447370796909.0).unwrap();
        let d = distance(x, y, x2, y2);
        assert_eq!(crate::util::fmt_double_fixed(d, 4), "166274.1516");
        assert_eq!(
            &standard_string(3479099956230698.0).unwrap(),
            b"sqc8b49rny0"
        );
        assert_eq!(
            &standard_string(3479447370796909.0).unwrap(),
            b"sqdtr74hyu0"
        );
    }

    #[test]
    fn out_of_range_positions_are_refused() {
        assert_eq!(encode_score(180.1, 0.0), None);
        assert_eq!(encode_score(0.0, 85.06), None);
        assert!(encode_score(180.0, 85.05112878).is_some());
    }
}
