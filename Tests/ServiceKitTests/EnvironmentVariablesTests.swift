import Foundation
import ServiceKit
import Testing

/// The reader over an in-memory environment (a dictionary), as every configuration test uses it.
struct EnvironmentVariablesTests {
    private func file(_ contents: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("engage-config-\(UUID().uuidString)")
            .path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test
    func typedReadsFallBackToTheirDefaultWhenUnsetOrEmpty() throws {
        let env = EnvironmentVariables(["ENGAGE_HTTP_HOST": "", "ENGAGE_HTTP_PORT": ""])
        #expect(env.string("ENGAGE_HTTP_HOST", default: "127.0.0.1") == "127.0.0.1")
        #expect(try env.int("ENGAGE_HTTP_PORT", default: 8081) == 8081)
        #expect(env.string("ENGAGE_LOG_FORMAT", default: "json") == "json")
        #expect(try env.int("ENGAGE_STALL_SECONDS", default: 60) == 60)
        #expect(try env.pairs("ENGAGE_KAFKA_PROPERTIES") == [:])
    }

    @Test
    func typedReadsTakeTheGivenValue() throws {
        let env = EnvironmentVariables([
            "ENGAGE_HTTP_HOST": "0.0.0.0", "ENGAGE_HTTP_PORT": "9000", "ENGAGE_STALL_SECONDS": "-1",
            "ENGAGE_KAFKA_PROPERTIES": "security.protocol=SASL_SSL, sasl.mechanism = PLAIN,sasl.jaas=a=b",
        ])
        #expect(env.string("ENGAGE_HTTP_HOST", default: "127.0.0.1") == "0.0.0.0")
        #expect(try env.int("ENGAGE_HTTP_PORT", default: 8081) == 9000)
        #expect(try env.int("ENGAGE_STALL_SECONDS", default: 60) == -1)
        #expect(
            try env.pairs("ENGAGE_KAFKA_PROPERTIES") == [
                "security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", "sasl.jaas": "a=b",
            ])
    }

    @Test
    func aBadValueIsAnErrorThatNamesTheVariableAndTheValue() {
        let env = EnvironmentVariables([
            "ENGAGE_HTTP_PORT": "abc", "ENGAGE_DB_MAX_CONNECTIONS": "10 ", "ENGAGE_KAFKA_PROPERTIES": "acks=all,oops",
        ])
        let port = #expect(throws: ServiceConfigError.self) { try env.int("ENGAGE_HTTP_PORT", default: 8081) }
        #expect(port?.description == "ENGAGE_HTTP_PORT must be an integer, got \"abc\"")
        // Never silently the default: a value that does not parse stops the service.
        let pool = #expect(throws: ServiceConfigError.self) { try env.int("ENGAGE_DB_MAX_CONNECTIONS", default: 10) }
        #expect(pool?.description == "ENGAGE_DB_MAX_CONNECTIONS must be an integer, got \"10 \"")
        let pairs = #expect(throws: ServiceConfigError.self) { try env.pairs("ENGAGE_KAFKA_PROPERTIES") }
        #expect(pairs?.description == "ENGAGE_KAFKA_PROPERTIES: \"oops\" is not key=value")
    }

    @Test
    func anySettingCanComeFromAFileNotOnlySecrets() throws {
        let port = try file(" 9100\n")
        let host = try file("0.0.0.0\n")
        defer {
            try? FileManager.default.removeItem(atPath: port)
            try? FileManager.default.removeItem(atPath: host)
        }
        let env = EnvironmentVariables(["ENGAGE_HTTP_PORT_FILE": port, "ENGAGE_HTTP_HOST_FILE": host])
        try env.checkFiles()
        #expect(try env.int("ENGAGE_HTTP_PORT", default: 8081) == 9100)
        #expect(env.string("ENGAGE_HTTP_HOST", default: "127.0.0.1") == "0.0.0.0")
    }

    @Test
    func anEmptyVariableBesideItsFileIsNotBothAndAnEmptyFileVariableIsUnset() throws {
        let path = try file("from-file\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let env = EnvironmentVariables([
            "ENGAGE_ADMIN_TOKEN": "", "ENGAGE_ADMIN_TOKEN_FILE": path, "ENGAGE_SECRETS_KEY_FILE": "",
        ])
        try env.checkFiles()
        #expect(try env.secret("ENGAGE_ADMIN_TOKEN", hint: "h") == "from-file")
        let missing = #expect(throws: ServiceConfigError.self) {
            try env.secret("ENGAGE_SECRETS_KEY", hint: "the hint")
        }
        #expect(
            missing?.description
                == "ENGAGE_SECRETS_KEY is required (or ENGAGE_SECRETS_KEY_FILE, a file holding it): the hint")
    }

    @Test
    func everyFileProblemIsKeptAndTheFirstInSortedOrderIsThrown() throws {
        let env = EnvironmentVariables([
            "ENGAGE_SECRETS_KEY_FILE": "/nonexistent/engage-key",
            "ENGAGE_ADMIN_TOKEN": "t", "ENGAGE_ADMIN_TOKEN_FILE": "/nonexistent/engage-token",
        ])
        #expect(env.fileProblems.count == 2)
        let error = #expect(throws: ServiceConfigError.self) { try env.checkFiles() }
        #expect(error?.description.hasPrefix("ENGAGE_SECRETS_KEY_FILE: cannot read /nonexistent/engage-key") == true)
    }

    @Test
    func onlyTheExactValueDevelopmentIsDevelopment() {
        #expect(EnvironmentVariables(["ENGAGE_ENV": "development"]).isDevelopment)
        for value in ["", "dev", "Development", "production"] {
            #expect(!EnvironmentVariables(["ENGAGE_ENV": value]).isDevelopment)
        }
        #expect(!EnvironmentVariables([:]).isDevelopment)
    }
}
