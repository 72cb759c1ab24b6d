import Hummingbird
import PeriscopeModel
import PeriscopeServer

extension QueryRoutes {
    /// `GET /metrics`: the SLOs' state for Prometheus to scrape (`SLOExposition`), evaluated at
    /// the scrape as `GET /api/v1/slos` is, behind the same bearer token (Prometheus's
    /// `authorization: {credentials_file: …}`).
    func registerMetrics(on router: Router<BasicRequestContext>) {
        router.get("metrics") { request, _ in
            do {
                let statuses = try await self.run { try $0.statuses(of: $0.objectives, nowUnixNano: WallClock.nowUnixNano()) }
                return Response.bytes(SLOExposition.text(statuses), contentType: SLOExposition.contentType)
            } catch {
                return self.storeFailed(error, request: request)
            }
        }
    }
}
