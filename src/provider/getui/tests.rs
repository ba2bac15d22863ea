//! GeTui's planning and procedures.
