//! The PTX simulator.
