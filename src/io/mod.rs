//! Checkpoint storage: reading (memory-mapped, headers first) and writing (laid out up front,
//! published atomically).
