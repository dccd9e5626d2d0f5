//! The loader: epochs are permutations, seeds decide everything, exact resume, flips as a
//! function of (seed, epoch, position), labels that travel with their samples, clean stops.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use scoreflow_train::data::{
    Batch, DataError, DataKind, Dataset, Loader, epoch_permutation, flip_mask,
};

/// Images `[1, 2, 3]` whose sample i holds i·100 + k at element k, labelled i mod 7; reading
/// index `fail_at` fails, so error paths can be exercised.
struct Indexed {
    n: usize,
    fail_at: Option<usize>,
    reads: AtomicUsize,
}

const SHAPE: [usize; 3] = [1, 2, 3];
const LEN: usize = 6;

impl Indexed {
    fn new(n: usize) -> Arc<Self> {
        Arc::new(Self {
            n,
            fail_at: None,
            reads: AtomicUsize::new(0),
        })
    }
}

impl Dataset for Indexed {
    fn len(&self) -> usize {
        self.n
    }
    fn sample_shape(&self) -> &[usize] {
        &SHAPE
    }
    fn num_classes(&self) -> Option<usize> {
        Some(7)
    }
    fn read(&self, index: usize, out: &mut [f32]) -> Result<Option<u32>, DataError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        if Some(index) == self.fail_at {
            return Err(DataError::Read {
                problem: format!("test failure at {index}"),
            });
        }
        for (k, o) in out.iter_mut().enumerate() {
            *o = (index * 100 + k) as f32;
        }
        Ok(Some((index % 7) as u32))
    }
    fn kind(&self) -> DataKind {
        DataKind::Images
    }
}

/// The same values as points of shape `[6]`, to check that flips are refused there.
struct Points(usize);

impl Dataset for Points {
    fn len(&self) -> usize {
        self.0
    }
    fn sample_shape(&self) -> &[usize] {
        &[LEN]
    }
    fn num_classes(&self) -> Option<usize> {
        None
    }
    fn read(&self, index: usize, out: &mut [f32]) -> Result<Option<u32>, DataError> {
        out.fill(index as f32);
        Ok(None)
    }
    fn kind(&self) -> DataKind {
        DataKind::Points
    }
}

/// Decodes one sample of an `Indexed` batch: its dataset index and whether it was mirrored
/// along the width (panics if it is neither the sample nor its exact mirror).
fn decode(sample: &[f32]) -> (usize, bool) {
    let index = (sample.iter().cloned().fold(f32::INFINITY, f32::min) / 100.0) as usize;
    let plain: Vec<f32> = (0..LEN).map(|k| (index * 100 + k) as f32).collect();
    let mut mirrored = plain.clone();
    for row in mirrored.chunks_exact_mut(3) {
        row.reverse();
    }
    if sample == plain.as_slice() {
        (index, false)
    } else if sample == mirrored.as_slice() {
        (index, true)
    } else {
        panic!("sample {sample:?} is neither sample {index} nor its mirror");
    }
}

fn take(loader: &mut Loader, count: usize) -> Vec<Batch> {
    (0..count).map(|_| loader.next_batch().unwrap()).collect()
}

#[test]
fn every_epoch_is_a_permutation_when_the_batch_divides_n() {
    let (n, b) = (60, 6);
    let mut loader = Loader::new(Indexed::new(n), b, 42, false, (0, 0)).unwrap();
    assert_eq!(loader.batches_per_epoch(), 10);
    let mut orders = Vec::new();
    for epoch in 0..3u64 {
        let mut seen = Vec::new();
        for k in 0..10 {
            let batch = loader.next_batch().unwrap();
            assert_eq!((batch.epoch, batch.position), (epoch, k * b));
            assert_eq!(batch.shape, vec![b, 1, 2, 3]);
            assert_eq!(batch.x.len(), b * LEN);
            seen.extend(batch.x.chunks_exact(LEN).map(|s| decode(s).0));
        }
        let set: BTreeSet<usize> = seen.iter().copied().collect();
        assert_eq!(set, (0..n).collect(), "epoch {epoch} is not a permutation");
        assert_eq!(seen, epoch_permutation(42, epoch, n), "epoch {epoch} order");
        assert_ne!(
            seen,
            (0..n).collect::<Vec<_>>(),
            "epoch {epoch} is not shuffled"
        );
        orders.push(seen);
    }
    assert_ne!(orders[0], orders[1]);
    assert_ne!(orders[1], orders[2]);
}

