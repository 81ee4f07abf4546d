//! Where a new topic's replicas go.

use super::leader::BrokerId;

/// Kafka's rack-unaware placement: partition `p`'s first replica goes
/// round-robin from a start broker; the followers follow at a shift that
/// grows each time the partitions wrap around the brokers, so leaders and
/// followers both spread evenly.
pub(crate) fn place(
    brokers: &[BrokerId],
    partitions: u32,
    rf: u32,
    seed: u64,
) -> Vec<Vec<BrokerId>> {
    let n = brokers.len();
    if n == 0 {
        return Vec::new();
    }
    let start = usize::try_from(seed % n as u64).unwrap_or(0);
    let mut shift = usize::try_from((seed / n as u64) % n as u64).unwrap_or(0);
    let mut out = Vec::new();
    for p in 0..partitions as usize {
        if p > 0 && p % n == 0 {
            shift += 1;
        }
        let first = (p + start) % n;
        let mut replicas = vec![brokers.get(first).copied().unwrap_or(0)];
        for j in 0..(rf as usize).saturating_sub(1) {
            let step = 1 + (shift + j) % (n - 1).max(1);
            replicas.push(brokers.get((first + step) % n).copied().unwrap_or(0));
        }
        out.push(replicas);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_spreads_leaders_and_followers_evenly() {
        for (brokers, partitions, rf) in [(3u32, 6u32, 3u32), (3, 3, 2), (5, 10, 3), (4, 8, 1)] {
            let ids: Vec<BrokerId> = (0..brokers).collect();
            for seed in 0..7 {
                let placed = place(&ids, partitions, rf, seed);
                let mut leads = vec![0; brokers as usize];
                let mut hosts = vec![0; brokers as usize];
                for replicas in &placed {
                    assert_eq!(replicas.len(), rf as usize);
                    let mut sorted = replicas.clone();
                    sorted.sort_unstable();
                    sorted.dedup();
                    assert_eq!(sorted.len(), rf as usize, "distinct replicas {replicas:?}");
                    leads[replicas[0] as usize] += 1;
                    for &r in replicas {
                        hosts[r as usize] += 1;
                    }
                }
                let even = (partitions / brokers) as usize;
                assert!(leads.iter().all(|&l| l == even), "leaders {leads:?}");
                let per = (partitions * rf / brokers) as usize;
                assert!(hosts.iter().all(|&h| h == per), "replicas {hosts:?}");
            }
        }
    }
}
