// libzstd for periscope-tail-bench's counting sink (decoding the agent's zstd bodies). A module
// of its own name: the main package's CZstd is not a product.
#include <zstd.h>
