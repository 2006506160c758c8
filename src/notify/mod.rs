//! Mail: rendering (definition templates inside the `templates/mail/` layouts), transports
//! (SMTP or `.eml` files), and the outbox sender that delivers what use cases queued.

pub mod render;
pub mod sender;
pub mod transport;

pub use render::{Mailer, Rendered};
pub use sender::{RunReport, Sender, SenderSettings};
pub use transport::Transport;
