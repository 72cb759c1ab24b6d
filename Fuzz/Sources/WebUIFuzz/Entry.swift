import CFuzzerDriver
import PeriscopeCollector

@_cdecl("WebUIFuzz_main")
func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    fuzz_driver_run(argc, argv) { data, size in
        guard let data else { return 0 }
        WebUIFuzzing.check(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
}
