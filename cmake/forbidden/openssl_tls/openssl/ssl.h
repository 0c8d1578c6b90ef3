// Stands in for <openssl/ssl.h> outside the layers allowed to use it (docs/ARCHITECTURE.md).
#error "OpenSSL TLS is used only in redis/ (transport.cc)"
