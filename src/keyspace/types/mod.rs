//! Collection values: one module per Redis type. Each type owns its
//! encodings (compact and full) and reports them for OBJECT ENCODING.

pub mod cgroup;
pub mod chunked;
pub mod chunkmap;
pub mod hash;
pub mod hll;
pub mod indexed;
pub mod list;
pub mod pair;
pub mod posindex;
pub mod ranktree;
pub mod set;
pub mod stream;
pub mod zset;

pub use hash::Hash;
pub use list::List;
pub use set::Set;
pub use stream::Stream;
pub use zset::ZSet;
