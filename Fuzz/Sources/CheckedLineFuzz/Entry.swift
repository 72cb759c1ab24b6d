import CFuzzerDriver
import PeriscopeDiskQueue

@_cdecl("CheckedLineFuzz_main")
func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    fuzz_driver_run(argc, argv) { data, size in
        guard let data else { return 0 }
        CheckedLineFuzzing.check(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
}
