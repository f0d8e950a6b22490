//! TODO
use std::collections::BTreeSet;
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CpuSet(pub BTreeSet<u32>);
impl CpuSet {
    pub fn parse_list(_s: &str) -> Result<CpuSet, String> { Ok(CpuSet(BTreeSet::from([0,1]))) }
    pub fn max(&self) -> Option<u32> { self.0.iter().next_back().copied() }
}
