import Foundation
import ServiceKit
import Testing

/// `ENGAGE_SECRETS_KEY`: required everywhere, development included; given directly or as a file.
struct SecretsKeyConfigTests {
    private let key = Data(repeating: 7, count: 32).base64EncodedString()

    @Test
    func theKeyIsRequiredEvenInDevelopmentAndTheMessageSaysHowToMakeOne() {
        let error = #expect(throws: ServiceConfigError.self) {
            try SecretBox.fromEnvironment(EnvironmentVariables(["ENGAGE_ENV": "development"]), purpose: "it seals X")
        }
        #expect(
            error?.description
                == "ENGAGE_SECRETS_KEY is required (or ENGAGE_SECRETS_KEY_FILE, a file holding it): "
                + "32 random bytes in base64 (`openssl rand -base64 32`); it seals X")
    }

    @Test
    func aKeyThatIsNot32BytesInBase64IsRefused() {
        let error = #expect(throws: ServiceConfigError.self) {
            try SecretBox.fromEnvironment(EnvironmentVariables(["ENGAGE_SECRETS_KEY": "c2hvcnQ="]), purpose: "p")
        }
        #expect(
            error?.description
                == "ENGAGE_SECRETS_KEY must be 32 random bytes in base64, e.g. the output of `openssl rand -base64 32`")
    }

    @Test
    func theKeyFromAFileOpensWhatTheSameKeyGivenDirectlySealed() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("engage-key-\(UUID().uuidString)")
            .path
        try "\(key)\n".write(toFile: path, atomically: true, encoding: .utf8)  // as `openssl rand -base64 32 > file`
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fromFile = EnvironmentVariables(["ENGAGE_SECRETS_KEY_FILE": path])
        try fromFile.checkFiles()
        let direct = try SecretBox.fromEnvironment(EnvironmentVariables(["ENGAGE_SECRETS_KEY": key]), purpose: "p")
        let sealed = try direct.seal(Data("provider secret".utf8), context: "space_1/twilio")
        let opened = try SecretBox.fromEnvironment(fromFile, purpose: "p").open(sealed, context: "space_1/twilio")
        #expect(opened == Data("provider secret".utf8))
    }
}
