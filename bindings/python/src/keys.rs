//! `client_key=`: the client's private key for `private_key_jwt` (RFC 7523), as PEM text (`str`)
//! or bytes. The key is a secret: it is read into the core's key type, whose `Debug` shows no key
//! material, and no repr shows it.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use scopegate_core::jose::SigningKey;
use zeroize::Zeroizing;

use crate::failure::Failure;

/// The key a `client_key` argument holds (`None`: none given).
pub(crate) fn client_key_arg(value: Option<Bound<'_, PyAny>>) -> PyResult<Option<SigningKey>> {
    let Some(value) = value.filter(|v| !v.is_none()) else { return Ok(None) };
    let pem: Zeroizing<String> = if let Ok(s) = value.cast::<PyString>() {
        Zeroizing::new(s.to_cow()?.into_owned())
    } else if let Ok(b) = value.cast::<PyBytes>() {
        let text = std::str::from_utf8(b.as_bytes())
            .map_err(|_| Failure::Config("client_key is not PEM text (the bytes are not UTF-8)".into()))?;
        Zeroizing::new(text.to_owned())
    } else {
        return Err(PyTypeError::new_err(format!(
            "client_key must be the PEM text of a PKCS#8 private key (str or bytes), not {}",
            value.get_type().name()?
        )));
    };
    let key = SigningKey::from_pem(&pem)
        .map_err(|e| Failure::Config(format!("client_key is not a usable private key: {e}")))?;
    Ok(Some(key))
}
