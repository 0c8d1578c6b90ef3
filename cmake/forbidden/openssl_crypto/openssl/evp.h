// Stands in for <openssl/evp.h> outside the layers allowed to use it (docs/ARCHITECTURE.md).
#error "OpenSSL digests are used only through core/digest.h"
