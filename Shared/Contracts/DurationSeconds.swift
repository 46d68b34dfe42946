extension Duration {
    /// The duration in seconds, for arithmetic with rates and `Date`s.
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
