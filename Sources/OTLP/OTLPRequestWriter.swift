import PeriscopeModel

/// The envelope every OTLP export request shares, written straight from the model: for each
/// resource group, field 1 of the request holds the resource (field 1) and one message per
/// scope (field 2) with the scope (field 1) and its items (field 2). `OTLPLogsWriter` and
/// `OTLPTracesWriter` fill in the items.
enum OTLPRequestWriter {
    static func encode<Group: OTLPResourceGroup>(
        _ groups: [Group], bytesPerItem: Int, item: (inout ProtobufWriter, Group.Scoped.Item) -> Void
    ) -> [UInt8] {
        var writer = ProtobufWriter()
        writer.bytes.reserveCapacity(groups.reduce(0) { $0 + $1.scopes.reduce(0) { $0 + $1.items.count * bytesPerItem } })
        for group in groups {
            writer.message(1) { resourceGroup in
                resourceGroup.message(1) { resource in
                    resource.attributes(1, group.resource.attributes)
                    resource.varintField(2, UInt64(group.resource.droppedAttributesCount))
                }
                for scope in group.scopes {
                    resourceGroup.message(2) { scopeGroup in
                        scopeGroup.message(1) { instrumentation in
                            instrumentation.stringField(1, scope.scope.name)
                            instrumentation.stringField(2, scope.scope.version)
                            instrumentation.attributes(3, scope.scope.attributes)
                        }
                        for element in scope.items {
                            scopeGroup.message(2) { item(&$0, element) }
                        }
                    }
                }
            }
        }
        return writer.bytes
    }
}

/// A signal's items of one resource, grouped by scope (`ResourceSpans`, `ResourceLogs`).
protocol OTLPResourceGroup {
    associatedtype Scoped: OTLPScopeGroup
    var resource: Resource { get }
    var scopes: [Scoped] { get }
}

/// A signal's items of one instrumentation scope (`ScopeSpans`, `ScopeLogs`).
protocol OTLPScopeGroup {
    associatedtype Item
    var scope: InstrumentationScope { get }
    var items: [Item] { get }
}

extension ResourceSpans: OTLPResourceGroup {}
extension ResourceLogs: OTLPResourceGroup {}

extension ScopeSpans: OTLPScopeGroup {
    var items: [Span] { spans }
}

extension ScopeLogs: OTLPScopeGroup {
    var items: [LogRecord] { records }
}
