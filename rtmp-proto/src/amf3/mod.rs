//! AMF3 (Action Message Format, version 3, 2008 spec).
//!
//! Not yet implemented.
