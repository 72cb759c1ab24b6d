/// The SDK's version, reported as `telemetry.sdk.version` and the instrumentation scope version.
public enum PeriscopeVersion {
    /// Semantic version of this SDK.
    public static let current = "0.1.0"
}
