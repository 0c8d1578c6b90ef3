// Stands in for <openssl/x509.h> outside the layers allowed to use it (docs/ARCHITECTURE.md).
#error "OpenSSL TLS is used only in redis/ (transport.cc)"
