//! AMF0 (Action Message Format, version 0, 2007 spec).
//!
//! Not yet implemented.
