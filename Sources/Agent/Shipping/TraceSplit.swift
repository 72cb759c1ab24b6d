import PeriscopeCompression
import PeriscopeDelivery
import PeriscopeModel
import PeriscopeOTLP

/// A queued batch cut into the parts that go to different collectors, and each part's order of
/// preference. Spans are cut by their trace's home collector; logs and metrics stay whole and
/// prefer collectors by batch ID (spread evenly, and a retry prefers the same collector). A
/// part of spans falls back in an order fixed by its home collector, so while one collector is
/// down all of its traces move to the same other one.
/// The cut depends only on the batch and the configured collector list, so a batch shipped
/// again after a restart is cut into the same parts with the same IDs, and the collector's
/// batch-ID de-duplication still applies to each part. Part IDs name the list too
/// (`BATCH.LIST.cN`): after the list changed, a part is a new batch (perhaps stored twice),
/// never one whose ID was seen with other spans (which would be dropped as a duplicate).
struct ShipmentPart: Sendable {
    var batch: EncodedBatch
    var preference: [Int]
}

enum TraceSplit {
    /// Largest decompressed batch the agent cuts; the queue never holds larger (its record limit is smaller).
    static let maxDecompressedBytes = 256 << 20

    static func parts(of batch: EncodedBatch, ring: CollectorRing) -> [ShipmentPart] {
        let whole = [ShipmentPart(batch: batch, preference: ring.preference(for: CollectorRing.key(batch.id)))]
        guard ring.count > 1, batch.signal == .traces,
              let bytes = try? Zstd.decompress(batch.body, limit: maxDecompressedBytes),
              // A fixed "now": the cut must not depend on when it is made.
              let decoded = try? OTLPDecoder().decode(.traces, bytes, format: .protobuf, nowUnixNano: 0),
              decoded.rejectedItems == 0, case .traces(let groups) = decoded.batch
        else { return whole }
        var byHome = [Int: [ResourceSpans]]()
        var spansByHome = [Int: Int]()
        for group in groups {
            var scopesByHome = [Int: [ScopeSpans]]()
            for scope in group.scopes {
                var spans = [Int: [Span]]()
                for span in scope.spans { spans[ring.home(of: span.traceID), default: []].append(span) }
                for (home, homed) in spans {
                    scopesByHome[home, default: []].append(ScopeSpans(scope: scope.scope, spans: homed))
                    spansByHome[home, default: 0] += homed.count
                }
            }
            for (home, scopes) in scopesByHome { byHome[home, default: []].append(ResourceSpans(resource: group.resource, scopes: scopes)) }
        }
        guard spansByHome.values.reduce(0, +) == batch.itemCount else { return whole }
        return byHome.keys.sorted().map { home in
            let body = Zstd.compress(OTLPEncoder.encode(.traces(byHome[home]!)))
            let part = EncodedBatch(id: "\(batch.id).\(ring.fingerprint).c\(home)", signal: .traces, itemCount: spansByHome[home]!, body: body)
            return ShipmentPart(batch: part, preference: ring.fallbacks(from: home))
        }
    }
}
