import Foundation
import Synchronization

/// A token bucket per key (e.g. per space): `rate` requests per second on average, bursts up to
/// `burst`. Per instance: with N replicas behind a balancer the effective limit is about N x rate.
public final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Double
    }

    public let rate: Double
    public let burst: Double
    private let buckets = Mutex<[String: Bucket]>([:])

    public init(rate: Double, burst: Double? = nil) {
        self.rate = rate
        self.burst = burst ?? rate
    }

    /// nil when the request may go ahead; otherwise the seconds until it would be allowed.
    public func check(_ key: String, now: Double = Date().timeIntervalSince1970) -> Double? {
        buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            defer { buckets[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return (1 - bucket.tokens) / rate
        }
    }
}
