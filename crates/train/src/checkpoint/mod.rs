//! Training checkpoints: the network, its EMA, the optimiser state and the position of the run,
//! in one atomic, checksummed file each (`scoreflow-models`' envelope with a byte section for
//! the optimiser and one for the data's moments), the last K kept, and resumption from the newest file that verifies.

mod moments;
mod run_dir;
mod state;
mod trained;

pub use run_dir::{CheckpointFile, Loaded, RunDir};
pub use state::{ModelInfo, Snapshot, TrainState};
pub use trained::{TrainedModel, load_trained};
