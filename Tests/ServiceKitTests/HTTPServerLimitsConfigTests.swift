import ServiceKit
import Testing

@Suite struct HTTPServerLimitsConfigTests {
    @Test func defaultsSuitAnAPIBehindALoadBalancer() throws {
        let limits = try HTTPServerLimits.fromEnvironment(EnvironmentVariables([:]))
        #expect(limits.headerTimeout == .seconds(10))
        #expect(limits.bodyIdleTimeout == .seconds(30))
        #expect(limits.bodyTimeout == .seconds(60))
        #expect(limits.idleTimeout == .seconds(75))
        #expect(limits.maxConnections == 1_000)
    }

    @Test func everyLimitIsReadFromTheEnvironment() throws {
        let limits = try HTTPServerLimits.fromEnvironment(
            EnvironmentVariables([
                "ENGAGE_HTTP_HEADER_TIMEOUT_MS": "1500", "ENGAGE_HTTP_BODY_IDLE_TIMEOUT_MS": "2000",
                "ENGAGE_HTTP_BODY_TIMEOUT_MS": "3000", "ENGAGE_HTTP_IDLE_TIMEOUT_MS": "4000",
                "ENGAGE_HTTP_MAX_CONNECTIONS": "50",
            ]))
        #expect(limits.headerTimeout == .milliseconds(1_500))
        #expect(limits.bodyIdleTimeout == .seconds(2))
        #expect(limits.bodyTimeout == .seconds(3))
        #expect(limits.idleTimeout == .seconds(4))
        #expect(limits.maxConnections == 50)
    }

    @Test func zeroIsRefused() {
        #expect(throws: ServiceConfigError.self) {
            try HTTPServerLimits.fromEnvironment(EnvironmentVariables(["ENGAGE_HTTP_HEADER_TIMEOUT_MS": "0"]))
        }
        #expect(throws: ServiceConfigError.self) {
            try HTTPServerLimits.fromEnvironment(EnvironmentVariables(["ENGAGE_HTTP_MAX_CONNECTIONS": "0"]))
        }
    }
}
