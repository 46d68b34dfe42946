import MessagingSendCore
import ServiceKit

await ServiceMain.run("messaging-send") { try await MessagingSendService.run() }
