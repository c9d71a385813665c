//! Valid-by-construction values: each `parse` is the only way in and returns the exact
//! message the API shows when the input is refused.

pub mod cert;
pub mod config;
pub mod hostname;
pub mod names;
pub mod sshkey;

pub use cert::{CertificateError, CertificatePair};
pub use config::{ConfigChange, MapChange};
pub use hostname::Hostname;
pub use names::{valid_process_type, AppId, Username};
pub use sshkey::PublicKey;
