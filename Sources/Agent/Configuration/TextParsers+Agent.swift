import PeriscopeTelemetry

/// The shared duration and size parsers, visible to every agent file without another import.
typealias DurationText = PeriscopeTelemetry.DurationText
typealias ByteSizeText = PeriscopeTelemetry.ByteSizeText
