//! The operator guide (the tree's README.md) as text.

mod guide_text;
mod moving;
