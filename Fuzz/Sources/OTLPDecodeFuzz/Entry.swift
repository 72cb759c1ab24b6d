import CFuzzerDriver

/// SwiftPM links an executable target's entry point as `<target>_main`: hand control to
/// libFuzzer's driver from there, with this target's input handler.
@_cdecl("OTLPDecodeFuzz_main")
func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
        guard let data else { return 0 }
        return otlpDecodeFuzz(data, size)
    }
}
