import Contracts
import Foundation
import Synchronization

/// Messages per second per sender (a long code sends about 1/s, a short code 100/s): a token
/// bucket per sender. A message without a token is not failed; it is rescheduled for when one
/// will be there. Per instance: N instances allow N times the rate.
public final class SenderRateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let buckets = Mutex<[String: Bucket]>([:])

    public init() {}

    /// nil: send now (a token was taken). Otherwise: how long until a token is there.
    public func acquire(sender: String, perSecond rate: Double, now: ContinuousClock.Instant = .now) -> Duration? {
        buckets.withLock { buckets in
            // A burst of one second's worth, at least one message.
            let capacity = max(1, rate)
            var bucket = buckets[sender] ?? Bucket(tokens: capacity, updated: now)
            bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated).inSeconds * rate)
            bucket.updated = now
            defer { buckets[sender] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return .milliseconds(Int64(((1 - bucket.tokens) / rate * 1000).rounded(.up)))
        }
    }
}
