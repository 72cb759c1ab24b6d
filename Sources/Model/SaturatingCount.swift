extension Int {
    /// Adds `amount` (a negative one counts as 0) and stops at `Int.max` rather than trapping:
    /// for counts that only grow, however long the process runs.
    @inlinable
    public mutating func addSaturating(_ amount: Int) {
        let (sum, overflow) = addingReportingOverflow(Swift.max(0, amount))
        self = overflow ? .max : sum
    }
}
