
/// The record times the agent passes on as they are: from `maxAge` before the moment a line is
/// read to `maxFuture` after it. A time outside (a clock far off, a mistyped unit, year 9999)
/// is not used: the record keeps its field as an attribute, is marked `periscope.time_unusable`,
/// and the collector places it at its observed time — instead of refusing it or opening a
/// partition for a day no query will look at.
package struct LogTimeBounds: Equatable, Sendable {
    package var maxAge: Duration
    package var maxFuture: Duration

    package init(maxAge: Duration = .seconds(7 * 86_400), maxFuture: Duration = .seconds(3_600)) {
        self.maxAge = maxAge
        self.maxFuture = maxFuture
    }

    /// The accepted range around `observedUnixNano`, saturating at both ends.
    package func accepted(around observedUnixNano: UInt64) -> ClosedRange<UInt64> {
        let age = UInt64(clamping: maxAge.wholeNanoseconds)
        let future = UInt64(clamping: maxFuture.wholeNanoseconds)
        let (earliest, underflow) = observedUnixNano.subtractingReportingOverflow(age)
        let (latest, overflow) = observedUnixNano.addingReportingOverflow(future)
        return (underflow ? 0 : earliest)...(overflow ? .max : latest)
    }
}
