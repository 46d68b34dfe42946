import ServiceKit
import Testing

@Suite struct RateLimiterTests {
    @Test func allowsTheBurstThenRefusesUntilTokensRefill() throws {
        let limiter = RateLimiter(rate: 100)
        for _ in 0..<100 { #expect(limiter.check("spa_1", now: 1_000) == nil) }
        let wait = try #require(limiter.check("spa_1", now: 1_000))
        #expect(abs(wait - 0.01) < 0.000_1)
        // Another space has its own bucket.
        #expect(limiter.check("spa_2", now: 1_000) == nil)
        // 51 ms later, five requests' worth (and a little) has come back.
        for _ in 0..<5 { #expect(limiter.check("spa_1", now: 1_000.051) == nil) }
        #expect(limiter.check("spa_1", now: 1_000.051) != nil)
    }
}
