//! Embedded PTX modules.
