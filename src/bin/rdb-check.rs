//! `rdb-check <file>`: verify a Cairn snapshot (header, every block's
//! checksum and contents, trailer counts, whole-file checksum) and print a
//! summary. Exit status 0 if the file is sound, 1 if not, 2 on usage.

use cairn::storage::snapshot::check;
use std::collections::BTreeMap;
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 1 || args[0] == "-h" || args[0] == "--help" {
        eprintln!("usage: rdb-check <snapshot file>");
        std::process::exit(2);
    }
    let path = Path::new(&args[0]);
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            std::process::exit(1);
        }
    };
    let mut types: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut dbs: BTreeMap<u32, u64> = BTreeMap::new();
    let mut volatile = 0u64;
    let r = check(path, &bytes, |d| {
        let t = d.entry.value.value_type().name();
        *types.entry(t).or_default() += 1;
        *dbs.entry(d.db).or_default() += 1;
        if d.entry.expire_at() != 0 {
            volatile += 1;
        }
    });
    match r {
        Ok(s) => {
            println!("{}: OK", path.display());
            println!("  file bytes    {}", bytes.len());
            println!("  blocks        {}", s.blocks);
            println!(
                "  keys          {} ({volatile} with an expire time)",
                s.keys
            );
            println!("  raw bytes     {}", s.raw_bytes);
            println!("  cut LSN       {}", s.cut_lsn);
            println!("  created (ms)  {}", s.created_ms);
            for (db, n) in &dbs {
                println!("  db{db:<12}{n} keys");
            }
            for (t, n) in &types {
                println!("  {t:<14}{n}");
            }
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
