// Compiles the small C helper that gives Redis-identical float parsing and
// formatting (strtold/strtod and printf's %.17g / %.17Lf, long double included).
fn main() {
    println!("cargo:rerun-if-changed=src/util/numfmt.c");
    cc::Build::new()
        .file("src/util/numfmt.c")
        .opt_level(2)
        .compile("cairn_numfmt");
}
