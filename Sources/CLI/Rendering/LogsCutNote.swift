import PeriscopeQueryAPI

/// The one note for a log answer the collector's read budget cut (`QueryAPI.Logs.truncated`):
/// which part of the range the lines shown cover whole, and the option that reads on from
/// there. `logs`, `logs --follow`, `request` and `trace --logs` all say it this way.
enum LogsCutNote {
    /// The note for `answer` to the query `filter`, or nil when the answer is whole.
    /// `rerun` says how to ask again (e.g. "run again with"), followed by the option.
    static func text(_ answer: QueryAPI.Logs, filter: LogFilter, rerun: String = "run again with") -> String? {
        guard answer.truncated else { return nil }
        guard let resume = answer.readsOn(newestFirst: filter.newestFirst, start: filter.range.startUnixNano, end: filter.range.endUnixNano) else {
            return "the collector's read budget ran out before any part of the range was searched whole: narrow the search (service, level, time range)"
        }
        let (part, side, option, rest) = filter.newestFirst
            ? ("newest", "after", "--until", "earlier")
            : ("oldest", "before", "--since", "later")
        return "the collector searched only the \(part) part of the range (its read budget ran out): the lines shown are every match "
            + "\(side) \(Timestamp.rfc3339(unixNanos: resume)); for \(rest) ones \(rerun) \(option) \(resume)"
    }
}
