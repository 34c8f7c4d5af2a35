//! The floors' signature step (`floor`, `dpop_floor`): a JWS signature base64url-decoded into
//! a stack buffer with the library's decoder (base64-simd), so that a floor does no more work
//! than the library for the same step (or every ratio would flatter the library).

/// Room for the largest signature of a supported algorithm (RSA-8192: 1 024 bytes).
pub const MAX_SIGNATURE: usize = 1024;

/// `b64` decoded into the start of `buf`; `None` if it is not base64url or does not fit.
pub fn decode<'b>(b64: &str, buf: &'b mut [u8; MAX_SIGNATURE]) -> Option<&'b [u8]> {
    let len = base64_simd::URL_SAFE_NO_PAD
        .decoded_length(b64.as_bytes())
        .ok()?;
    let out = buf.get_mut(..len)?;
    let decoded = base64_simd::URL_SAFE_NO_PAD
        .decode(b64.as_bytes(), base64_simd::Out::from_slice(out))
        .ok()?;
    Some(decoded)
}
