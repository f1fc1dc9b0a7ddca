//! The layout of the options struct C fills in is a contract: code compiled against an older
//! header keeps working with a newer library. `store` was called `store_path`; it was renamed in
//! place, so its position and type, and the struct's size, are what they were.

use std::ffi::c_char;
use std::mem::{align_of, offset_of, size_of};

use scopegate_ffi::client::scopegate_client_options;

#[test]
fn client_options_keep_their_layout() {
    let ptr = size_of::<*const c_char>();
    assert_eq!(size_of::<scopegate_client_options>(), 5 * ptr);
    assert_eq!(align_of::<scopegate_client_options>(), align_of::<*const c_char>());
    assert_eq!(offset_of!(scopegate_client_options, client_id), 0);
    assert_eq!(offset_of!(scopegate_client_options, client_secret), ptr);
    assert_eq!(offset_of!(scopegate_client_options, redirect_uri), 2 * ptr);
    assert_eq!(offset_of!(scopegate_client_options, store), 3 * ptr, "where store_path was");
    assert_eq!(offset_of!(scopegate_client_options, account), 4 * ptr);
}
