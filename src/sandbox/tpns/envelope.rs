//! TPNS's error codes and the envelopes of its two API families.

use serde_json::json;

use crate::sandbox::exchange::Reply;

pub(super) const AUTH_FAILURE: u32 = 1008003;
pub(super) const WRONG_ACCESS_ID: u32 = 1008035;
pub(super) const PARSE_ERROR: u32 = 1008001;
pub(super) const MISSING: u32 = 1008002;
pub(super) const INVALID: u32 = 1008007;
pub(super) const NOT_EXIST: u32 = 1008015;
pub(super) const TOO_FAST: u32 = 1008028;

fn text(code: u32) -> &'static str {
    match code {
        0 => "",
        PARSE_ERROR => "paramter parse error", // sic, as in Tencent's error-code table
        MISSING => "missing parameter",
        AUTH_FAILURE => "auth failure",
        INVALID => "invalid parameter",
        NOT_EXIST => "push id not exist",
        TOO_FAST => "request too fast",
        WRONG_ACCESS_ID => "accessId is not correct or domain not correct",
        10010012 => "illegal push time",
        1008016 => "date param format error",
        _ => "error",
    }
}

/// The envelope of one API family.
#[derive(Clone, Copy)]
pub(super) struct Family {
    /// The statistics family (`retCode`/`errMsg`); else the push family (`ret_code`/`err_msg`).
    pub camel: bool,
}

impl Family {
    pub fn err(self, code: u32) -> Reply {
        self.err_msg(code, text(code))
    }

    pub fn err_msg(self, code: u32, msg: &str) -> Reply {
        if self.camel {
            Reply::json(200, json!({"retCode": code, "errMsg": msg}))
        } else {
            Reply::json(200, json!({"ret_code": code, "err_msg": msg}))
        }
    }
}

/// Success for stop / revoke / cancel.
pub(super) fn ok() -> Reply {
    Reply::json(200, json!({"ret_code": 0, "err_msg": ""}))
}
