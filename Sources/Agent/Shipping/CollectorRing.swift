import PeriscopeModel

/// The collectors an agent ships to, and the order in which a piece of data prefers them:
/// rendezvous (highest-random-weight) hashing, so every agent with the same list agrees without
/// talking, and a collector that is skipped moves only its own share to the others. A trace's
/// spans prefer the same collector whichever batch they come in, so they meet in one place;
/// when it is down they all move to the same second choice.
struct CollectorRing: Sendable {
    let urls: [String]
    private let urlKeys: [UInt64]
    /// Names this list of collectors (in this order): part IDs carry it, so a batch cut for one
    /// list is never mistaken for a batch cut for another after the list changed.
    let fingerprint: String

    init(urls: [String]) {
        precondition(!urls.isEmpty, "an agent ships to at least one collector")
        self.urls = urls
        // Host names are case-insensitive: `http://C1` and `http://c1` are one collector for every agent.
        urlKeys = urls.map { Self.key($0.lowercased()) }
        let whole = Self.key(urls.map { $0.lowercased() }.joined(separator: "\n"))
        let hex = String(whole & 0xFFFF_FFFF, radix: 16)
        fingerprint = String(repeating: "0", count: 8 - hex.count) + hex
    }

    var count: Int { urls.count }

    /// Every collector's index, the most preferred for `key` first.
    func preference(for key: UInt64) -> [Int] {
        guard urls.count > 1 else { return [0] }
        let scores = urlKeys.map { Self.mix(key ^ $0) }
        return urls.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
    }

    /// `home` first, then the others in an order fixed by `home`: where a trace part goes when
    /// its home collector is down, the same for every trace of that home.
    func fallbacks(from home: Int) -> [Int] {
        var order = preference(for: urlKeys[home])
        order.removeAll { $0 == home }
        return [home] + order
    }

    /// The collector a trace's spans go to while it is healthy.
    func home(of traceID: TraceID) -> Int {
        guard urls.count > 1 else { return 0 }
        let key = Self.key(traceID)
        var best = 0
        var bestScore = Self.mix(key ^ urlKeys[0])
        for index in 1..<urlKeys.count {
            let score = Self.mix(key ^ urlKeys[index])
            if score > bestScore { (best, bestScore) = (index, score) }
        }
        return best
    }

    static func key(_ traceID: TraceID) -> UInt64 { mix(traceID.high ^ mix(traceID.low)) }

    /// FNV-1a: stable across processes and machines (Swift's `Hasher` is seeded per process).
    static func key(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return mix(hash)
    }

    /// SplitMix64's finaliser: every input bit moves every output bit.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
