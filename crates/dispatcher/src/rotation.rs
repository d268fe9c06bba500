//! Deterministic weighted rotation (smooth weighted round-robin): over time each keeper is picked in
//! proportion to its voting power, without bursts, and the same history gives the same choices.

use std::collections::HashMap;

/// Rotation state: each keeper's running score.
#[derive(Debug, Default)]
pub struct Rotation {
    scores: HashMap<i64, i128>,
}

impl Rotation {
    /// Picks among `(keeper id, weight)` candidates; `None` when there are none.
    pub fn pick(&mut self, candidates: &[(i64, u128)]) -> Option<i64> {
        let total: i128 = candidates.iter().map(|(_, w)| (*w).clamp(1, i64::MAX as u128) as i128).sum();
        let mut best: Option<(i64, i128)> = None;
        for (id, weight) in candidates {
            let score = self.scores.entry(*id).or_insert(0);
            *score += (*weight).clamp(1, i64::MAX as u128) as i128;
            if best.is_none_or(|(best_id, best_score)| *score > best_score || (*score == best_score && *id < best_id)) {
                best = Some((*id, *score));
            }
        }
        let (chosen, _) = best?;
        if let Some(score) = self.scores.get_mut(&chosen) {
            *score -= total;
        }
        Some(chosen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_in_proportion_to_weight_and_deterministically() {
        let mut rotation = Rotation::default();
        let candidates = [(1, 100), (2, 200), (3, 100)];
        let picks: Vec<i64> = (0..8).map(|_| rotation.pick(&candidates).unwrap()).collect();
        assert_eq!(picks.iter().filter(|p| **p == 2).count(), 4);
        assert_eq!(picks.iter().filter(|p| **p == 1).count(), 2);
        assert_eq!(picks[..4], [2, 1, 3, 2], "smooth: no keeper twice in a row when avoidable");
        let mut again = Rotation::default();
        let repeat: Vec<i64> = (0..8).map(|_| again.pick(&candidates).unwrap()).collect();
        assert_eq!(picks, repeat);
        assert_eq!(Rotation::default().pick(&[]), None);
    }
}
