import CFuzzerDriver
import PeriscopeCollector

@_cdecl("RollupBucketFuzz_main")
func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    fuzz_driver_run(argc, argv) { data, size in
        guard let data else { return 0 }
        StoredBytesFuzzing.checkRollupBucket(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
}
