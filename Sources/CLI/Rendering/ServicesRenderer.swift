import PeriscopeQueryAPI

/// Services and their operations as a tree, kinds aligned in one column:
///
/// ```
/// checkout  3 operations
/// ├─ GET /inventory/{sku}  client
/// ├─ POST /checkout        server
/// └─ validate cart         internal
/// ```
struct ServicesRenderer: Sendable {
    var width: Int
    var style: Style = .plain

    func render(_ document: QueryAPI.Services) -> String {
        let services = document.services.sorted { $0.name < $1.name }
        var rows: [(label: String, kind: String)] = []
        for service in services {
            let operations = service.operations.sorted { ($0.name, $0.kind) < ($1.name, $1.kind) }
            for (index, operation) in operations.enumerated() {
                rows.append(((index == operations.count - 1 ? "└─ " : "├─ ") + Text.sanitize(operation.name), Text.sanitize(operation.kind)))
            }
        }
        let kindWidth = rows.map { Text.width($0.kind) }.max() ?? 0
        let labelWidth = min(rows.map { Text.width($0.label) }.max() ?? 0, max(12, width - kindWidth - 2))

        var lines: [String] = []
        var rowIndex = 0
        for service in services {
            let count = service.operations.count
            lines.append(style.bold(Text.truncate(Text.sanitize(service.name), to: width)) + "  "
                + style.dim(count == 0 ? "no operations" : Text.plural(count, "operation")))
            for _ in 0..<count {
                let row = rows[rowIndex]
                rowIndex += 1
                let label = Text.truncate(row.label, to: labelWidth)
                lines.append(Text.trimTrailingSpaces(
                    style.dim(String(label.prefix(3))) + String(label.dropFirst(3))
                        + String(repeating: " ", count: max(0, labelWidth - Text.width(label))) + "  " + style.color(row.kind, .gray)))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
