import PeriscopeModel

/// Splits a batch into per-day parts, keeping resource and scope grouping.
enum BatchSplit {
    static func byDay(_ batch: TelemetryBatch) -> [PartitionDay: TelemetryBatch] {
        if let day = singleDay(batch) { return [day: batch] }
        switch batch {
        case .traces(let groups):
            return split(groups, items: { $0.scopes }, rebuild: { ResourceSpans(resource: $0.resource, scopes: $1) }) { scope in
                Dictionary(grouping: scope.spans) { PartitionDay(unixNano: $0.startTimeUnixNano) }
                    .mapValues { ScopeSpans(scope: scope.scope, spans: $0) }
            }.mapValues { TelemetryBatch.traces($0) }
        case .logs(let groups):
            return split(groups, items: { $0.scopes }, rebuild: { ResourceLogs(resource: $0.resource, scopes: $1) }) { scope in
                Dictionary(grouping: scope.records) { PartitionDay(unixNano: $0.effectiveTimeUnixNano) }
                    .mapValues { ScopeLogs(scope: scope.scope, records: $0) }
            }.mapValues { TelemetryBatch.logs($0) }
        case .metrics(let groups):
            return split(groups, items: { $0.scopes }, rebuild: { ResourceMetrics(resource: $0.resource, scopes: $1) }) { scope in
                var byDay = [PartitionDay: [Metric]]()
                for metric in scope.metrics {
                    for (day, data) in splitMetric(metric.data) {
                        var part = metric
                        part.data = data
                        byDay[day, default: []].append(part)
                    }
                }
                return byDay.mapValues { ScopeMetrics(scope: scope.scope, metrics: $0) }
            }.mapValues { TelemetryBatch.metrics($0) }
        }
    }

    /// The day of every item when they share one (the usual batch), so it needs no copying.
    private static func singleDay(_ batch: TelemetryBatch) -> PartitionDay? {
        var day: PartitionDay?
        func same(_ unixNano: UInt64) -> Bool {
            let itemDay = PartitionDay(unixNano: unixNano)
            if day == nil { day = itemDay }
            return day == itemDay
        }
        switch batch {
        case .traces(let groups):
            for group in groups { for scope in group.scopes { for span in scope.spans where !same(span.startTimeUnixNano) { return nil } } }
        case .logs(let groups):
            for group in groups { for scope in group.scopes { for record in scope.records where !same(record.effectiveTimeUnixNano) { return nil } } }
        case .metrics:
            return nil
        }
        return day
    }

    private static func split<Group, Scope>(
        _ groups: [Group], items: (Group) -> [Scope], rebuild: (Group, [Scope]) -> Group,
        byDay: (Scope) -> [PartitionDay: Scope]
    ) -> [PartitionDay: [Group]] {
        var out = [PartitionDay: [Group]]()
        for group in groups {
            var scopesByDay = [PartitionDay: [Scope]]()
            for scope in items(group) {
                for (day, part) in byDay(scope) { scopesByDay[day, default: []].append(part) }
            }
            for (day, scopes) in scopesByDay { out[day, default: []].append(rebuild(group, scopes)) }
        }
        return out
    }

    private static func splitMetric(_ data: Metric.Data) -> [PartitionDay: Metric.Data] {
        switch data {
        case .gauge(let points):
            return Dictionary(grouping: points) { PartitionDay(unixNano: $0.timeUnixNano) }.mapValues { .gauge($0) }
        case .sum(let points, let temporality, let monotonic):
            return Dictionary(grouping: points) { PartitionDay(unixNano: $0.timeUnixNano) }
                .mapValues { .sum($0, temporality: temporality, isMonotonic: monotonic) }
        case .histogram(let points, let temporality):
            return Dictionary(grouping: points) { PartitionDay(unixNano: $0.timeUnixNano) }
                .mapValues { .histogram($0, temporality: temporality) }
        }
    }
}
