import Foundation
import ServiceKit
import Testing

struct EnvironmentSecretsTests {
    private func file(_ contents: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("engage-secret-\(UUID().uuidString)")
            .path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test
    func aVariableCanComeFromAFileWithoutItsFinalNewline() throws {
        let path = try file("s3cret-token\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let env = EnvironmentVariables([
            "ENGAGE_ADMIN_TOKEN_FILE": path, "OTHER_TOOL_CONFIG_FILE": "/nonexistent/not-ours",
        ])
        try env.checkFiles()  // another program's *_FILE variable is not read
        #expect(try env.secret("ENGAGE_ADMIN_TOKEN", hint: "h") == "s3cret-token")
    }

    @Test
    func bothTheVariableAndItsFileOrAnUnreadableFileAreConfigurationErrors() throws {
        let path = try file("x")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let both = EnvironmentVariables(["ENGAGE_SECRETS_KEY": "a", "ENGAGE_SECRETS_KEY_FILE": path])
        let error = #expect(throws: ServiceConfigError.self) { try both.checkFiles() }
        #expect(error?.description == "set either ENGAGE_SECRETS_KEY or ENGAGE_SECRETS_KEY_FILE, not both")
        let missing = EnvironmentVariables(["ENGAGE_SECRETS_KEY_FILE": "/nonexistent/engage-key"])
        #expect(throws: ServiceConfigError.self) { try missing.checkFiles() }
    }

    @Test
    func aMissingSecretHasADefaultInDevelopmentOnly() throws {
        let deployment = EnvironmentVariables([:])
        #expect(throws: ServiceConfigError.self) {
            try deployment.secret("ENGAGE_ADMIN_TOKEN", developmentDefault: "dev-admin-token", hint: "h")
        }
        let development = EnvironmentVariables(["ENGAGE_ENV": "development"])
        #expect(
            try development.secret("ENGAGE_ADMIN_TOKEN", developmentDefault: "dev-admin-token", hint: "h")
                == "dev-admin-token")
        // A secret without a development default is required everywhere.
        #expect(throws: ServiceConfigError.self) { try development.secret("ENGAGE_SECRETS_KEY", hint: "h") }
    }
}
