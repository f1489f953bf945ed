//! holocron-certs: CA, node and client certificates and the rustls configs built from them.
