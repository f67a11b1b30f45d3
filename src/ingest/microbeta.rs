//! (placeholder until the MicroBeta reader lands)
use crate::types::Geometry;
pub struct WriteablePlate {
    pub geometry: Geometry,
    pub values: Vec<Option<f64>>,
}
pub fn write(_p: &[WriteablePlate], _proto: &str, _at: &str) -> String {
    String::new()
}
