import PeriscopeTelemetry

/// The shared duration parser, visible to every agent file without another import.
typealias DurationText = PeriscopeTelemetry.DurationText
