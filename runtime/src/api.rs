//! The engine's public API. Filled in by the lifecycle work.
