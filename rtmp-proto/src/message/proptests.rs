//! Property tests of the message layer.
