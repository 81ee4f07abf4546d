//! Bounds-checked reading and zig-zag varint encoding (stub: the storage helper implements).
