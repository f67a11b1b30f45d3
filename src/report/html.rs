//! The HTML report (to be written).
