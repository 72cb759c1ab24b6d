import Hummingbird
import PeriscopeModel
import PeriscopeServer

extension QueryRoutes {
    /// `GET /metrics`: the SLOs' state (`CollectorExposition`), evaluated at the scrape as
    /// `GET /api/v1/slos` is, what ingest did (`ingest`) and how evaluation and alert delivery
    /// went (`alerting`), for Prometheus to scrape behind
    /// the same bearer token (Prometheus's `authorization: {credentials_file: …}`).
    func registerMetrics(on router: Router<BasicRequestContext>, ingest: IngestCounters, alerting: AlertingCounters) {
        router.get("metrics") { request, _ in
            do {
                let store = self.store
                let statuses = try await BlockingIO.runScrape { try store.statuses(of: store.objectives, nowUnixNano: WallClock.nowUnixNano()) }
                return Response.bytes(CollectorExposition.text(statuses, ingest: ingest.snapshot, alerting: alerting.snapshot), contentType: CollectorExposition.contentType)
            } catch {
                return self.storeFailed(error, request: request)
            }
        }
    }
}
