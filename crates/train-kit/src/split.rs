//! Seeded, stratified splits: every class keeps its share in every part, and the same seed
//! always gives the same parts.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Splits `items` into parts whose sizes follow `fractions` (which should sum to 1) within each
/// stratum given by `stratum`. Order inside each part is shuffled by `seed`.
pub fn stratified_split<T>(
    items: Vec<T>,
    stratum: impl Fn(&T) -> usize,
    fractions: &[f64],
    seed: u64,
) -> Vec<Vec<T>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut strata: Vec<Vec<T>> = Vec::new();
    for item in items {
        let key = stratum(&item);
        if strata.len() <= key {
            strata.resize_with(key + 1, Vec::new);
        }
        strata[key].push(item);
    }
    let mut parts: Vec<Vec<T>> = fractions.iter().map(|_| Vec::new()).collect();
    for mut members in strata {
        members.shuffle(&mut rng);
        let sizes = part_sizes(members.len(), fractions);
        let mut rest = members.into_iter();
        for (part, size) in parts.iter_mut().zip(sizes) {
            part.extend(rest.by_ref().take(size));
        }
    }
    for part in &mut parts {
        part.shuffle(&mut rng);
    }
    parts
}

/// Rounds each part's share of `count`; the last part takes what rounding left over.
fn part_sizes(count: usize, fractions: &[f64]) -> Vec<usize> {
    let mut sizes: Vec<usize> = fractions
        .iter()
        .map(|f| (f * count as f64).round() as usize)
        .collect();
    if let Some((last, others)) = sizes.split_last_mut() {
        *last = count.saturating_sub(others.iter().sum());
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<(usize, usize)> {
        (0..150).map(|i| (i, i / 50)).collect()
    }

    #[test]
    fn keeps_every_class_share_and_every_item() {
        let parts = stratified_split(labels(), |&(_, class)| class, &[0.8, 0.2], 7);
        assert_eq!(parts[0].len(), 120);
        assert_eq!(parts[1].len(), 30);
        for class in 0..3 {
            assert_eq!(parts[1].iter().filter(|&&(_, c)| c == class).count(), 10);
        }
        let mut all: Vec<usize> = parts.concat().iter().map(|&(i, _)| i).collect();
        all.sort();
        assert_eq!(all, (0..150).collect::<Vec<_>>());
    }

    #[test]
    fn same_seed_same_parts_other_seed_other_parts() {
        let a = stratified_split(labels(), |&(_, c)| c, &[0.8, 0.2], 1);
        let b = stratified_split(labels(), |&(_, c)| c, &[0.8, 0.2], 1);
        let c = stratified_split(labels(), |&(_, c)| c, &[0.8, 0.2], 2);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn three_way_split_sizes_add_up() {
        let parts = stratified_split(labels(), |&(_, c)| c, &[0.7, 0.15, 0.15], 3);
        let sizes: Vec<usize> = parts.iter().map(Vec::len).collect();
        assert_eq!(sizes.iter().sum::<usize>(), 150);
        assert_eq!(sizes, vec![105, 24, 21]);
    }
}
