import PeriscopeDelivery

/// How the exporter retries a batch the agent could not take. The same policy type paces the
/// agent's shipper, so both give up only on a permanent refusal (400, 413) and read
/// `Retry-After` the same way.
public typealias RetryPolicy = PeriscopeDelivery.RetryPolicy
