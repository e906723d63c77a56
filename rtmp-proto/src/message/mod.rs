//! Typed messages (RTMP 1.0 §5.4, §6, §7).

/// Errors turning a raw message into a typed one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// The payload was shorter than the message type needs.
    #[error("message type {type_id} payload too short")]
    Truncated {
        /// The message type id.
        type_id: u8,
    },
}
