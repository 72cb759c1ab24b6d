import Foundation
import Hummingbird
import Logging
import PeriscopeHummingbird
import PeriscopeSDK
import Tracing

/// The backend's routes: one inventory lookup, traced as a SERVER span (by the Periscope
/// middleware) with a nested "db.query" span, logging inside each. Two SKUs misbehave on
/// purpose: "missing" (404) and "broken" (500, span status error) so the demo always has
/// failures to look at. `GET /debug/telemetry` returns the SDK's export counters as JSON.
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
        address: ListenAddress, logger: Logger, periscope: Periscope,
        onListening: @escaping @Sendable (Int) -> Void
    ) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: TracingRequestMiddleware(routeStyle: .colonParameters))
        let requestLogger = { () -> Logger in
            var logger = Logger(label: "inventory")
            logger.logLevel = .debug
            return logger
        }()
        router.get("/inventory/:sku") { _, context -> EditedResponse<Reply> in
            let sku = context.parameters.get("sku") ?? ""
            return await handleInventory(sku: sku, logger: requestLogger)
        }
        router.get("/debug/telemetry") { _, _ -> Response in
            let body = (try? JSONEncoder().encode(periscope.statistics)) ?? Data()
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
        }
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(address.host, port: address.port)),
            onServerRunning: { channel in
                onListening(channel.localAddress?.port ?? address.port)
            },
            logger: logger)
    }

    /// Runs inside the middleware's SERVER span, so logs and `db.query` nest under it; the
    /// middleware records the status code and marks 5xx answers as errors.
    static func handleInventory(sku: String, logger: Logger) async -> EditedResponse<Reply> {
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
            return EditedResponse(status: .ok, response: Reply(sku: sku, available: available))
        case ("missing", _):
            logger.info("unknown sku", metadata: ["sku": .string(sku)])
            return EditedResponse(status: .notFound, response: Reply(sku: sku, error: "unknown sku"))
        case (_, .failure(let error)):
            logger.error("inventory lookup failed", metadata: ["sku": .string(sku), "error": .string(error.description)])
            return EditedResponse(status: .internalServerError, response: Reply(sku: sku, error: error.description))
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
