// libFuzzer's driver, started from an entry point that is not libFuzzer's own `main`
// (SwiftPM links an executable target's entry point as `<target>_main`).
#include <stddef.h>
#include <stdint.h>

typedef int (*fuzz_input_handler)(const uint8_t *data, size_t size);

/// Runs libFuzzer with the command line's options over `handler`.
int fuzz_driver_run(int argc, char **argv, fuzz_input_handler handler);
