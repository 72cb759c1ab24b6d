import PeriscopeQueryAPI

extension QueryClient {
    /// `GET /api/v1/signals?…`: golden signals per service or per operation.
    func signals(service: String?, byOperation: Bool, range: TimeRange) async throws -> QueryAPI.Signals {
        var items = range.queryItems
        if let service { items.append(("service", service)) }
        if byOperation { items.append(("by", "operation")) }
        return try await get("/api/v1/signals" + Self.queryString(items), as: QueryAPI.Signals.self) { _, _ in nil }
    }

    /// `GET /api/v1/slos`: every SLO's status.
    func slos() async throws -> QueryAPI.SLOList {
        try await get("/api/v1/slos", as: QueryAPI.SLOList.self) { _, _ in nil }
    }

    /// `GET /api/v1/slos/{name}`: one SLO with its budget history and alert events.
    func slo(_ name: String) async throws -> QueryAPI.SLODetail {
        try await get("/api/v1/slos/" + Self.encode(name), as: QueryAPI.SLODetail.self) { status, body in
            status == 404 ? QueryError(body?.error ?? "no SLO named '\(name)'") : nil
        }
    }
}
