import Hummingbird
import Logging
import Tracing

/// The backend's routes: one inventory lookup, traced as a SERVER span with a nested
/// "db.query" span, logging inside each. Two SKUs misbehave on purpose: "missing" (404) and
/// "broken" (500, span status error) so the demo always has failures to look at.
enum InventoryServer {
    struct Reply: ResponseEncodable {
        var sku: String
        var available: Int?
        var error: String?
    }

    struct Lookup: Error, CustomStringConvertible {
        var description: String
    }

    static func makeApplication(
        address: ListenAddress, logger: Logger, onListening: @escaping @Sendable (Int) -> Void
    ) -> some ApplicationProtocol {
        let router = Router()
        let requestLogger = { () -> Logger in
            var logger = Logger(label: "inventory")
            logger.logLevel = .debug
            return logger
        }()
        router.get("/inventory/:sku") { request, context -> EditedResponse<Reply> in
            let sku = context.parameters.get("sku") ?? ""
            var parent = ServiceContext.current ?? .topLevel
            InstrumentationSystem.instrument.extract(request.headers, into: &parent, using: HTTPFieldsExtractor())
            return await handleInventory(sku: sku, path: request.uri.path, parent: parent, logger: requestLogger)
        }
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(address.host, port: address.port)),
            onServerRunning: { channel in
                onListening(channel.localAddress?.port ?? address.port)
            },
            logger: logger)
    }

    static func handleInventory(sku: String, path: String, parent: ServiceContext, logger: Logger) async -> EditedResponse<Reply> {
        await withSpan("GET /inventory/:sku", context: parent, ofKind: .server) { span in
            span.attributes["http.request.method"] = "GET"
            span.attributes["http.route"] = "/inventory/:sku"
            span.attributes["url.path"] = path
            logger.info("inventory lookup", metadata: ["sku": .string(sku)])

            let result: Result<Int, Lookup>
            do {
                result = .success(try await withSpan("db.query", ofKind: .internal) { dbSpan in
                    dbSpan.attributes["db.system"] = "sqlite"
                    dbSpan.attributes["db.statement"] = "SELECT available FROM inventory WHERE sku = ?"
                    logger.debug("querying inventory store", metadata: ["sku": .string(sku)])
                    try? await Task.sleep(for: .milliseconds(sku == "slow" ? 400 : 1 + sku.utf8.count % 5))
                    return try query(sku: sku)
                })
            } catch let error as Lookup {
                result = .failure(error)
            } catch {
                result = .failure(Lookup(description: "\(error)"))
            }

            switch (sku, result) {
            case (_, .success(let available)):
                span.attributes["http.response.status_code"] = 200
                return EditedResponse(status: .ok, response: Reply(sku: sku, available: available))
            case ("missing", _):
                span.attributes["http.response.status_code"] = 404
                logger.info("unknown sku", metadata: ["sku": .string(sku)])
                return EditedResponse(status: .notFound, response: Reply(sku: sku, error: "unknown sku"))
            case (_, .failure(let error)):
                span.attributes["http.response.status_code"] = 500
                span.setStatus(SpanStatus(code: .error, message: error.description))
                logger.error("inventory lookup failed", metadata: ["sku": .string(sku), "error": .string(error.description)])
                return EditedResponse(status: .internalServerError, response: Reply(sku: sku, error: error.description))
            }
        }
    }

    /// The pretend database: deterministic stock per SKU.
    static func query(sku: String) throws(Lookup) -> Int {
        switch sku {
        case "missing": throw Lookup(description: "no row for sku")
        case "broken": throw Lookup(description: "inventory store unavailable: database is locked")
        default: return sku.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xffff } % 50
        }
    }
}
