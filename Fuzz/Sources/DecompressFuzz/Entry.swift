import CFuzzerDriver

@_cdecl("DecompressFuzz_main")
func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    fuzz_driver_run(argc, argv) { data, size in data.map { decompressFuzz($0, size) } ?? 0 }
}
