import PeriscopeModel
@testable import PeriscopeCLI
import PeriscopeQueryAPI
import Testing

@Suite struct CriticalPathTests {
    static func ids(_ spans: [QueryAPI.Span]) -> [UInt64] {
        CriticalPath.indices(in: spans).map { spans[$0].spanID.value }
    }

    @Test func followsTheChildThatEndsLast() {
        // root → cart (ends 3ms) and payments (ends 9ms); the orphan never joins.
        #expect(Self.ids(Fixtures.trace.spans) == [1, 4])
    }

    @Test func descendsThroughEveryLevel() {
        let spans = [
            Fixtures.span(1, parent: nil, service: "a", name: "root", start: 0, duration: 100),
            Fixtures.span(2, parent: 1, service: "a", name: "early long", start: 0, duration: 60),
            Fixtures.span(3, parent: 1, service: "b", name: "late", start: 50, duration: 45),
            Fixtures.span(4, parent: 3, service: "b", name: "first", start: 52, duration: 10),
            Fixtures.span(5, parent: 3, service: "c", name: "second", start: 70, duration: 20),
            Fixtures.span(6, parent: 5, service: "c", name: "leaf", start: 71, duration: 5),
        ]
        #expect(Self.ids(spans) == [1, 3, 5, 6])
    }

    @Test func tiesGoToTheLongerSpan() {
        let spans = [
            Fixtures.span(1, parent: nil, service: "a", name: "root", start: 0, duration: 100),
            Fixtures.span(2, parent: 1, service: "a", name: "short", start: 80, duration: 20),
            Fixtures.span(3, parent: 1, service: "a", name: "long", start: 10, duration: 90),
        ]
        #expect(Self.ids(spans) == [1, 3])
    }

    @Test func withoutATrueRootTheLatestEndingOrphanStarts() {
        let spans = [
            Fixtures.span(1, parent: 0x99, service: "a", name: "orphan early", start: 0, duration: 10),
            Fixtures.span(2, parent: 0x98, service: "a", name: "orphan late", start: 5, duration: 50),
            Fixtures.span(3, parent: 2, service: "a", name: "child", start: 6, duration: 5),
        ]
        #expect(Self.ids(spans) == [2, 3])
    }

    @Test func cyclesAndEmptyTracesEnd() {
        #expect(CriticalPath.indices(in: []).isEmpty)
        let cycle = [
            Fixtures.span(1, parent: 2, service: "a", name: "x", start: 0, duration: 10),
            Fixtures.span(2, parent: 1, service: "a", name: "y", start: 1, duration: 10),
        ]
        #expect(Self.ids(cycle).count <= 2)
        #expect(!Self.ids(cycle).isEmpty)
    }
}
