/// How long to wait before the next attempt at a remote call that failed.
public enum RetryBackoff {
    /// Exponential backoff with jitter for the `attempt`-th retry, at least the remote's `Retry-After`.
    public static func delay(
        attempt: Int, retryAfter: Duration? = nil, base: Duration = .seconds(1), cap: Duration = .seconds(300)
    ) -> Duration {
        let exponent = min(max(attempt - 1, 0), 16)
        let ceiling = min(base * (1 << exponent), cap)
        // Half fixed, half random: spreads retries of a burst without ever retrying at once.
        let jittered = ceiling / 2 + ceiling / 2 * Double.random(in: 0...1)
        return max(jittered, retryAfter ?? .zero)
    }

    /// A `Retry-After` header in seconds (the form providers and webhook receivers use); nil when absent or a date.
    public static func retryAfter(_ header: String?) -> Duration? {
        header.flatMap(Double.init).map { .milliseconds(Int64($0 * 1000)) }
    }
}
