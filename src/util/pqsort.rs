//! Redis 7.0's `pqsort` (src/pqsort.c: NetBSD's Bentley-McIlroy
//! quicksort, without the switch to insertion sort after a pass with no
//! swap, that leaves partitions outside the positions `lo..=hi`
//! unsorted), step for step. SORT with BY and LIMIT and GEO searches cut
//! by COUNT sort with it in Redis, and the order it leaves elements that
//! compare equal in is part of their replies.

use std::cmp::Ordering;

/// Sort `v` so that positions `lo..=hi` hold what a full sort puts there
/// (Redis's bounds: `hi` may be below `lo`, or negative, for no range).
pub fn pqsort<T>(v: &mut [T], cmp: &impl Fn(&T, &T) -> Ordering, lo: i64, hi: i64) {
    let n = v.len();
    sort_at(v, cmp, lo, hi, 0, n);
}

fn med3<T>(v: &[T], cmp: &impl Fn(&T, &T) -> Ordering, a: usize, b: usize, c: usize) -> usize {
    use Ordering::{Greater, Less};
    if cmp(&v[a], &v[b]) == Less {
        if cmp(&v[b], &v[c]) == Less {
            b
        } else if cmp(&v[a], &v[c]) == Less {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) == Greater {
        b
    } else if cmp(&v[a], &v[c]) == Less {
        a
    } else {
        c
    }
}

/// `_pqsort` on `v[a..a + n]` (positions are absolute, as C's pointers).
fn sort_at<T>(
    v: &mut [T],
    cmp: &impl Fn(&T, &T) -> Ordering,
    lo: i64,
    hi: i64,
    mut a: usize,
    mut n: usize,
) {
    use Ordering::{Equal, Greater, Less};
    // Whether the partition [a, a + n) holds none of the wanted places.
    let skip = |a: usize, n: usize| {
        let (a, e) = (a as i64, (a + n) as i64);
        (lo < a && hi < a) || (lo >= e && hi >= e)
    };
    loop {
        if n < 7 {
            for m in a + 1..a + n {
                let mut l = m;
                while l > a && cmp(&v[l - 1], &v[l]) == Greater {
                    v.swap(l, l - 1);
                    l -= 1;
                }
            }
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, cmp, pl, pl + d, pl + 2 * d);
                pm = med3(v, cmp, pm - d, pm, pm + d);
                pn = med3(v, cmp, pn - 2 * d, pn - d, pn);
            }
            pm = med3(v, cmp, pl, pm, pn);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                let c = cmp(&v[pb], &v[a]);
                if c == Greater {
                    break;
                }
                if c == Equal {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let c = cmp(&v[pc], &v[a]);
                if c == Less {
                    break;
                }
                if c == Equal {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let r = (pa - a).min(pb - pa);
        for i in 0..r {
            v.swap(a + i, pb - r + i);
        }
        let r = (pd - pc).min(pn - pd - 1);
        for i in 0..r {
            v.swap(pb + i, pn - r + i);
        }
        let r = pb - pa;
        if r > 1 && !skip(a, r) {
            sort_at(v, cmp, lo, hi, a, r);
        }
        let r = pd - pc;
        if r > 1 {
            a = pn - r;
            n = r;
            if !skip(a, n) {
                continue;
            }
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The places asked for hold what a full sort puts there, and the
    /// rest is a permutation.
    #[test]
    fn sorts_the_range() {
        let mut r = crate::util::XorShift64(0x005E_ED0F_5EED);
        for _ in 0..2000 {
            let n = r.below(120) + 1;
            let v: Vec<u64> = (0..n).map(|_| r.next() % 20).collect();
            let (lo, hi) = {
                let a = r.below(n);
                let b = r.below(n);
                (a.min(b), a.max(b))
            };
            let mut got = v.clone();
            pqsort(&mut got, &|a: &u64, b: &u64| a.cmp(b), lo as i64, hi as i64);
            let mut want = v.clone();
            want.sort();
            assert_eq!(got[lo..=hi], want[lo..=hi], "{v:?} {lo}..={hi}");
            got.sort();
            assert_eq!(got, want, "a permutation");
        }
    }

    /// Equal elements end where Redis 7.0's C code leaves them (orders
    /// produced by src/pqsort.c on these inputs).
    #[test]
    fn ties_land_where_redis_puts_them() {
        let dists = [
            147.6, 70.9, 0.0001, 0.0001, 0.0001, 8.8, 11.1, 11.1, 138.8, 73.8, 114.3, 170.2, 135.1,
            158.2, 94.1, 138.3, 111.5, 72.7, 99.7, 108.9, 76.4, 82.8, 144.1,
        ];
        let mut v: Vec<(f64, usize)> = dists.iter().copied().zip(0..).collect();
        pqsort(
            &mut v,
            &|a: &(f64, usize), b: &(f64, usize)| a.0.partial_cmp(&b.0).unwrap(),
            0,
            1,
        );
        let order: Vec<usize> = v.iter().map(|x| x.1).collect();
        assert_eq!(
            order,
            [
                3, 2, 4, 7, 6, 1, 5, 17, 20, 9, 21, 18, 14, 19, 12, 15, 16, 22, 10, 8, 0, 13, 11
            ]
        );
    }
}
