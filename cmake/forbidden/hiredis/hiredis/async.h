// Stands in for <hiredis/async.h> outside the layers allowed to use it (docs/ARCHITECTURE.md).
#error "hiredis is used only in redis/: talk to Redis through redis/redis_client.h"
