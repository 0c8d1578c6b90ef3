// Stands in for <openssl/x509v3.h> outside the layers allowed to use it (docs/ARCHITECTURE.md).
#error "OpenSSL TLS is used only in redis/ (transport.cc)"
