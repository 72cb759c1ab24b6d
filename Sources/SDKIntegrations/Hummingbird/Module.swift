/// Request spans for Hummingbird: see `TracingRequestMiddleware` (being written).
enum PeriscopeHummingbirdModule {}
