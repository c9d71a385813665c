//! A fault-injecting wrapper around a real scheduler, for testing failure paths. (Being written.)
