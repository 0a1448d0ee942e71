//! Collection values: one module per Redis type. Each type owns its
//! encodings (compact and full) and reports them for OBJECT ENCODING.

pub mod hash;
pub mod indexed;
pub mod list;
pub mod pair;
pub mod set;

pub use hash::Hash;
pub use list::List;
pub use set::Set;
