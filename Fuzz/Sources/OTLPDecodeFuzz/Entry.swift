import CFuzzerDriver

@_cdecl("OTLPDecodeFuzz_main")
func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    fuzz_driver_run(argc, argv) { data, size in data.map { otlpDecodeFuzz($0, size) } ?? 0 }
}