#[test]
fn an_incomplete_tail_is_dropped_and_the_next_epoch_starts_at_zero() {
    let (n, b) = (50, 8);
    let mut loader = Loader::new(Indexed::new(n), b, 1, false, (0, 0)).unwrap();
    let batches = take(&mut loader, 13);
    let places: Vec<(u64, usize)> = batches.iter().map(|b| (b.epoch, b.position)).collect();
    let expected: Vec<(u64, usize)> = (0..6)
        .map(|k| (0, 8 * k))
        .chain((0..6).map(|k| (1, 8 * k)))
        .chain([(2, 0)])
        .collect();
    assert_eq!(places, expected);
    // Each epoch's 48 samples are distinct and are the first 48 of its permutation.
    for epoch in 0..2 {
        let seen: Vec<usize> = batches[epoch * 6..epoch * 6 + 6]
            .iter()
            .flat_map(|b| b.x.chunks_exact(LEN).map(|s| decode(s).0))
            .collect();
        assert_eq!(seen, epoch_permutation(1, epoch as u64, n)[..48]);
    }
}

#[test]
fn the_seed_decides_the_batches() {
    let a = take(
        &mut Loader::new(Indexed::new(40), 5, 9, true, (0, 0)).unwrap(),
        20,
    );
    let b = take(
        &mut Loader::new(Indexed::new(40), 5, 9, true, (0, 0)).unwrap(),
        20,
    );
    let c = take(
        &mut Loader::new(Indexed::new(40), 5, 10, true, (0, 0)).unwrap(),
        20,
    );
    assert_eq!(a, b, "same seed, different batches");
    assert_ne!(a, c, "different seeds, same batches");
    assert_ne!(epoch_permutation(9, 0, 40), epoch_permutation(10, 0, 40));
}

#[test]
fn a_loader_started_anywhere_continues_exactly() {
    let (n, b, seed) = (50, 8, 3);
    let reference = take(
        &mut Loader::new(Indexed::new(n), b, seed, true, (0, 0)).unwrap(),
        25,
    );
    // Resume after batch k: mid-epoch, at the last full batch of an epoch (the tail then moves
    // the start to the next epoch), right at an epoch boundary, and deep into the run.
    for k in [1, 4, 5, 6, 11, 17] {
        let start = reference[k - 1].next_start();
        let mut resumed = Loader::new(Indexed::new(n), b, seed, true, start).unwrap();
        let rest = take(&mut resumed, reference.len() - k);
        assert_eq!(
            rest,
            reference[k..],
            "resume after batch {k} from {start:?}"
        );
    }
    // An explicit (epoch, 0) start is that epoch's first batch.
    let mut at_two = Loader::new(Indexed::new(n), b, seed, true, (2, 0)).unwrap();
    assert_eq!(at_two.next_batch().unwrap(), reference[12]);
}

