import ArgumentParser
import PeriscopeCollector

/// `periscope-collector`'s entry point: everything else lives in the `PeriscopeCollector` library.
@main
enum CollectorMain {
    static func main() async {
        await CollectorCommand.main()
    }
}
