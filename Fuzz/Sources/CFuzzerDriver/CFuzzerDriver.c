#include "CFuzzerDriver.h"

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

int fuzz_driver_run(int argc, char **argv, fuzz_input_handler handler) {
    return LLVMFuzzerRunDriver(&argc, &argv, handler);
}