#[test]
fn flips_depend_on_seed_epoch_and_position_only_and_mirror_the_width() {
    let (n, seed) = (60, 5);
    let mut flipped = 0;
    let mut decisions = Vec::new();
    for b in [4, 6] {
        let mut loader = Loader::new(Indexed::new(n), b, seed, true, (0, 0)).unwrap();
        let mut these = Vec::new();
        for _ in 0..(3 * n / b) {
            let batch = loader.next_batch().unwrap();
            let mask = flip_mask(seed, batch.epoch, n);
            for (i, sample) in batch.x.chunks_exact(LEN).enumerate() {
                let (index, was_flipped) = decode(sample);
                let p = batch.position + i;
                assert_eq!(index, epoch_permutation(seed, batch.epoch, n)[p]);
                assert_eq!(was_flipped, mask[p], "epoch {} position {p}", batch.epoch);
                these.push((batch.epoch, p, was_flipped));
                flipped += usize::from(was_flipped);
            }
        }
        decisions.push(these);
    }
    // Batch sizes 4 and 6 flip the same (epoch, position)s.
    assert_eq!(decisions[0], decisions[1]);
    // A fair coin: 360 decisions, 180 ± 5·9.5 expected.
    assert!(
        (180 - 48..=180 + 48).contains(&flipped),
        "{flipped} of 360 flipped"
    );
    // flip_mask's entry p does not depend on how many entries are asked for.
    assert_eq!(flip_mask(seed, 1, 20)[..], flip_mask(seed, 1, 60)[..20]);
    // Without flips, nothing is mirrored.
    let mut plain = Loader::new(Indexed::new(n), 6, seed, false, (0, 0)).unwrap();
    for batch in take(&mut plain, 20) {
        assert!(batch.x.chunks_exact(LEN).all(|s| !decode(s).1));
    }
}

#[test]
fn labels_travel_with_their_samples() {
    let mut loader = Loader::new(Indexed::new(45), 9, 0, true, (0, 0)).unwrap();
    for batch in take(&mut loader, 12) {
        let labels = batch.labels.as_ref().expect("the dataset has classes");
        assert_eq!(labels.len(), 9);
        for (sample, &label) in batch.x.chunks_exact(LEN).zip(labels) {
            assert_eq!(label as usize, decode(sample).0 % 7);
        }
    }
    let mut points = Loader::new(Arc::new(Points(10)), 5, 0, false, (0, 0)).unwrap();
    let batch = points.next_batch().unwrap();
    assert_eq!(batch.labels, None);
    assert_eq!(batch.shape, vec![5, LEN]);
}

#[test]
fn bad_configurations_are_refused() {
    let err = Loader::new(Indexed::new(10), 0, 0, false, (0, 0)).unwrap_err();
    assert!(matches!(err, DataError::Loader { .. }), "{err}");
    let err = Loader::new(Indexed::new(10), 11, 0, false, (0, 0)).unwrap_err();
    assert!(matches!(err, DataError::Loader { .. }), "{err}");
    assert!(err.to_string().contains("11"), "{err}");
    let err = Loader::new(Arc::new(Points(10)), 2, 0, true, (0, 0)).unwrap_err();
    assert!(matches!(err, DataError::Loader { .. }), "{err}");
}

#[test]
fn a_read_error_is_returned_once_then_the_loader_reports_it_stopped() {
    let dataset = Arc::new(Indexed {
        n: 20,
        fail_at: Some(epoch_permutation(4, 0, 20)[7]),
        reads: AtomicUsize::new(0),
    });
    let mut loader = Loader::new(dataset, 5, 4, false, (0, 0)).unwrap();
    assert!(loader.next_batch().is_ok());
    let err = loader.next_batch().unwrap_err();
    assert!(err.to_string().contains("test failure"), "{err}");
    let err = loader.next_batch().unwrap_err();
    assert!(matches!(err, DataError::LoaderStopped { .. }), "{err}");
    assert!(loader.next().is_none(), "the iterator ends after the error");
}

#[test]
fn dropping_the_loader_stops_the_worker() {
    let dataset = Indexed::new(100);
    let mut loader = Loader::new(dataset.clone(), 10, 0, false, (0, 0)).unwrap();
    let first = loader.next().unwrap().unwrap();
    assert_eq!(first.len(), 10);
    drop(loader);
    // The worker has been joined: no read happens after the drop returned.
    let reads = dataset.reads.load(Ordering::SeqCst);
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(dataset.reads.load(Ordering::SeqCst), reads);
    // At most the batch being handed over plus PREFETCH + 1 more were read.
    assert!(
        reads <= 10 * (2 + scoreflow_train::data::PREFETCH),
        "{reads} reads"
    );
    assert_eq!(
        Arc::strong_count(&dataset),
        1,
        "the worker still holds the dataset"
    );
}
